package org.hospes.dom0.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.boot.loader.KernelLoaders;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.report.NativeStats;
import org.hospes.dom0.report.StatsReport;
import org.hospes.dom0.toolstack.Dom0Settings;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.HypervisorFactory;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.DomainMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hospes run}: boots one kernel and exits with the machine's status. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Boots a kernel and runs it until it stops. The kernel's COM1 output goes to"
          + " stdout; the exit status is the kernel's.",
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      "0:HLT with nothing left to wake the processor",
      "(V<<1)|1:the kernel wrote V to isa-debug-exit (port 0xF4), as under QEMU",
      "2:bad arguments, or the kernel file is missing or not bootable",
      "3:the kernel crashed (unhandled exception or triple fault)",
      "4:the instruction limit was reached",
    })
final class RunCommand implements Callable<Integer> {

  private final CliStreams streams;

  @Option(names = "--mode", paramLabel = "MODE", defaultValue = "native",
      description = "How to run the kernel (default: ${DEFAULT-VALUE}). Modes: native (bare"
          + " emulated PC, no hypervisor), hvm (an HVM domain with EPT; devices in dom0),"
          + " hvm-shadow (an HVM domain with shadow page tables instead of EPT), pvh"
          + " (a PVH guest: ELF with Xen's PHYS32_ENTRY note, given xenstore and a PV"
          + " console by dom0;"
          + " its PV console and console_io output go to stdout;"
          + " status 0 on SCHEDOP_shutdown poweroff/reboot, 3 on crash).")
  String mode;

  @Parameters(index = "0", paramLabel = "KERNEL",
      description = "The kernel: a Multiboot kernel, a PVH kernel (ELF or bzImage with Xen's"
          + " PHYS32_ENTRY note), a plain ELF32, or any format a loader plugin knows.")
  Path kernel;

  @Option(names = "--ram", paramLabel = "MIB", defaultValue = "" + NativeMachine.DEFAULT_RAM_MIB,
      description = "Guest RAM in MiB (default: ${DEFAULT-VALUE}, at most "
          + NativeMachine.MAX_RAM_MIB + ").")
  int ramMiB;

  @Option(names = "--cmdline", paramLabel = "STRING",
      description = "Command line passed to the kernel (Multiboot information, hvm_start_info).")
  String cmdline;

  @Option(names = "--loader", paramLabel = "NAME",
      description = "The kernel loader to use. Default: chosen by mode, then by priority among"
          + " the loaders that recognise the image (pvh 300, multiboot 200, elf 100). Built in:"
          + " multiboot, pvh (Xen's PHYS32_ENTRY note; also hvm and hvm-shadow), elf (a plain"
          + " ELF32 entered at e_entry in flat protected mode); plugins add more.")
  String loaderName;

  @Option(names = "--max-insns", paramLabel = "N", converter = InstructionCountConverter.class,
      description = "Stop with status 4 after N instructions (accepts 10k, 5M, 2G).")
  Long maxInstructions;

  @Option(names = "--sched", paramLabel = "NAME", defaultValue = "credit",
      description = "Hypervisor modes: the scheduler (default: ${DEFAULT-VALUE}). Built in:"
          + " credit (Xen's credit scheduler), rr (round robin); plugins on the class path add"
          + " more.")
  String scheduler;

  @Option(names = "--cost-model", paramLabel = "NAME", defaultValue = "default",
      description = "Every mode: the cost model turning events into cycles (default:"
          + " ${DEFAULT-VALUE}); plugins on the class path add more.")
  String costModel;

  @Mixin
  Dom0Options dom0Options = new Dom0Options();

  @Option(names = "--stats",
      description = "When the run ends, print on stderr one line with the outcome,"
          + " instructions, time and MIPS, and for hypervisor modes the counters (exits by"
          + " reason with modelled cycles, TLB misses, walks, ioreqs).")
  boolean stats;

  @Option(names = "--stats-json", paramLabel = "FILE",
      description = "Hypervisor modes: write the counters as JSON to FILE when the run ends.")
  Path statsJson;

  @Option(names = "--console-log", paramLabel = "FILE",
      description = "Xen-aware kernels (pvh loader, any hypervisor mode): also write the guest's"
          + " PV console output to FILE (dom0's console backend copies the ring to both).")
  Path consoleLog;

  @Option(names = "--module", paramLabel = "FILE",
      description = "Load FILE as a boot module (repeatable; pvh loader): modules are listed in"
          + " the hvm_start_info in order, the first being what Linux takes as its initrd.")
  List<Path> modules;

  @Mixin
  EngineOption engine = new EngineOption();

  RunCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    String engineError = engine.apply();
    if (engineError != null) {
      streams.error(engineError);
      return ExitStatus.USAGE;
    }
    Optional<RunMode> runMode = RunMode.byName(mode);
    if (runMode.isEmpty()) {
      streams.error("unknown mode '" + mode + "'; valid modes: " + RunMode.validNames());
      return ExitStatus.USAGE;
    }
    if (ramMiB < 1 || ramMiB > NativeMachine.MAX_RAM_MIB) {
      streams.error("--ram must be between 1 and " + NativeMachine.MAX_RAM_MIB + " MiB, got "
          + ramMiB);
      return ExitStatus.USAGE;
    }
    BootMode bootMode = BootMode.byName(mode).orElseThrow();
    KernelLoaders loaders = KernelLoaders.discovered();
    if (loaderName != null) {
      try {
        loaders.forced(loaderName, bootMode);
      } catch (IllegalArgumentException e) {
        streams.error(e.getMessage());
        return ExitStatus.USAGE;
      }
    }
    Boot boot = Boot.read(streams, loaders, loaderName, bootMode, kernel, cmdline,
        modules == null ? List.of() : modules);
    if (boot == null) {
      return ExitStatus.USAGE;
    }
    if (consoleLog != null && !boot.loader().wantsPvServices()) {
      streams.error("--console-log needs a Xen-aware kernel with a PV console (loader pvh);"
          + " the " + boot.loader().name() + " loader boots " + kernel);
      return ExitStatus.USAGE;
    }
    return switch (runMode.get()) {
      case NATIVE -> runNative(streams, boot, ramMiB, maxInstructions, stats, costModel);
      case HVM -> runHvm(DomainMode.HVM_EPT, boot);
      case HVM_SHADOW -> runHvm(DomainMode.HVM_SHADOW, boot);
      case PVH -> runHvm(DomainMode.PVH, boot);
    };
  }

  private int runHvm(DomainMode domainMode, Boot boot) {
    if (ramMiB > 1024) {
      streams.error("--ram must be at most 1024 MiB in hypervisor modes, got " + ramMiB);
      return ExitStatus.USAGE;
    }
    HvmMachine machine;
    try {
      machine = HvmMachine.create(domainMode, ramMiB, streams.out(), streams.err(), scheduler,
          costModel);
    } catch (IllegalArgumentException e) {
      // Unknown --sched or --cost-model: the message lists the known names.
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    try {
      dom0Options.over(Dom0Settings.DEFAULT).applyTo(machine.hypervisor());
    } catch (DomainSpec.SpecException e) {
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    java.io.OutputStream log = null;
    try {
      if (consoleLog != null) {
        try {
          log = Files.newOutputStream(consoleLog);
        } catch (IOException e) {
          streams.error("cannot write " + consoleLog + ": " + e.getMessage());
          return ExitStatus.USAGE;
        }
      }
      machine.load(boot.loader(), boot.image(), kernel.toString(), boot.request(), log);
    } catch (BootException e) {
      streams.error(kernel + ": " + e.getMessage());
      return ExitStatus.USAGE;
    }
    long start = System.nanoTime();
    RunResult result = maxInstructions == null ? machine.run() : machine.run(maxInstructions);
    long nanos = System.nanoTime() - start;
    if (log != null) {
      try {
        log.close();
      } catch (IOException e) {
        streams.error("cannot write " + consoleLog + ": " + e.getMessage());
      }
    }
    Hypervisor hv = machine.hypervisor();
    if (stats) {
      printRunLine(streams, kernel, result, nanos);
      printJitLine(streams, machine.domain().vcpus().stream().map(v -> v.cpu().jit()).toList());
      StatsReport.printTable(hv, hv.domains(), streams.err());
    }
    if (statsJson != null) {
      try {
        Files.writeString(statsJson, StatsReport.json(hv, hv.domains()) + "\n");
      } catch (IOException e) {
        streams.error("cannot write " + statsJson + ": " + e.getMessage());
        return ExitStatus.USAGE;
      }
    }
    return result.exitStatus();
  }

  /** Boots {@code kernel} on a bare machine with the loader chosen for it; for hospes demo. */
  static int runNative(CliStreams streams, Path kernel, int ramMiB, String cmdline,
      Long maxInstructions, boolean stats) {
    Boot boot = Boot.read(streams, KernelLoaders.discovered(), null, BootMode.NATIVE, kernel,
        cmdline, List.of());
    return boot == null ? ExitStatus.USAGE
        : runNative(streams, boot, ramMiB, maxInstructions, stats,
            HypervisorFactory.DEFAULT_COST_MODEL);
  }

  private static int runNative(CliStreams streams, Boot boot, int ramMiB, Long maxInstructions,
      boolean stats, String costModelName) {
    CostModel model;
    try {
      model = new HypervisorFactory().costModel(costModelName);
    } catch (IllegalArgumentException e) {
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    NativeMachine machine = NativeMachine.builder()
        .ramMiB(ramMiB)
        .costModel(model)
        .serialOut(streams.out())
        .diagnostics(streams.err())
        .build();
    try {
      machine.load(boot.loader(), boot.image(), boot.kernel().toString(), boot.request());
    } catch (BootException e) {
      streams.error(boot.kernel() + ": " + e.getMessage());
      return ExitStatus.USAGE;
    }
    long start = System.nanoTime();
    RunResult result = maxInstructions == null ? machine.run() : machine.run(maxInstructions);
    long nanos = System.nanoTime() - start;
    if (stats) {
      printRunLine(streams, boot.kernel(), result, nanos);
      printJitLine(streams, java.util.Collections.singletonList(machine.cpu().jit()));
      NativeStats.of(machine.cpu(), model.name()).print(streams.err());
    }
    return result.exitStatus();
  }

  /** The kernel image read, its loader chosen and the boot request (command line, modules). */
  record Boot(Path kernel, byte[] image, KernelLoader loader, BootRequest request) {

    /** Null after printing the one-line reason when the files cannot be read or booted. */
    static Boot read(CliStreams streams, KernelLoaders loaders, String loaderName,
        BootMode mode, Path kernel, String cmdline, List<Path> modules) {
      try {
        byte[] image = KernelFiles.read(kernel);
        KernelLoader loader = loaders.choose(loaderName, mode, image);
        return new Boot(kernel, image, loader,
            new BootRequest(cmdline, KernelFiles.readModules(modules)));
      } catch (BootException e) {
        streams.error(kernel + ": " + e.getMessage());
        return null;
      }
    }
  }

  /** The one-line summary of a run; wall time of the run alone, so MIPS compare across runs. */
  static void printRunLine(CliStreams streams, Path kernel, RunResult result, long nanos) {
    streams.err().printf(Locale.ROOT, "hospes: %s: %s, status %d, %d instructions in %.3f s"
        + " (%.1f MIPS)%n", kernel, result.isFailure() ? "failed" : result.reason(),
        result.exitStatus(), result.instructions(), nanos / 1e9,
        result.instructions() / Math.max(nanos / 1e3, 1.0));
  }

  /** The translator's figures, when the engine translates. */
  static void printJitLine(CliStreams streams, java.util.List<org.hospes.x86.jit.Jit> jits) {
    String line = EngineOption.statsLine(jits);
    if (line != null) {
      streams.err().println(line);
    }
  }
}
