package org.hospes.dom0.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.hospes.dom0.boot.BiosRom;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.boot.loader.KernelLoaders;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.report.GuestProfiler;
import org.hospes.dom0.report.GuestSymbols;
import org.hospes.dom0.report.NativeStats;
import org.hospes.dom0.report.StatsDocument;
import org.hospes.dom0.report.StatsReport;
import org.hospes.dom0.report.TextFormat;
import org.hospes.dom0.toolstack.Dom0Settings;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.dom0.toolstack.VifSpec;
import org.hospes.hv.Hypervisor;
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
      "stdin goes to the guest's console (COM1, or the PV console of a Xen-aware kernel), as"
          + " with QEMU's -serial stdio; in a terminal keys go straight to the guest and Ctrl-]"
          + " (or Ctrl-C) ends the run. Ctrl-C and SIGTERM end it cleanly: --stats and"
          + " --stats-json are still written.",
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      "0:HLT with nothing left to wake the processor",
      "(V<<1)|1:the kernel wrote V to isa-debug-exit (port 0xF4), as under QEMU",
      "2:bad arguments, or the kernel file is missing or not bootable",
      "3:the kernel crashed (unhandled exception or triple fault)",
      "4:the instruction limit was reached",
      "130:ended from outside: Ctrl-], Ctrl-C (SIGTERM: 143), or stdout closed by its reader",
    })
final class RunCommand implements Callable<Integer> {

  /** RAM one hypervisor domain may have. */
  static final int MAX_DOMAIN_RAM_MIB = 1024;
  /** A PVH kernel loads at 1 MiB and the toolstack keeps two pages at the top of RAM. */
  static final int MIN_PVH_RAM_MIB = 2;
  /** A PV kernel's boot area (image, P2M, rings, tables, stack) ends on a 4 MiB boundary. */
  static final int MIN_PV_RAM_MIB = 4;

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String MODE_HELP =
      "How to run the kernel (default: ${DEFAULT-VALUE}). Modes: native (bare"
          + " emulated PC, no hypervisor), hvm (an HVM domain with EPT; devices in dom0),"
          + " hvm-shadow (an HVM domain with shadow page tables instead of EPT), pvhvm (hvm"
          + " plus Xen's platform PCI device and the unplug protocol: a Xen-aware kernel,"
          + " such as a bzImage, gets xenstore, a PV console, --disk and --vif as PV devices),"
          + " pvh"
          + " (a PVH guest: ELF with Xen's PHYS32_ENTRY note, given xenstore and a PV"
          + " console by dom0;"
          + " its PV console and console_io output go to stdout),"
          + " pv (a classic PV32 PAE kernel: ELF with Xen's PV notes, run in ring 1 on page"
          + " tables the hypervisor validates; PV console to stdout)."
          + " pvh and pv: status 0 on SCHEDOP_shutdown poweroff/reboot, 3 on crash.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String KERNEL_HELP =
      "The kernel: a Multiboot kernel, a PVH kernel (ELF or bzImage with Xen's"
          + " PHYS32_ENTRY note), a plain ELF32, or any format a loader plugin knows."
          + " Not with --bios.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String BIOS_HELP =
      "native mode: instead of a kernel, map the raw 64 or 128 KiB system ROM"
          + " below 1 MiB and below 4 GiB and start the processor at its reset vector"
          + " (F000:FFF0, real mode).";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String RAM_HELP =
      "Guest RAM in MiB (default: ${DEFAULT-VALUE}): native 1 to "
          + NativeMachine.MAX_RAM_MIB + ", hvm and hvm-shadow 1 to " + MAX_DOMAIN_RAM_MIB
          + ", pvh and pvhvm " + MIN_PVH_RAM_MIB + " to " + MAX_DOMAIN_RAM_MIB + ", pv "
          + MIN_PV_RAM_MIB + " to " + MAX_DOMAIN_RAM_MIB + ".";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String CPUS_HELP =
      "vCPUs of the domain (default: ${DEFAULT-VALUE}): hvm, hvm-shadow, pvhvm and pvh 1"
          + " to " + org.hospes.hv.domain.Domains.MAX_VCPUS + "; native and pv have 1."
          + " vCPU 0 starts at the kernel's entry; the others wait for INIT and start-up IPIs"
          + " from its local APIC (APIC ID = vCPU id). They run interleaved in virtual time on"
          + " the physical CPUs --pcpus gives (one by default).";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String CMDLINE_HELP =
      "Command line passed to the kernel (Multiboot information, hvm_start_info,"
          + " Linux's boot_params).";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String LOADER_NAME_HELP =
      "The kernel loader to use. Default: chosen by mode, then by priority among"
          + " the loaders that recognise the image (linux 400, pvh 300, multiboot 200, elf 100)."
          + " Built in: linux (a bzImage by Linux's 32-bit boot protocol; native, hvm,"
          + " hvm-shadow), multiboot, pvh (Xen's PHYS32_ENTRY note; also hvm and hvm-shadow), pv"
          + " (Xen's PV ELF notes; pv mode), elf (a plain ELF32 entered at e_entry in flat"
          + " protected mode); plugins add more.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String CONSOLE_LOG_HELP =
      "Xen-aware kernels (pvh loader, any hypervisor mode): also write the guest's"
          + " PV console output to FILE (dom0's console backend copies the ring to both).";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String HV_LOG_HELP =
      "Hypervisor modes: write the hypervisor's console to FILE instead of stderr:"
          + " the guest's console_io output, one line at a time prefixed (dN) as a debug Xen"
          + " prints it. The PV console stays on stdout.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String GUEST_PROFILE_HELP =
      "When the run ends, print on stderr which guest functions the vCPUs were in, sampled"
          + " once per millisecond of host time (where the host's time goes; the guest runs"
          + " exactly as without it). Symbols come from the kernel's own ELF symbol table, or"
          + " from --symbols.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String SYMBOLS_HELP =
      "The symbols for --guest-profile: a System.map (Debian ships the kernel's in its -dbg"
          + " package) or an ELF file with a symbol table. A Linux map of another build is"
          + " refused: its linux_banner must hold the kernel's \"Linux version\", and of the"
          + " version in the file's name when it has one.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String HVM_FEP_HELP =
      "hvm, hvm-shadow, pvhvm and pvh: honour Xen's forced-emulation prefix"
          + " (ud2; .ascii \"xen\") before an instruction, as Xen's hvm_fep boot option does:"
          + " the instruction runs through a #UD exit and is single-stepped by the hypervisor."
          + " Without it the prefix is a plain #UD, as on a Xen built without it.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String MODULES_HELP =
      "Load FILE as a boot module (repeatable; pvh loader): modules are listed in"
          + " the hvm_start_info in order, the first being what Linux takes as its initrd."
          + " The linux loader takes one, the initrd.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String INITRD_HELP =
      "Linux's initrd: another name for the first --module (pvh and linux"
          + " loaders).";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String DISKS_HELP =
      "Give the guest a disk (repeatable). bus=xen, the default in pvh,"
          + " pvhvm and pv: a PV disk served by dom0's blkback (xvda, xvdb, ...; in pvhvm"
          + " xvda..xvdd are also emulated IDE disks hda..hdd, which the guest's PV drivers"
          + " unplug, as under xl). bus=ide, the default"
          + " in hvm and hvm-shadow and the only bus in native: an emulated disk on the PIIX3's"
          + " IDE controller (Linux's ata_piix, the SDK's ata.h; primary master, primary"
          + " slave, secondary master, secondary slave; at most 4). bus=virtio (hvm modes): a virtio-blk PCI device (Linux: /dev/vda). xl's"
          + " keys vdev= (xvdX, or hda..hdd for IDE), access=, format=, target=,"
          + " specification=virtio and its positional form PATH,FORMAT,VDEV,ACCESS are accepted"
          + " too.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String VIFS_HELP =
      "Give the guest a network interface on a virtual network (repeatable;"
          + " eth0, eth1, ...). model=xen, the default in pvh, pvhvm and pv: a PV interface served"
          + " by dom0's netback (in pvhvm also offered as an e1000 for the guest to unplug)."
          + " model=e1000, the default in hvm and hvm-shadow: an emulated Intel 82540EM (Linux's"
          + " e1000). model=virtio (hvm modes): a virtio-net PCI device. net= is nat by default;"
          + " bridge:NAME and isolated:NAME are learning switches, routed gives each guest a /32"
          + " route (ip=A.B.C.D). pcap=FILE captures the interface's frames; mac= sets its"
          + " address (one per network). xl's keys bridge=, type=vif (the PV interface"
          + " alone), type=ioemu (the mode's default) and backend=0 are accepted too.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String DEVICES_HELP =
      "Add a device from a device-model plugin to the HVM domain's device model"
          + " (repeatable; hvm, hvm-shadow and pvhvm), as QEMU's -device: the samples' jar adds"
          + " 'edu', QEMU's teaching PCI device. An unknown NAME lists the known devices.";

  private final CliStreams streams;

  @Option(names = "--mode", paramLabel = "MODE", defaultValue = "native",
      description = MODE_HELP)
  String mode;

  @Parameters(index = "0", paramLabel = "KERNEL", arity = "0..1",
      description = KERNEL_HELP)
  Path kernel;

  @Option(names = "--bios", paramLabel = "ROM",
      description = BIOS_HELP)
  Path bios;

  @Option(names = "--ram", paramLabel = "MIB", defaultValue = "" + NativeMachine.DEFAULT_RAM_MIB,
      description = RAM_HELP)
  long ramMiB;

  @Option(names = "--cpus", paramLabel = "N", defaultValue = "1",
      description = CPUS_HELP)
  long cpus;

  @Option(names = "--cmdline", paramLabel = "STRING",
      description = CMDLINE_HELP)
  String cmdline;

  @Option(names = "--loader", paramLabel = "NAME",
      description = LOADER_NAME_HELP)
  String loaderName;

  @Mixin
  HostOptions host;

  @Mixin
  Dom0Options dom0Options = new Dom0Options();

  @Option(names = "--console-log", paramLabel = "FILE",
      description = CONSOLE_LOG_HELP)
  Path consoleLog;

  @Option(names = "--hv-log", paramLabel = "FILE",
      description = HV_LOG_HELP)
  Path hvLog;

  @Option(names = "--hvm-fep",
      description = HVM_FEP_HELP)
  boolean hvmFep;

  @Option(names = "--guest-profile",
      description = GUEST_PROFILE_HELP)
  boolean guestProfile;

  @Option(names = "--symbols", paramLabel = "FILE",
      description = SYMBOLS_HELP)
  Path symbols;

  /** What --guest-profile maps addresses with, and where they came from (set in call). */
  private GuestSymbols profileSymbols;
  private String profileSource;

  @Option(names = "--module", paramLabel = "FILE",
      description = MODULES_HELP)
  List<Path> modules;

  @Option(names = "--initrd", paramLabel = "FILE",
      description = INITRD_HELP)
  Path initrd;

  @Option(names = "--disk",
      paramLabel = "PATH[,format=raw|qcow2][,mode=ro][,bus=ide|virtio|xen]",
      description = DISKS_HELP)
  java.util.List<String> disks;

  @Option(names = "--vif", paramLabel = "[mac=MAC][,net=nat|bridge:NAME|isolated:NAME|routed]"
      + "[,pcap=FILE][,model=e1000|virtio|xen]",
      description = VIFS_HELP)
  java.util.List<String> vifs;

  @Option(names = "--device", paramLabel = "NAME[,key=value...]",
      description = DEVICES_HELP)
  java.util.List<String> devices;

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
    String problem = optionProblem(runMode.get());
    if (problem == null) {
      problem = host.pcpusProblem();
    }
    if (problem == null) {
      problem = host.statsJsonProblem();
    }
    if (problem != null) {
      streams.error(problem);
      return ExitStatus.USAGE;
    }
    if (symbols != null && !guestProfile) {
      streams.error("--symbols names the symbols of --guest-profile; give both");
      return ExitStatus.USAGE;
    }
    if (guestProfile && bios != null) {
      streams.error("--guest-profile maps a kernel's addresses to its functions; it needs a"
          + " KERNEL, not --bios");
      return ExitStatus.USAGE;
    }
    if (bios != null) {
      if (runMode.get() != RunMode.NATIVE) {
        streams.error("--bios needs --mode native");
        return ExitStatus.USAGE;
      }
      if (kernel != null) {
        streams.error("--bios starts the machine from the ROM; give no KERNEL with it");
        return ExitStatus.USAGE;
      }
      try (RunSession session = RunSession.open(streams)) {
        return unlessOutputLost(runBios(session));
      }
    }
    if (kernel == null) {
      streams.error("missing required parameter: 'KERNEL' (or give --bios ROM);"
          + " see 'hospes run --help'");
      return ExitStatus.USAGE;
    }
    BootMode bootMode = BootMode.byName(mode).orElseThrow();
    KernelLoaders loaders = HostPlugins.classPath().kernelLoaders();
    if (loaderName != null) {
      try {
        loaders.forced(loaderName, bootMode);
      } catch (IllegalArgumentException e) {
        streams.error(e.getMessage());
        return ExitStatus.USAGE;
      }
    }
    List<Path> mods = new java.util.ArrayList<>();
    if (initrd != null) {
      mods.add(initrd);
    }
    if (modules != null) {
      mods.addAll(modules);
    }
    for (Path m : mods) {
      // Each file is named in its own message: a missing module is not a missing kernel.
      if (!Files.isRegularFile(m)) {
        streams.error((m == initrd ? "--initrd " : "--module ") + m + ": "
            + (Files.exists(m) ? "not a regular file"
            : "no such file"));
        return ExitStatus.USAGE;
      }
    }
    Boot boot = Boot.read(streams, loaders, loaderName, bootMode, kernel, cmdline, mods);
    if (boot == null) {
      return ExitStatus.USAGE;
    }
    if (guestProfile && !readProfileSymbols(boot)) {
      return ExitStatus.USAGE;
    }
    if (consoleLog != null && !boot.loader().wantsPvServices()) {
      streams.error("--console-log needs a Xen-aware kernel with a PV console (loader pvh);"
          + " the " + boot.loader().name() + " loader boots " + kernel);
      return ExitStatus.USAGE;
    }
    if (!mods.isEmpty() && !boot.loader().wantsPvServices()
        && !boot.loader().name().equals(LinuxKernelLoader.NAME)) {
      // Named as given: --initrd alone was refused as "--module".
      streams.error((initrd != null && mods.size() == 1 ? "--initrd" : "--module")
          + " needs a Xen-aware kernel (loader pvh: modules are listed in the hvm_start_info)"
          + " or a bzImage (loader linux: its initrd); the " + boot.loader().name()
          + " loader boots " + kernel);
      return ExitStatus.USAGE;
    }
    try (RunSession session = RunSession.open(streams)) {
      int status = switch (runMode.get()) {
        case NATIVE -> runNative(boot, session);
        case HVM -> runHvm(DomainMode.HVM_EPT, boot, session);
        case HVM_SHADOW -> runHvm(DomainMode.HVM_SHADOW, boot, session);
        case PVHVM -> runHvm(DomainMode.PVHVM, boot, session);
        case PVH -> runHvm(DomainMode.PVH, boot, session);
        case PV -> runHvm(DomainMode.PV, boot, session);
      };
      return unlessOutputLost(status);
    }
  }

  /**
   * A guest that stopped cleanly while its output could not be written (a full device): the
   * run did not do what was asked, so it does not say 0. A reader that went away (| head)
   * wanted no more, and the guest's own status stands.
   */
  private int unlessOutputLost(int status) {
    return StdoutStream.statusOnceFlushed(streams.out(), status);
  }

  /**
   * Reads the symbols for --guest-profile: --symbols, else the kernel's own ELF symbol table.
   * False after printing the one-line reason when there are none.
   */
  private boolean readProfileSymbols(Boot boot) {
    if (symbols != null) {
      if (!Files.isRegularFile(symbols)) {
        streams.error("--symbols " + symbols + ": "
            + (Files.exists(symbols) ? "not a regular file" : "no such file"));
        return false;
      }
      try {
        profileSymbols = GuestSymbols.read(symbols);
      } catch (IOException e) {
        streams.error("--symbols " + symbols + ": " + e.getMessage());
        return false;
      }
      String mismatch = profileSymbols.mismatch(boot.image(), symbols.getFileName().toString());
      if (mismatch != null) {
        streams.error("--symbols " + symbols + ": " + mismatch);
        return false;
      }
      profileSource = symbols + " (" + functions(profileSymbols) + ")";
      return true;
    }
    profileSymbols = GuestSymbols.isElf(boot.image()) ? GuestSymbols.fromElf(boot.image())
        : null;
    if (profileSymbols == null || profileSymbols.size() == 0) {
      streams.error("--guest-profile: " + kernel + " has no symbol table"
          + (GuestSymbols.isElf(boot.image()) ? " (a stripped ELF)" : " (not an ELF file)")
          + "; give its System.map with --symbols");
      return false;
    }
    profileSource = "the symbol table of " + kernel + " (" + functions(profileSymbols) + ")";
    return true;
  }

  private static String functions(GuestSymbols symbols) {
    return symbols.size() + (symbols.size() == 1 ? " function" : " functions");
  }

  /**
   * Starts --guest-profile's sampling of {@code cpus}. Called only with the option, so that a
   * run without it loads none of the profiler's classes (start-up).
   */
  private GuestProfiler startProfile(List<GuestProfiler.Source> cpus) {
    return GuestProfiler.start(cpus, profileSymbols);
  }

  /** A machine's run, how long it took, and the --guest-profile sampler (stopped) or null. */
  private record ProfiledRun(RunResult result, long nanos, GuestProfiler profiler) {}

  /**
   * Runs a machine to its end, or for --max-insns, timed, with --guest-profile's sampling of
   * {@code sources} around it when asked.
   */
  private ProfiledRun profiledRun(java.util.function.Supplier<List<GuestProfiler.Source>> sources,
      java.util.function.Supplier<RunResult> whole,
      java.util.function.LongFunction<RunResult> bounded) {
    GuestProfiler profiler = guestProfile ? startProfile(sources.get()) : null;
    long start = System.nanoTime();
    RunResult result = host.maxInstructions == null ? whole.get()
        : bounded.apply(host.maxInstructions);
    long nanos = System.nanoTime() - start;
    if (profiler != null) {
      profiler.close();
    }
    return new ProfiledRun(result, nanos, profiler);
  }

  /** The vCPUs of the machine's guest, each with its runstate. */
  private static List<GuestProfiler.Source> profileSources(HvmMachine machine) {
    List<GuestProfiler.Source> sources = new java.util.ArrayList<>();
    for (var v : machine.domain().vcpus()) {
      sources.add(new GuestProfiler.Source(v.cpu(), v.runstate()));
    }
    return sources;
  }

  /** Stops --guest-profile's sampling and prints its table. */
  private void endProfile(GuestProfiler profiler) {
    if (profiler != null) {
      profiler.close();
      profiler.print(streams.err(), profileSource, PROFILE_ROWS);
    }
  }

  /** Functions --guest-profile lists. */
  static final int PROFILE_ROWS = 30;

  /** Null if the options fit the mode, else one line naming the option that does not. */
  private String optionProblem(RunMode m) {
    int min = m == RunMode.PVH || m == RunMode.PVHVM ? MIN_PVH_RAM_MIB : m == RunMode.PV ? MIN_PV_RAM_MIB : 1;
    int max = m == RunMode.NATIVE ? NativeMachine.MAX_RAM_MIB : MAX_DOMAIN_RAM_MIB;
    if (ramMiB < min || ramMiB > max) {
      return "--ram must be between " + min + " and " + max + " MiB in " + m.cliName()
          + " mode, got " + ramMiB;
    }
    if (cpus < 1 || cpus > org.hospes.hv.domain.Domains.MAX_VCPUS) {
      return "--cpus must be between 1 and " + org.hospes.hv.domain.Domains.MAX_VCPUS
          + ", got " + cpus;
    }
    if (cpus > 1 && m != RunMode.HVM && m != RunMode.HVM_SHADOW && m != RunMode.PVHVM
        && m != RunMode.PVH) {
      return "--cpus " + cpus + ": " + m.cliName() + " mode has one vCPU so far; use --mode hvm,"
          + " hvm-shadow, pvhvm or pvh for SMP";
    }
    if (devices != null && (m == RunMode.NATIVE || m == RunMode.PVH || m == RunMode.PV)) {
      return "--device adds a device to an HVM domain's device model; " + m.cliName()
          + " mode has none (use hvm, hvm-shadow or pvhvm)";
    }
    if (hvmFep && (m == RunMode.NATIVE || m == RunMode.PV)) {
      return "--hvm-fep needs a mode that runs in VMX non-root operation (hvm, hvm-shadow,"
          + " pvhvm or pvh), not " + m.cliName();
    }
    if (m == RunMode.NATIVE) {
      // Every hypervisor mode takes these: runHvm applies them whatever the domain's mode.
      String noHypervisor = " does nothing in native mode (no hypervisor); use --mode hvm,"
          + " hvm-shadow, pvhvm, pvh or pv";
      if (host.scheduler != null) {
        return "--sched" + noHypervisor;
      }
      if (host.pcpus != null) {
        return "--pcpus" + noHypervisor;
      }
      if (vifs != null) {
        return "--vif" + noHypervisor + " (an e1000 or virtio-net in hvm and hvm-shadow, a PV"
            + " vif in pvhvm, pvh and pv)";
      }
      if (!HvmMachine.factory().costModelNames().contains(host.costModelName())) {
        // The cost model applies here too (native costs): the factory's own refusal.
        try {
          HvmMachine.factory().costModel(host.costModelName());
        } catch (IllegalArgumentException e) {
          return e.getMessage();
        }
      }
      if (dom0Options.weight != null || dom0Options.cap != null) {
        return (dom0Options.weight != null ? "--dom0-weight" : "--dom0-cap") + noHypervisor;
      }
      if (hvLog != null) {
        return "--hv-log" + noHypervisor;
      }
    }
    if (vifs != null) {
      for (String v : vifs) {
        VifSpec spec;
        try {
          spec = VifSpec.parse(v, null);
        } catch (IllegalArgumentException e) {
          continue; // said when the interface is added, with the mode's checks
        }
        // The capture file is opened as the machine is built: found here, before any work.
        String p = spec.pcap() == null ? null
            : org.hospes.dom0.report.OutputFiles.problemOf(spec.pcap(), "--vif " + v);
        if (p != null) {
          return p;
        }
      }
    }
    if (consoleLog != null) {
      String p = HostOptions.writableProblem(consoleLog, "--console-log");
      if (p != null) {
        return p;
      }
    }
    if (hvLog != null) {
      return HostOptions.writableProblem(hvLog, "--hv-log");
    }
    return null;
  }

  private int runHvm(DomainMode domainMode, Boot boot, RunSession session) {
    HvmMachine machine;
    try {
      machine = HvmMachine.create(domainMode, (int) ramMiB, (int) cpus, session.guestOutput(),
          streams.err(), HvmMachine.factory(), host.schedulerName(), host.costModelName());
    } catch (IllegalArgumentException e) {
      // Unknown --sched or --cost-model: the message lists the known names.
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    machineMade.accept(machine);
    // Every user error from here on leaves a machine whose guest never ran: it is abandoned
    // (its domain destroyed, its machine memory given back, the networks and logs opened for it
    // closed) before the usage status, as xl create tears a half-built domain down.
    OutputStream[] logs = new OutputStream[2];
    int setUp;
    try {
      setUp = setUpAndLoad(machine, domainMode, boot, session, logs);
    } catch (RuntimeException | Error e) {
      abandon(machine, logs, "set-up failed: " + e);
      throw e;
    }
    if (setUp != STARTED) {
      abandon(machine, logs, "not started: a usage error");
      return setUp;
    }
    OutputStream log = logs[0];
    OutputStream hypervisorLog = logs[1];
    if (machine.pvConsole() != null) {
      session.forwardInputTo(bytes -> machine.pvConsole().input(bytes));
    } else {
      session.forwardInputTo(bytes -> {
        machine.deviceModel().com1().queueInput(bytes);
        return bytes.length;
      });
    }
    ProfiledRun run = profiledRun(() -> profileSources(machine), machine::run, machine::run);
    GuestProfiler profiler = run.profiler();
    RunResult result = run.result();
    long nanos = run.nanos();
    // The disks are flushed and closed whatever ended the run (Ctrl-C too: the loop stops).
    machine.closeDisks().forEach(streams::error);
    if (log != null) {
      try {
        log.close();
      } catch (IOException e) {
        streams.error("--console-log " + consoleLog + ": cannot write: "
            + org.hospes.dom0.report.OutputFiles.reason(consoleLog, e));
      }
    }
    if (hypervisorLog != null) {
      try {
        hypervisorLog.close();
      } catch (IOException e) {
        streams.error("cannot write --hv-log " + hvLog + ": "
            + org.hospes.dom0.report.OutputFiles.reason(hvLog, e));
      }
    }
    Hypervisor hv = machine.hypervisor();
    reportStop(kernel, result);
    if (host.stats) {
      printRunLine(streams, kernel, result, nanos);
      printJitLine(streams, machine.domain().vcpus().stream().map(v -> v.cpu().jit()).toList());
      StatsReport.printTable(hv, StatsReport.reported(hv, List.of(machine.domain())),
          streams.err());
      // Plugin devices report their own counters, one line each.
      for (var dev : machine.pluginDevices()) {
        StringBuilder line = new StringBuilder("device " + dev.name() + ":");
        dev.counters().forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
        streams.err().println(line);
      }
    }
    endProfile(profiler);
    StatsDocument.Ending ending = new StatsDocument.Ending(result.reason(), result.exitStatus());
    StatsDocument doc = StatsReport.document(hv,
        StatsReport.reported(hv, List.of(machine.domain())),
        runInfo(domainMode.cliName(), result), d -> d == machine.domain() ? ending : null);
    return writeStatsJson(doc, result.exitStatus());
  }

  /** {@link #setUpAndLoad}'s answer when the machine is ready to run. */
  private static final int STARTED = -1;

  /** Told of each machine {@code run} makes (tests check what a failed start leaves). */
  java.util.function.Consumer<HvmMachine> machineMade = m -> { };

  /**
   * Sets {@code machine} up as the options say and loads the kernel: {@link #STARTED}, or the
   * usage status after the one-line error. The console and hypervisor logs it opens go into
   * {@code logs} (0 and 1), so that they are closed whatever happens.
   */
  private int setUpAndLoad(HvmMachine machine, DomainMode domainMode, Boot boot,
      RunSession session, OutputStream[] logs) {
    machine.setHostLink(session);
    if (host.pcpus != null) {
      String p = HostOptions.applyPcpus(machine.hypervisor(), (int) (long) host.pcpus);
      if (p != null) {
        streams.error(p);
        return ExitStatus.USAGE;
      }
    }
    if (hvmFep) {
      machine.hypervisor().enableForcedEmulation();
    }
    try {
      dom0Options.over(Dom0Settings.DEFAULT).applyTo(machine.hypervisor());
    } catch (DomainSpec.SpecException e) {
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    if (hvLog != null) {
      try {
        logs[1] = Files.newOutputStream(hvLog);
      } catch (IOException e) {
        streams.error("cannot write --hv-log " + hvLog + ": "
            + org.hospes.dom0.report.OutputFiles.reason(hvLog, e));
        return ExitStatus.USAGE;
      }
      machine.setHypervisorLog(logs[1]);
    }
    try {
      boolean hvm = !domainMode.pvDevicesOnly();
      if (disks != null) {
        java.util.Set<String> vdevs = new java.util.HashSet<>();
        java.util.List<org.hospes.dom0.toolstack.DiskSpec> specs = new java.util.ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
          org.hospes.dom0.toolstack.DiskSpec spec;
          try {
            spec = org.hospes.dom0.toolstack.DiskSpec.parse(disks.get(i), i, null);
          } catch (IllegalArgumentException e) {
            streams.error("--disk: " + e.getMessage());
            return ExitStatus.USAGE;
          }
          if (!vdevs.add(spec.vdev())) {
            streams.error("--disk: " + org.hospes.dom0.toolstack.DomainSpec.duplicateVdev(
                spec.vdev(), domainMode));
            return ExitStatus.USAGE;
          }
          specs.add(spec);
          String clash = org.hospes.dom0.toolstack.DomainSpec.ideClash(specs, domainMode);
          if (clash != null) {
            streams.error("--disk: " + clash);
            return ExitStatus.USAGE;
          }
          if (spec.virtio() && !hvm) {
            streams.error("--disk ...,bus=virtio needs an hvm mode (a PCI device of the device"
                + " model)");
            return ExitStatus.USAGE;
          }
          if (domainMode == DomainMode.PV && spec.busIn(domainMode) != org.hospes.dom0.toolstack.DiskSpec.Bus.XEN) {
            streams.error("--disk: a pv domain has no device model: its disks are PV disks"
                + " (vdev=xvdX, bus=xen), not IDE");
            return ExitStatus.USAGE;
          }
          if (spec.backendProblem(domainMode) != null) {
            // Said rather than ignored: the disk would run on dom0's IDE model, no driver domain.
            streams.error("--disk: " + spec.backendProblem(domainMode));
            return ExitStatus.USAGE;
          }
          try {
            machine.addDisk(spec, spec.open());
          } catch (IllegalArgumentException | IOException e) {
            streams.error("--disk: " + e.getMessage());
            return ExitStatus.USAGE;
          }
        }
      }
      if (vifs != null) {
        for (String v : vifs) {
          VifSpec spec;
          try {
            spec = VifSpec.parse(v, null);
          } catch (IllegalArgumentException e) {
            streams.error("--vif: " + e.getMessage());
            return ExitStatus.USAGE;
          }
          boolean pvModes = domainMode == DomainMode.PVH || domainMode == DomainMode.PVHVM
              || domainMode == DomainMode.PV;
          if (spec.vifIn(domainMode) && !pvModes) {
            streams.error("--vif ...,model=xen needs --mode pvh, pvhvm or pv (PV network interfaces"
                + " are served by netback); hvm modes take model=e1000 (the default) or virtio");
            return ExitStatus.USAGE;
          }
          if (!spec.vifIn(domainMode) && !hvm) {
            streams.error("--vif ...,model=" + spec.modelIn(domainMode).name().toLowerCase(
                java.util.Locale.ROOT) + " needs an hvm mode (a PCI device of the device"
                + " model)");
            return ExitStatus.USAGE;
          }
          try {
            machine.addVif(spec);
          } catch (IllegalArgumentException | IOException e) {
            streams.error("--vif: " + e.getMessage());
            return ExitStatus.USAGE;
          }
        }
      }
      if (devices != null) {
        for (String text : devices) {
          try {
            machine.addDevice(org.hospes.dom0.devicemodel.plugin.DeviceSpec.parse(text));
          } catch (IllegalArgumentException e) {
            streams.error("--device " + text + ": " + e.getMessage());
            return ExitStatus.USAGE;
          }
        }
      }
      if (consoleLog != null) {
        try {
          logs[0] = Files.newOutputStream(consoleLog);
        } catch (IOException e) {
          streams.error("--console-log " + consoleLog + ": cannot write: "
            + org.hospes.dom0.report.OutputFiles.reason(consoleLog, e));
          return ExitStatus.USAGE;
        }
      }
      machine.load(boot.loader(), boot.image(), kernel.toString(), boot.request(), logs[0]);
    } catch (BootException e) {
      streams.error(e.about(kernel));
      return ExitStatus.USAGE;
    }
    return STARTED;
  }

  /** A machine whose guest never ran goes, with its domain and memory; its logs are closed. */
  private static void abandon(HvmMachine machine, OutputStream[] logs, String reason) {
    machine.abandon("hospes run: " + reason);
    // The disks opened before the error are given back (closed, their locks released).
    machine.closeDisks();
    for (OutputStream s : logs) {
      if (s != null) {
        try {
          s.close();
        } catch (IOException e) {
          // Nothing of the run is in it: the error already reported is what matters.
        }
      }
    }
  }

  /** Starts a bare machine at the reset vector of the ROM {@code bios}. */
  private int runBios(RunSession session) {
    NativeMachine machine = nativeMachine(session);
    try {
      machine.loadBios(BiosRom.read(bios), bios.toString());
    } catch (BootException e) {
      streams.error(bios + ": " + e.getMessage());
      return ExitStatus.USAGE;
    }
    return runLoaded(machine, bios);
  }

  private int runNative(Boot boot, RunSession session) {
    java.util.List<org.hospes.dom0.disk.DiskImage> images = new java.util.ArrayList<>();
    try {
      String problem = openNativeDisks(images);
      if (problem != null) {
        streams.error(problem);
        return ExitStatus.USAGE;
      }
      NativeMachine machine = nativeMachine(session, images);
      try {
        machine.load(boot.loader(), boot.image(), boot.kernel().toString(), boot.request());
      } catch (BootException e) {
        streams.error(e.about(boot.kernel()));
        return ExitStatus.USAGE;
      }
      return runLoaded(machine, boot.kernel());
    } finally {
      for (org.hospes.dom0.disk.DiskImage d : images) {
        try {
          d.close();
        } catch (IOException e) {
          streams.error("--disk: " + e.getMessage());
        }
      }
    }
  }

  /**
   * The bare PC's disks: each --disk an IDE disk on its PIIX3 (hda, hdb, hdc, hdd in order),
   * opened into {@code images}; a one-line problem (bus=xen or virtio: no hypervisor, no
   * device model) or null.
   */
  private String openNativeDisks(java.util.List<org.hospes.dom0.disk.DiskImage> images) {
    if (disks == null) {
      return null;
    }
    if (disks.size() > org.hospes.dom0.devicemodel.ide.Piix3Ide.MAX_DISKS) {
      return "--disk: at most 4 IDE disks (hda..hdd) in native mode";
    }
    for (int i = 0; i < disks.size(); i++) {
      try {
        org.hospes.dom0.toolstack.DiskSpec spec =
            org.hospes.dom0.toolstack.DiskSpec.parse(disks.get(i), i, null);
        if (spec.busFor(true) != org.hospes.dom0.toolstack.DiskSpec.Bus.IDE) {
          return "--disk " + disks.get(i) + ": native mode has only the PIIX3's IDE disks"
              + " (bus=ide): no hypervisor for a PV disk, no device model for virtio";
        }
        images.add(spec.open());
      } catch (IllegalArgumentException | IOException e) {
        return "--disk: " + e.getMessage();
      }
    }
    return null;
  }

  private NativeMachine nativeMachine(RunSession session) {
    return nativeMachine(session, java.util.List.of());
  }

  private NativeMachine nativeMachine(RunSession session,
      java.util.List<org.hospes.dom0.disk.DiskImage> images) {
    NativeMachine.Builder builder = NativeMachine.builder();
    images.forEach(builder::ideDisk);
    NativeMachine machine = builder
        .ramMiB((int) ramMiB)
        .costModel(HvmMachine.factory().costModel(host.costModelName()))
        .serialOut(session.guestOutput())
        .diagnostics(streams.err())
        .hostLink(session)
        .build();
    session.forwardInputTo(bytes -> {
      machine.com1().queueInput(bytes);
      return bytes.length;
    });
    return machine;
  }

  /** Runs a loaded bare machine to its end; the run line names {@code image}. */
  private int runLoaded(NativeMachine machine, Path image) {
    ProfiledRun run = profiledRun(
        () -> List.of(new GuestProfiler.Source(machine.cpu(), null)), machine::run, machine::run);
    GuestProfiler profiler = run.profiler();
    RunResult result = run.result();
    long nanos = run.nanos();
    reportStop(image, result);
    if (host.stats) {
      printRunLine(streams, image, result, nanos);
      printJitLine(streams, java.util.Collections.singletonList(machine.cpu().jit()));
      NativeStats.of(machine.cpu(), machine.costModel().name()).print(streams.err());
    }
    endProfile(profiler);
    StatsDocument doc = StatsReport.nativeDocument(runInfo("native", result),
        machine.cpu().cycles());
    return writeStatsJson(doc, result.exitStatus());
  }

  /**
   * A run stopped from outside says so in one line: with --stats the run line is that line (with
   * the status and counts), so it is printed only without.
   */
  private void reportStop(Path image, RunResult result) {
    if (result.isStopped() && !host.stats) {
      streams.err().println("hospes: " + image + ": " + result.reason());
      streams.err().flush();
    }
  }

  /**
   * The run as --stats-json records it: the status the process ends with. A guest that halted
   * (0) while its output could not be written ends the process with 1; the file said 0, the
   * guest's, so a script reading it disagreed with the shell. The outcome says why.
   */
  private StatsDocument.RunInfo runInfo(String modeName, RunResult result) {
    int status = unlessOutputLost(result.exitStatus());
    String outcome = status == result.exitStatus() ? result.reason() : result.reason() + "; "
        + StdoutStream.describeFailure(streams.out()) + ": the guest's output was lost";
    return new StatsDocument.RunInfo(modeName, status, outcome, result.instructions());
  }

  /** Writes --stats-json if asked; the guest's status stands either way. */
  private int writeStatsJson(StatsDocument doc, int status) {
    if (host.statsJson != null) {
      host.writeStatsJson(doc, streams);
    }
    return status;
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
        streams.error(e.about(kernel));
        return null;
      }
    }
  }

  /** The one-line summary of a run; wall time of the run alone, so MIPS compare across runs. */
  static void printRunLine(CliStreams streams, Path kernel, RunResult result, long nanos) {
    streams.err().println("hospes: " + kernel + ": "
        + (result.isFailure() ? "failed" : result.reason()) + ", status " + result.exitStatus()
        + ", " + result.instructions() + " instructions in "
        + TextFormat.fixed(nanos / 1e9, 3) + " s ("
        + TextFormat.fixed(result.instructions() / Math.max(nanos / 1e3, 1.0), 1) + " MIPS)");
  }

  /** The translator's figures, when the engine translates. */
  static void printJitLine(CliStreams streams, java.util.List<org.hospes.x86.jit.Jit> jits) {
    String line = EngineOption.statsLine(jits);
    if (line != null) {
      streams.err().println(line);
    }
  }
}
