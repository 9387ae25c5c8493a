package org.hospes.dom0.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.study.RunRecord;
import org.hospes.dom0.study.StudyRunner;
import org.hospes.dom0.study.StudySpec;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.hv.HypervisorFactory;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.stats.Counters;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hospes demo}: Hospes's main job on one host. dom0's services, two PVH guests that find
 * each other through xenstore and bounce a counter in a granted page over an interdomain event
 * channel (the ping-pong sample), a PVH guest that writes and reads back a disk through its
 * blkfront and dom0's blkback (the disk-bench sample, on a scratch image), and an HVM guest whose
 * COM1 dom0's device model serves, all on one hypervisor; then a table of what each domain cost,
 * and a quick form of the default study: the nanobenchmarks in native, hvm and hvm-shadow.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Runs one host: dom0, two PVH guests talking through an event channel and a granted page"
          + " (samples/guests/ping-pong), a PVH guest writing and reading a scratch disk through"
          + " blkfront and dom0's blkback (samples/guests/disk-bench), and an HVM guest"
          + " (samples/kernels/hello.c), then prints what each domain cost; then the default"
          + " study's nanobenchmarks in native, hvm and hvm-shadow (the whole study: hospes"
          + " study). Builds the samples with make first if needed.",
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      "0:every guest ended as it should",
      "2:the samples cannot be found or built",
      "N:otherwise the status of the first guest that did not (3 crashed, 4 time limit)",
    })
final class DemoCommand implements Callable<Integer> {

  /** Virtual time the demo may take: far more than it needs, so a hang still ends. */
  private static final long MAX_CYCLES = 20_000_000_000L;

  private final CliStreams streams;

  @Option(names = "--round-trips", paramLabel = "N", defaultValue = "1000",
      description = "Round trips of the ping-pong guests (default: ${DEFAULT-VALUE}).")
  long roundTrips;

  @Option(names = "--no-study", description = "Leave out the nanobenchmarks after the host run.")
  boolean noStudy;

  /** The ops of the demo's nanobenchmark table, a subset of the study's. */
  private static final List<String> STUDY_OPS = List.of("syscall", "in", "cr3", "pgfault",
      "ptemod");
  private static final List<String> STUDY_MODES = List.of("native", "hvm", "hvm-shadow");
  /** The quick study's disk-bench: emulated IDE in hvm against blkfront in pvh. */
  private static final List<String> DISK_MODES = List.of("hvm", "pvh");

  DemoCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    // The ping-pong guests count in 32 bits, bouncing 2i+1.
    if (roundTrips < 1 || roundTrips > Integer.MAX_VALUE) {
      streams.error("--round-trips must be between 1 and " + Integer.MAX_VALUE + ", got "
          + roundTrips);
      return ExitStatus.USAGE;
    }
    Optional<SampleKernels> located = SampleKernels.locate();
    if (located.isEmpty()) {
      streams.error("cannot find " + SampleKernels.RELATIVE_DIR + "; run hospes from the source"
          + " tree or set HOSPES_ROOT");
      return ExitStatus.USAGE;
    }
    SampleKernels samples = located.get();
    int built = build(samples);
    if (built != 0) {
      return built;
    }
    HostRunner host = HostRunner.create(128, HypervisorFactory.DEFAULT_SCHEDULER,
        HypervisorFactory.DEFAULT_COST_MODEL, streams.out());
    // Domains get domids in start order (1, 2, 3): each ping-pong guest names its peer.
    Path pingPong = samples.guestElf("ping-pong");
    Path scratch;
    try {
      scratch = Files.createTempFile("hospes-demo-disk", ".img");
      // Also when a signal ends the JVM before the host runs (the start-up handler exits, and
      // the finally below never runs): the shutdown sequence deletes it.
      scratch.toFile().deleteOnExit();
      try (RandomAccessFile f = new RandomAccessFile(scratch.toFile(), "rw")) {
        f.setLength(1 << 20);
      }
    } catch (IOException e) {
      streams.error("cannot make the demo's scratch disk: " + e.getMessage());
      return ExitStatus.INTERNAL_ERROR;
    }
    try {
      List<DomainSpec> specs = List.of(
          DomainSpec.of("ping", pingPong, "ping peer=2 count=" + roundTrips)
              .withMode(DomainMode.PVH),
          DomainSpec.of("pong", pingPong, "pong peer=1").withMode(DomainMode.PVH),
          withDisk(DomainSpec.of("disk", samples.guestElf("disk-bench"), null)
              .withMode(DomainMode.PVH), scratch),
          DomainSpec.of("hello", samples.elf("hello"), null));
      for (DomainSpec s : specs) {
        try {
          host.start(s);
        } catch (BootException e) {
          streams.error(s.name() + ": " + e.about(s.kernel()));
          return ExitStatus.USAGE;
        }
      }
      String[] stop = new String[1];
      int status;
      try (RunSession session = RunSession.open(streams, false)) {
        host.runUntil(MAX_CYCLES, () -> (stop[0] = session.afterSlice()) != null);
        host.finish();
        streams.out().flush();
        status = report(host, stop[0], session.stopStatus());
        if (status != ExitStatus.HALTED || noStudy || stop[0] != null) {
          return status;
        }
      }
      return study(samples.root());
    } finally {
      try {
        Files.deleteIfExists(scratch);
      } catch (IOException e) {
        streams.error("cannot remove the scratch disk " + scratch + ": " + e.getMessage());
      }
    }
  }

  private static DomainSpec withDisk(DomainSpec s, Path image) {
    return new DomainSpec(s.name(), s.kernel(), s.mode(), s.ramMiB(), s.weight(), s.cap(),
        s.cmdline(), s.loader(), List.of(DiskSpec.parse(image + ",format=raw", 0, null)),
        s.vifs(), s.vcpus());
  }

  /**
   * The quick form of the default study under the default cost model, in virtual time: its
   * nanobenchmark kernel in native, hvm and hvm-shadow, as cycles per op; and its disk-bench
   * on a 1 MiB scratch disk over emulated IDE (hvm) and over blkfront (pvh), per MiB moved.
   */
  private int study(Path root) {
    List<String> modes = new java.util.ArrayList<>(STUDY_MODES);
    modes.addAll(DISK_MODES.stream().filter(m -> !modes.contains(m)).toList());
    StudySpec quick = new StudySpec("demo", List.of(
        new StudySpec.Workload("nanobench", "nanobench", "iters=1000", null, null, null, null,
            null, STUDY_MODES),
        new StudySpec.Workload("disk-bench", null, null, null, null, List.of("disk-bench"),
            null, 1, DISK_MODES)), modes, List.of(64), null,
        List.of("default"), null, 1, null).withDefaults();
    List<RunRecord> records;
    StudyRunner runner = new StudyRunner(root.resolve("samples/kernels"), STUDY_MODES.size(),
        streams.err());
    // The host part's session has ended, and with it its handlers: without these the JVM's
    // own ended the demo with a bare status 130 and not a word.
    int[] signal = {0};
    List<Runnable> restore = streams.process()
        ? StudyCommand.trapSignals(runner::requestStop, signal, name -> { }) : List.of();
    try {
      records = runner.run(quick);
    } catch (org.hospes.dom0.bench.KernelSources.BuildStoppedException e) {
      return studyStopped(signal[0] != 0 ? signal[0] : e.signal());
    } catch (IOException | UncheckedIOException e) {
      if (!restore.isEmpty() && StudyCommand.signalled(signal) || runner.stopRequested()) {
        return studyStopped(signal[0]); // make, stopped too, failed rather than died of it
      }
      streams.error("the nanobenchmark study failed: " + e.getMessage());
      return ExitStatus.INTERNAL_ERROR;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      streams.error("interrupted during the nanobenchmark study");
      return ExitStatus.INTERNAL_ERROR;
    } finally {
      restore.forEach(Runnable::run);
    }
    if (runner.stopRequested()) {
      return studyStopped(signal[0]);
    }
    PrintStream out = streams.out();
    out.println();
    out.println("Nanobenchmarks (Adams & Agesen's, cycles per op; the whole study with its report:"
        + " hospes study)");
    out.printf(Locale.ROOT, "%-9s", "op");
    STUDY_MODES.forEach(m -> out.printf(Locale.ROOT, " %12s", m));
    out.println();
    for (String op : STUDY_OPS) {
      out.printf(Locale.ROOT, "%-9s", op);
      for (String mode : STUDY_MODES) {
        Double v = records.stream().filter(r -> r.spec().mode().equals(mode))
            .filter(r -> !r.nanobench().isEmpty()).map(RunRecord::nanobench).map((Map<String, Double> m) -> m.get(op))
            .filter(java.util.Objects::nonNull).findFirst().orElse(null);
        out.printf(Locale.ROOT, " %12s", v == null ? "-" : String.format(Locale.ROOT, "%,.0f", v));
      }
      out.println();
    }
    List<RunRecord> nano = records.stream()
        .filter(r -> r.spec().workload().name().equals("nanobench")).toList();
    List<RunRecord> disk = records.stream()
        .filter(r -> r.spec().workload().name().equals("disk-bench")).toList();
    out.println();
    out.println("Disk I/O, the same disk-bench per MiB moved: emulated IDE (hvm) against PV"
        + " blkfront (pvh)");
    out.printf(Locale.ROOT, "%-10s %-5s %9s %9s %9s %12s %12s %12s %12s%n", "path", "mode",
        "exits", "ioreqs", "grant ops", "guest kcyc", "hyp kcyc", "dom0 kcyc", "total kcyc");
    for (org.hospes.dom0.study.IoPathsSummary.Row r
        : org.hospes.dom0.study.IoPathsSummary.rows(disk)) {
      out.printf(Locale.ROOT, "%-10s %-5s %,9.0f %,9.0f %,9.0f %,12.0f %,12.0f %,12.0f %,12.0f%n",
          r.path(), r.mode(), r.exits(), r.ioreqs(), r.grantOps(), r.guestCycles() / 1e3,
          r.hvCycles() / 1e3, r.dom0Cycles() / 1e3, r.totalCycles() / 1e3);
    }
    out.flush();
    boolean complete = nano.stream().allMatch(r -> !r.nanobench().isEmpty());
    if (!complete) {
      streams.error("a nanobenchmark run did not finish: " + nano.stream()
          .filter(r -> r.nanobench().isEmpty()).map(r -> r.spec().mode() + " " + r.endReason())
          .toList());
      return ExitStatus.INTERNAL_ERROR;
    }
    List<RunRecord> failed = disk.stream().filter(r -> r.exitStatus() != 0).toList();
    if (!failed.isEmpty()) {
      streams.error("a disk-bench run did not finish: " + failed.stream()
          .map(r -> r.spec().mode() + " " + r.endReason()).toList());
      return ExitStatus.INTERNAL_ERROR;
    }
    return ExitStatus.HALTED;
  }

  /**
   * Stopped by signal {@code signal} (2 if unknown) during the study: says so, as the host part
   * does when stopped; the host's table above stands, the study's tables are left out.
   */
  private int studyStopped(int signal) {
    return stopped(signal, "during the nanobenchmark study; its tables are left out");
  }

  /** Says the demo was stopped by {@code signal} (2 if unknown), {@code when}: its status. */
  private int stopped(int signal, String when) {
    int sig = signal != 0 ? signal : 2;
    streams.error("demo interrupted (SIG" + (sig == 15 ? "TERM" : sig == 1 ? "HUP" : "INT")
        + ") " + when);
    return 128 + sig;
  }

  /**
   * The cost table on stdout (after the consoles); returns the exit status: {@code
   * stopStatus} when the run was stopped from outside (130 for Ctrl-C or a closed stdout, 143
   * for SIGTERM, as run and run-many end).
   */
  private int report(HostRunner host, String stopped, int stopStatus) {
    PrintStream out = streams.out();
    out.println();
    out.printf(Locale.ROOT, "%-7s %-5s %-28s %13s %15s %9s %10s %7s %11s%n", "domain", "mode",
        "ended", "instructions", "modelled cyc", "vm exits", "hypercalls", "events",
        "grant ops");
    int status = ExitStatus.HALTED;
    List<String> running = new java.util.ArrayList<>();
    for (GuestDomain g : host.guests()) {
      DomainOutcome o = g.outcome();
      Counters c = g.domain().totals();
      String ended = o.kind() == DomainOutcome.Kind.RUNNING && stopped != null
          ? "stopped" : o.kind() == DomainOutcome.Kind.EXITED ? exitedAs(o) : o.kind().label();
      out.printf(Locale.ROOT, "%-7s %-5s %-28s %,13d %,15d %,9d %,10d %,7d %,11d%n", g.name(),
          g.domain().mode().cliName(), ended, o.instructions(), c.cycles, c.totalExits(),
          c.totalHypercalls(), c.eventUpcalls,
          c.grantMaps + c.grantUnmaps + c.grantCopies);
      if (o.kind() == DomainOutcome.Kind.RUNNING && stopped != null) {
        running.add(g.name());
      } else if (status == ExitStatus.HALTED && !o.succeeded()) {
        status = stopped != null ? stopStatus : o.status();
        streams.error(g.name() + ": " + o.describe());
      }
    }
    if (!running.isEmpty()) {
      // Stopped from outside (Ctrl-C, SIGTERM, stdout gone): one line for the run, naming
      // every guest it cut short, not the first guest's "still running".
      status = stopStatus;
      streams.error("demo " + (stopped.startsWith("interrupted") ? stopped
          : "stopped (" + stopped + ")") + "; still running: " + String.join(", ", running));
    }
    DomainControl dom0 = host.hypervisor().control();
    // dom0's grant operations are the backends' maps, unmaps and copies of the guests' grants.
    Counters d = dom0.counters();
    out.printf(Locale.ROOT, "%-7s %-5s %-28s %13s %,15d %9s %10s %,7d %,11d%n", "dom0",
        "-", "serving (" + dom0.foreignMaps() + " foreign maps)", "-", d.cycles,
        "-", "-", d.eventUpcalls, d.grantMaps + d.grantUnmaps + d.grantCopies);
    out.printf(Locale.ROOT, "virtual time %,d cycles (%.3f s at 1 GHz), scheduler %s, cost"
        + " model %s%n", host.hypervisor().now(), host.hypervisor().now() / 1e9,
        host.hypervisor().scheduler().name(), host.hypervisor().costModel().name());
    out.flush();
    return status;
  }

  private static String exitedAs(DomainOutcome o) {
    return o.reason().startsWith("shutdown: ") ? o.reason() : "exited, status " + o.status();
  }

  /** Builds the sample kernels and the ping-pong guest; 0, or the status to exit with. */
  private int build(SampleKernels samples) {
    // make's log is shown only if it fails: on success it would bury the guests' output.
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream logStream = new PrintStream(log, true, StandardCharsets.UTF_8);
    int make;
    // Ctrl-C reaches make with the terminal's process group; the demo says it was stopped
    // rather than ending without a word (the JVM's handler) or blaming the build.
    int[] signal = {0};
    List<Runnable> restore = streams.process()
        ? StudyCommand.trapSignals(() -> { }, signal, name -> { }) : List.of();
    try {
      make = samples.build(logStream);
      // A signal between two builds: the next one is not started.
      if (make == 0 && signal[0] == 0) {
        make = samples.buildPvhGuest("ping-pong", logStream);
      }
      if (make == 0 && signal[0] == 0) {
        make = samples.buildPvhGuest("disk-bench", logStream);
      }
      if (make != 0 && !restore.isEmpty()) {
        StudyCommand.signalled(signal); // waits for a signal that stopped make, if one did
      }
    } catch (IOException e) {
      streams.error("cannot run make: " + e.getMessage());
      return ExitStatus.USAGE;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      streams.error("interrupted while building the samples");
      return ExitStatus.INTERNAL_ERROR;
    } finally {
      restore.forEach(Runnable::run);
    }
    if (signal[0] != 0 || make == 130 || make == 143 || make == 129) {
      // make died of the signal (128 + its number), or finished just as it came.
      return stopped(signal[0] != 0 ? signal[0] : make - 128, "while building the samples");
    }
    if (make != 0) {
      streams.err().write(log.toByteArray(), 0, log.size());
      streams.error("building the samples failed (make exited with " + make + ")");
      return ExitStatus.USAGE;
    }
    return 0;
  }
}
