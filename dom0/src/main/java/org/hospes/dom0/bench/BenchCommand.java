package org.hospes.dom0.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.dom0.report.OutputFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code hospes bench}: runs the benchmark kernels on Hospes and, in the same run, under QEMU TCG,
 * and prints guest instructions, seconds and MIPS for both and their ratio, for each Hospes
 * mode asked for ({@code --mode}, see {@link BenchMode}): one row per kernel and mode, QEMU
 * measured once per kernel.
 *
 * <p>The kernels ({@code samples/kernels/bench-alu.c}, {@code bench-mem.c}) are built with make if
 * needed, with the loop count fixed at build time ({@code --iterations}). Hospes time is the wall
 * time of the machine's {@code run()} (native machine, or the HVM toolstack's run loop); the
 * instruction count is what the guest retired. QEMU
 * time is the wall time of the whole QEMU process minus that of the {@code empty} kernel (QEMU's
 * start-up, SeaBIOS and exit), as in docs' reference measurements. Both emulators execute the
 * same kernel instructions, so QEMU's MIPS use Hospes's count; the checksums both print are
 * compared to make sure both really did the same work. Best of {@code --runs} for each figure.
 *
 * <p>Two more workloads measure what a user waits for, whole processes from start to exit:
 * {@code --linux} ({@link LinuxBootBench}, a Linux boot to /init at the PVH entry) and
 * {@code --startup} ({@link StartupBench}, {@code hospes run} of the empty kernel). Every row
 * carries the translator's figures when the engine translates ({@link JitFigures}).
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Benchmarks Hospes: the loop kernels against QEMU TCG (default), or a Linux boot"
          + " (--linux), start-up (--startup), PV block I/O (--disk), domains per host"
          + " (--domains).",
      "By default runs the benchmark kernels (bench-alu, bench-mem) on Hospes and under QEMU"
          + " TCG in the same run, and prints instructions, seconds, MIPS and the ratio."
          + " QEMU's fixed start-up cost is measured with the empty kernel and subtracted.",
      "--linux: the Linux boot to /init (PVH entry) on both; --startup: 'hospes run' of the"
          + " empty kernel against QEMU's start-up; --disk: the PV block benchmark; --domains:"
          + " host time and memory per domain with many domains on one host."
    })
public final class BenchCommand implements Callable<Integer> {

  /** The benchmark kernels, in table order. */
  public static final List<String> KERNELS = List.of("bench-alu", "bench-mem");
  /** The kernel that only measures start-up cost. */
  public static final String EMPTY = "empty";
  /** Default loop count; matches ITERS in samples/kernels/Makefile. */
  public static final long DEFAULT_ITERATIONS = 100_000_000L;

  private static final Pattern DONE = Pattern.compile("(?m)^done ([0-9a-f]+)$");
  private static final Pattern LOOP_INSNS = Pattern.compile("(\\d+) loop instructions");

  @Spec CommandSpec spec;

  private int progressDone;
  private int progressTotal;

  @Option(
      names = "--iterations",
      paramLabel = "N",
      description = "Loop iterations of each benchmark kernel (default: ${DEFAULT-VALUE}).")
  long iterations = DEFAULT_ITERATIONS;

  @Option(
      names = "--runs",
      paramLabel = "N",
      description = "Runs of each workload on each emulator (default: 3 for the loops, of which"
          + " the best is reported; 1 for --linux, the best; 5 for --startup, the median).")
  Long runsOption;

  /** The --runs in force for the workload being measured. */
  int runs;

  @Option(names = "--linux", description = "Instead of the loops: a Linux kernel (Debian's"
      + " 686-pae by default) booted at its PVH entry to an /init that prints a marker and powers"
      + " off, on Hospes (pvh mode) and under QEMU TCG (-kernel vmlinux) with the same vmlinux,"
      + " initramfs and command line; wall time of each whole process and their ratio.")
  boolean linux;

  @Option(names = "--startup", description = "Instead of the loops: start-up, 'hospes run' of"
      + " the empty kernel against qemu-system-i386 -kernel of the same file, each a whole"
      + " process to its exit; median of --runs (default 5). With --linux, both.")
  boolean startup;

  @Option(names = "--kernel", paramLabel = "FILE", description = "With --linux: the kernel, a"
      + " bzImage (its vmlinux is unpacked for both) or a vmlinux with a PVH entry (default:"
      + " Debian's, as samples/linux/fetch-debian-kernel.sh caches it).")
  Path kernelFile;

  @Option(names = "--initrd", paramLabel = "FILE", description = "With --linux: the initramfs"
      + " (default: generated, busybox-static:i386 and an /init that prints the marker and"
      + " powers off); it must print --marker and power off.")
  Path initrdFile;

  @Option(names = "--cmdline", paramLabel = "STRING", description = "With --linux: the kernel"
      + " command line of both (default: \"" + LinuxBootBench.DEFAULT_CMDLINE + "\").")
  String cmdline;

  @Option(names = "--marker", paramLabel = "TEXT", description = "With --linux: what the"
      + " console shows once /init runs (default: \"" + LinuxBootImages.MARKER + "\").")
  String marker;

  @Option(
      names = "--mode",
      paramLabel = "MODE",
      description = "Hospes modes to measure: native (no hypervisor), hvm (HVM domain with EPT),"
          + " hvm-shadow (HVM domain with shadow paging), pvh (the same loops built as a PVH"
          + " guest with the guest SDK), or all of them (default: ${DEFAULT-VALUE}).")
  String mode = "all";

  @Option(names = "--disk", description = "Instead: the PV block benchmark (blkback with and"
      + " without persistent grants and indirect descriptors; MB/s in virtual and host time,"
      + " grant operations and events per request).")
  boolean disk;

  @Option(names = "--disk-mib", paramLabel = "MIB", description = "With --disk: MiB streamed"
      + " each way per configuration (default: ${DEFAULT-VALUE}).")
  long diskMib = 32;

  @Option(names = "--domains", paramLabel = "N,...", split = ",", description = "Instead:"
      + " domains per host. For each N, N minimal PVH domains (samples/guests/hello, "
      + DomainsBench.RAM_MIB + " MiB each) on one host at once: host time per domain to build"
      + " and boot to its first output and to the end, host memory per domain (heap after GC;"
      + " the guest frames touched and the rest). E.g. --domains 10,100,1000.")
  List<Long> domains;

  @Option(names = "--guest", paramLabel = "ELF", description = "With --domains: the PVH guest"
      + " to run (default: samples/guests/hello, built with the guest SDK).")
  Path guest;

  @Option(names = "--no-qemu", description = "Run only Hospes.")
  boolean noQemu;

  @Option(names = "--no-hospes", description = "Run only QEMU (to check the yardstick alone).")
  boolean noHospes;

  @Option(
      names = "--qemu-timeout",
      paramLabel = "SECONDS",
      description = "Kill a QEMU run after this long (default: ${DEFAULT-VALUE}).")
  long qemuTimeoutSeconds = 600;

  @Option(names = "--csv", paramLabel = "FILE",
      description = "Also write the table as CSV to FILE (one row per kernel and mode).")
  Path csv;

  @Option(names = "--json", paramLabel = "FILE",
      description = "Also write the table as JSON to FILE.")
  Path json;

  @Option(
      names = "--engine",
      paramLabel = "ENGINES",
      description = "Hospes engines to measure, comma-separated: interp, jit (default:"
          + " ${DEFAULT-VALUE}); each kernel and mode runs under each, back to back, and the"
          + " notes give jit/interp speed ratios and the translator's figures.")
  String engine = "interp,jit";

  @Option(
      names = "--source-root",
      paramLabel = "DIR",
      description = "Repository root holding samples/kernels (default: found automatically).")
  Path sourceRoot;

  /** Best-of-N figures of one kernel on one emulator. */
  private static final class Measured {
    long bestNanos = Long.MAX_VALUE;
    long instructions = -1;
    String checksum;
    String error;
    int status;
    String jitStats;

    void offer(long nanos) {
      bestNanos = Math.min(bestNanos, nanos);
    }

    boolean ok() {
      return error == null && bestNanos != Long.MAX_VALUE;
    }
  }

  private int domainsBench(PrintWriter out) throws Exception {
    Path elf = guest;
    if (elf == null) {
      Path root = root();
      if (root == null) {
        return USAGE;
      }
      elf = KernelSources.makeGuest(root, KernelSources.kernelsDir(root).resolve("build")
          .resolve("domains-bench"), "hello");
    } else if (!java.nio.file.Files.isRegularFile(elf)) {
      return usage("--guest " + elf + ": no such file");
    }
    // One measurement per count, and the small host that warms the JVM up first.
    progressTotal = domains.size() + 1;
    partialNote = "the rows printed above are complete";
    return DomainsBench.run(out, elf, domains.stream().map(Long::intValue).toList(),
        this::progressStep);
  }

  @Override
  public Integer call() throws Exception {
    // Ctrl-C or SIGTERM ends the JVM at once (a bench measures host time: there is no clean
    // instruction boundary to wait for), and the tables need every measurement; say so rather
    // than vanish. The child being timed, if any, is ended and the temporary files deleted
    // (BenchScratch): the finally blocks that would have deleted them do not run.
    Thread stopped = new Thread(() -> {
      if (!finished && progressDone > 0) {
        PrintWriter err = spec.commandLine().getErr();
        err.printf(Locale.ROOT, "bench: stopped during measurement %d of %d; %s%n", progressDone,
            progressTotal, partialNote);
        err.flush();
      }
      if (!finished) {
        BenchScratch.stop();
      }
    }, "hospes-bench-stopped");
    Runtime.getRuntime().addShutdownHook(stopped);
    try {
      return measure();
    } finally {
      finished = true;
      try {
        Runtime.getRuntime().removeShutdownHook(stopped);
      } catch (IllegalStateException e) {
        // The JVM is shutting down: the hook runs and sees finished.
      }
    }
  }

  private volatile boolean finished;
  /** What the stop message says of the output so far. */
  private volatile String partialNote =
      "an incomplete bench prints no table and writes no --csv/--json";

  /** The status of a usage error. */
  static final int USAGE = 2;

  /** A user error: one line on stderr, as every Hospes command prints it; status 2. */
  private int usage(String message) {
    PrintWriter err = spec.commandLine().getErr();
    err.println("hospes: " + message);
    err.flush();
    return USAGE;
  }

  /**
   * Null if the numeric options are in range, else the first one that is not (one line). They
   * are all checked, whichever workload runs, before any work.
   */
  String numbersProblem() {
    if (iterations < 1 || iterations > 0xFFFF_FFFFL) {
      return "--iterations must be between 1 and 4294967295, got " + iterations;
    }
    if (runsOption != null && runsOption < 1) {
      return "--runs must be at least 1, got " + runsOption;
    }
    if (qemuTimeoutSeconds < 1) {
      return "--qemu-timeout must be at least 1 (seconds), got " + qemuTimeoutSeconds;
    }
    if (diskMib < 1 || diskMib > 1024) {
      return "--disk-mib must be between 1 and 1024, got " + diskMib;
    }
    if (domains != null && (domains.isEmpty()
        || domains.stream().anyMatch(n -> n == null || n < 1 || n > 100_000))) {
      return "--domains takes counts between 1 and 100000, e.g. --domains 10,100,1000";
    }
    return null;
  }

  /**
   * Null if {@code --source-root} is not given or holds the kernel sources, else why not (one
   * line).
   */
  String sourceRootProblem() {
    if (sourceRoot == null) {
      return null;
    }
    Path abs = sourceRoot.toAbsolutePath();
    if (!Files.isRegularFile(KernelSources.kernelsDir(abs).resolve("Makefile"))) {
      return "--source-root " + sourceRoot + ": no samples/kernels there (the Hospes source"
          + " tree)";
    }
    return null;
  }

  /** The source tree (--source-root, else found), or null after saying it cannot be found. */
  private Path root() {
    if (sourceRoot != null) {
      return sourceRoot.toAbsolutePath();
    }
    try {
      return KernelSources.findRoot();
    } catch (IllegalStateException e) {
      usage(e.getMessage() + ", or give --source-root DIR");
      return null;
    }
  }

  private Integer measure() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    String problem = numbersProblem();
    if (problem == null) {
      problem = sourceRootProblem();
    }
    if (problem != null) {
      return usage(problem);
    }
    if (disk) {
      return BlockBench.run(out, (int) diskMib);
    }
    if (domains != null) {
      return domainsBench(out);
    }
    if (!linux && (kernelFile != null || initrdFile != null || cmdline != null
        || marker != null)) {
      return usage((kernelFile != null ? "--kernel" : initrdFile != null ? "--initrd"
          : cmdline != null ? "--cmdline" : "--marker") + " goes with --linux");
    }
    if (linux || startup) {
      for (String loopsOnly : new String[] {"--mode", "--iterations"}) {
        if (spec.commandLine().getParseResult().hasMatchedOption(loopsOnly)) {
          return usage(loopsOnly + " goes with the loops: --linux boots in pvh mode, --startup"
              + " runs native");
        }
      }
    }
    if (marker != null && marker.isBlank()) {
      return usage("--marker must not be empty");
    }
    runs = runsOption != null ? (int) Math.min(runsOption, Integer.MAX_VALUE) : 3;
    Optional<List<BenchMode>> selected = BenchMode.select(mode);
    if (selected.isEmpty()) {
      return usage("unknown --mode '" + mode + "'; valid: " + BenchMode.validNames());
    }
    List<BenchMode> modes = selected.get();
    for (String fileProblem : new String[] {
        csv == null ? null : OutputFiles.problem(csv, "--csv"),
        json == null ? null : OutputFiles.problem(json, "--json")}) {
      if (fileProblem != null) {
        return usage(fileProblem);
      }
    }
    List<String> engines = new ArrayList<>();
    for (String e : engine.split(",")) {
      try {
        engines.add(org.hospes.x86.jit.Engine.parse(e).cliName());
      } catch (IllegalArgumentException ex) {
        return usage("--engine: " + ex.getMessage());
      }
    }
    Path root = root();
    if (root == null) {
      return USAGE;
    }
    if (linux || startup) {
      return wallClock(out, noHospes ? List.of() : engines, root);
    }
    Path build = KernelSources.kernelsDir(root).resolve("build").resolve("bench-" + iterations);
    List<String> targets = new ArrayList<>(KERNELS);
    targets.add(EMPTY);
    KernelSources.make(root, build, Map.of("ITERS", Long.toString(iterations)), targets);
    if (!noHospes && modes.stream().anyMatch(BenchMode::pvh)) {
      for (String kernel : KERNELS) {
        KernelSources.makePvh(root, build, iterations, kernel);
      }
    }

    boolean useQemu = !noQemu && QemuRunner.isAvailable();
    List<String> notes = new ArrayList<>();
    if (!noQemu && !useQemu) {
      notes.add(
          QemuRunner.BINARY + " not found, so there is no QEMU comparison"
              + " (install qemu-system-x86 to get one).");
    }
    if (noHospes && !useQemu) {
      return usage("nothing to run: --no-hospes and no QEMU (" + QemuRunner.BINARY
          + " not found)");
    }

    List<BenchMode> hospesModes = noHospes ? List.of() : modes;
    progressTotal = (useQemu ? runs * (1 + KERNELS.size()) : 0)
        + runs * KERNELS.size() * hospesModes.size() * engines.size();
    out.printf(
        Locale.ROOT,
        "Hospes bench: %,d iterations per kernel, best of %d run%s; %s%n",
        iterations, runs, runs == 1 ? "" : "s", hostLoad());
    long qemuStartup = 0;
    if (useQemu) {
      Measured empty = runQemu(KernelSources.elf(build, EMPTY), EMPTY);
      if (!empty.ok()) {
        out.println("QEMU could not run the empty kernel: " + empty.error);
        useQemu = false;
      } else {
        qemuStartup = empty.bestNanos;
        out.printf(
            Locale.ROOT,
            "yardstick: %s -accel tcg; start-up cost (empty kernel) %.3f s, subtracted%n",
            QemuRunner.version(), seconds(qemuStartup));
      }
    }
    out.println();

    String header =
        String.format(
            Locale.ROOT,
            "%-10s %-10s %-6s %15s %10s %11s %13s %11s %12s",
            "kernel", "mode", "engine", "guest insns", "Hospes s", "Hospes MIPS", "QEMU s (net)",
            "QEMU MIPS", "QEMU/Hospes");
    List<String> rows = new ArrayList<>();
    List<BenchRow> results = new ArrayList<>();
    boolean allOk = true;
    for (String kernel : KERNELS) {
      Path elf = KernelSources.elf(build, kernel);
      Measured q = useQemu ? runQemu(elf, kernel) : null;
      double qSec = q != null && q.ok() ? seconds(q.bestNanos - qemuStartup) : Double.NaN;
      if (qSec <= 0) {
        notes.add(
            kernel + ": QEMU's net time is lost in its start-up noise; use more --iterations.");
        qSec = Double.NaN;
      }
      if (q != null && !q.ok()) {
        allOk = false;
        notes.add(kernel + " under QEMU: " + q.error);
      }
      List<BenchMode> rowModes = hospesModes.isEmpty() ? java.util.Collections.singletonList(
          (BenchMode) null) : hospesModes;
      for (BenchMode mode : rowModes) {
        double interpMips = Double.NaN;
        for (String eng : mode == null ? List.of("-") : engines) {
          Measured h = mode == null ? null : runHospes(elf, mode, kernel, eng);
          String where = mode == null ? "-" : mode.name();
          long insns = h != null && h.ok() ? h.instructions : -1;
          boolean approx = false;
          if (insns < 0 && q != null && q.ok()) {
            insns = q.instructions; // the kernel's own count of its loop instructions
            approx = true;
          }
          double hSec = h != null && h.ok() ? seconds(h.bestNanos) : Double.NaN;
          double hMips = insns > 0 ? insns / hSec / 1e6 : Double.NaN;
          double qMips = insns > 0 && qSec > 0 ? insns / qSec / 1e6 : Double.NaN;
          rows.add(
              String.format(
                  Locale.ROOT,
                  "%-10s %-10s %-6s %15s %10s %11s %13s %11s %12s",
                  kernel,
                  where,
                  eng,
                  insns < 0 ? "?" : (approx ? "~" : "") + String.format(Locale.ROOT, "%,d", insns),
                  fmt(hSec, "%.3f"),
                  fmt(hMips, "%.1f"),
                  fmt(qSec, "%.3f"),
                  fmt(qMips, "%.1f"),
                  Double.isNaN(hMips) || Double.isNaN(qMips) ? "-" : fmt(qMips / hMips, "%.1fx")));

          JitFigures jit = h != null && h.ok()
              ? JitFigures.parse(h.jitStats).orElse(null) : null;
          results.add(new BenchRow(kernel, where, eng, iterations, runs, insns < 0 ? null : insns,
              num(hSec), num(hMips), num(qSec), num(qMips),
              Double.isNaN(hMips) || Double.isNaN(qMips) ? null : qMips / hMips,
              h != null && h.ok() ? h.checksum : q != null && q.ok() ? q.checksum : null,
              h != null && h.ok() && q != null && q.ok() ? h.checksum.equals(q.checksum) : null,
              BenchRow.NET_BEST, num(hSec), null, null, null, null, null, null, null, null, null,
              null)
              .withJit(jit));
          String who = kernel + (mode == null ? "" : " (" + where + ", " + eng + ")");
          if (eng.equals("interp")) {
            interpMips = hMips;
          } else if (!Double.isNaN(interpMips) && !Double.isNaN(hMips)) {
            notes.add(String.format(Locale.ROOT, "%s: %s/interp speed %.2fx (measured back to"
                + " back in this run)", who, eng, hMips / interpMips));
          }
          if (h != null && h.jitStats != null) {
            JitFigures j = JitFigures.parse(h.jitStats).orElse(null);
            notes.add(who + ": translator: " + (j != null ? j.summary(hSec) : h.jitStats));
          }
          if (h != null && !h.ok()) {
            allOk = false;
            notes.add(who + " on Hospes: " + h.error);
          }
          if (h != null && h.ok() && q != null && q.ok()) {
            if (h.checksum.equals(q.checksum)) {
              notes.add(
                  who + ": checksums agree (Hospes and QEMU both print \"done " + h.checksum
                      + "\"), so both executed the same "
                      + String.format(Locale.ROOT, "%,d", insns) + " guest instructions of kernel"
                      + " code.");
            } else {
              allOk = false;
              notes.add(
                  who + ": CHECKSUMS DIFFER: Hospes \"done " + h.checksum + "\", QEMU \"done "
                      + q.checksum + "\" (Hospes computed something else; its figures are"
                      + " suspect).");
            }
          } else if (h != null && h.ok()) {
            notes.add(who + ": Hospes printed \"done " + h.checksum + "\".");
          } else if (q != null && q.ok() && mode == null) {
            notes.add(kernel + ": QEMU printed \"done " + q.checksum + "\".");
          }
          if (approx) {
            notes.add(
                who + ": instruction count \"~\" is the kernel's own count of its loop"
                    + " instructions (no Hospes run to count them exactly).");
          }
        }
      }
    }
    out.println(header);
    rows.forEach(out::println);
    out.println();
    for (String note : notes) {
      out.println("note: " + note);
    }
    if (useQemu) {
      out.println(
          "note: QEMU/Hospes = QEMU MIPS / Hospes MIPS (how many times faster QEMU TCG is);"
              + " QEMU's count includes SeaBIOS start-up, which the empty-kernel time removes.");
    }
    out.println("note: at the end, " + hostLoad());
    out.flush();
    if (!writeResults(out, results)) {
      return 1;
    }
    return allOk ? 0 : 1;
  }

  /** Writes --csv and --json if asked; false (after saying why) if they cannot be written. */
  private boolean writeResults(PrintWriter out, List<BenchRow> results) {
    try {
      if (csv != null) {
        CsvMapper mapper = new CsvMapper();
        mapper.writer(mapper.schemaFor(BenchRow.class).withHeader())
            .writeValue(csv.toFile(), results);
      }
      if (json != null) {
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .writeValue(json.toFile(), results);
      }
      return true;
    } catch (IOException e) {
      PrintWriter err = spec.commandLine().getErr();
      err.println("hospes: cannot write the results: " + OutputFiles.reason(e));
      err.flush();
      return false;
    }
  }

  /**
   * The wall-clock workloads, --startup then --linux: whole processes timed from start to exit,
   * Hospes against QEMU in the same run.
   */
  private int wallClock(PrintWriter out, List<String> engines, Path root) throws Exception {
    int startupRuns = runsOption != null ? (int) Math.min(runsOption, Integer.MAX_VALUE) : 5;
    int linuxRuns = runsOption != null ? (int) Math.min(runsOption, Integer.MAX_VALUE) : 1;
    boolean useQemu = !noQemu && QemuRunner.isAvailable();
    List<String> notes = new ArrayList<>();
    if (!noQemu && !useQemu) {
      notes.add(QemuRunner.BINARY + " not found, so there is no QEMU comparison"
          + " (install qemu-system-x86 to get one).");
    }
    if (engines.isEmpty() && !useQemu) {
      return usage("nothing to run: --no-hospes and no QEMU" + (noQemu ? ""
          : " (" + QemuRunner.BINARY + " not found)"));
    }
    HospesCommand hospes = HospesCommand.current(root);
    Path work = BenchScratch.tempDirectory("hospes-bench-"); // deleted at a stop too
    try {
      LinuxBootImages images = null;
      if (linux) {
        try {
          images = LinuxBootImages.prepare(kernelFile, initrdFile, work);
        } catch (BenchSetupException e) {
          return usage(e.getMessage());
        }
      }
      Path empty = null;
      if (startup) {
        Path build = KernelSources.kernelsDir(root).resolve("build");
        KernelSources.make(root, build, Map.of(), List.of(EMPTY));
        empty = KernelSources.elf(build, EMPTY);
      }
      progressTotal = (startup ? StartupBench.measurements(startupRuns, engines.size(), useQemu)
          : 0) + (linux ? LinuxBootBench.measurements(linuxRuns, engines.size(), useQemu) : 0);
      out.printf(Locale.ROOT, "Hospes bench: %s; %s%n",
          startup && linux ? "start-up and the Linux boot" : startup ? "start-up"
              : "the Linux boot", hostLoad());
      if (useQemu) {
        out.println("yardstick: " + QemuRunner.version() + " -accel tcg");
      }
      List<WorkloadResult> done = new ArrayList<>();
      if (startup) {
        runs = startupRuns;
        done.add(new StartupBench(hospes, empty, startupRuns, qemuTimeoutSeconds, this::progress)
            .measure(engines, useQemu));
      }
      if (linux) {
        runs = linuxRuns;
        done.add(new LinuxBootBench(hospes, images,
            cmdline != null ? cmdline : LinuxBootBench.DEFAULT_CMDLINE,
            marker != null ? marker : LinuxBootImages.MARKER, linuxRuns, qemuTimeoutSeconds,
            this::progress).measure(engines, useQemu));
      }
      List<BenchRow> results = new ArrayList<>();
      boolean allOk = true;
      for (WorkloadResult w : done) {
        out.println();
        w.table().forEach(out::println);
        results.addAll(w.rows());
        notes.addAll(w.notes());
        allOk &= w.ok();
      }
      out.println();
      for (String note : notes) {
        out.println("note: " + note);
      }
      out.println("note: at the end, " + hostLoad());
      out.flush();
      if (!writeResults(out, results)) {
        return 1;
      }
      return allOk ? 0 : 1;
    } finally {
      try (var files = Files.walk(work)) {
        for (Path p : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
          Files.deleteIfExists(p);
        }
      }
      BenchScratch.forget(work);
    }
  }

  /**
   * "host load average 1.23 0.98 0.75 (1, 5, 15 min)" from /proc/loadavg: the figures of a
   * shared machine mean little without it.
   */
  static String hostLoad() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return "host load average " + f[0] + " " + f[1] + " " + f[2] + " (1, 5, 15 min), "
          + Runtime.getRuntime().availableProcessors() + " processors";
    } catch (IOException | RuntimeException e) {
      return "host load unknown";
    }
  }

  private static Double num(double v) {
    return Double.isNaN(v) || Double.isInfinite(v) ? null : v;
  }

  /** One line on stderr for a measurement made once, so a long bench shows where it is. */
  void progressStep(String what) {
    progressDone++;
    PrintWriter err = spec.commandLine().getErr();
    err.printf(Locale.ROOT, "bench: [%d/%d] %s%n", progressDone, progressTotal, what);
    err.flush();
  }

  /** One line on stderr per measurement, so a long bench shows where it is. */
  void progress(String what, int run) {
    progressDone++;
    PrintWriter err = spec.commandLine().getErr();
    if (run < 0) {
      err.printf(Locale.ROOT, "bench: [%d/%d] %s, warm-up (not measured)%n", progressDone,
          progressTotal, what);
    } else {
      err.printf(Locale.ROOT, "bench: [%d/%d] %s, run %d of %d%n", progressDone, progressTotal,
          what, run + 1, runs);
    }
    err.flush();
  }

  private Measured runHospes(Path elf, BenchMode mode, String kernel, String eng) {
    Measured m = new Measured();
    for (int i = 0; i < runs; i++) {
      progress(kernel + " on Hospes (" + mode.name() + ", " + eng + ")", i);
      HospesRunner.Result r;
      try {
        r = mode.runner().run(elf, eng);
      } catch (Exception | LinkageError e) {
        m.error = "failed: " + e;
        return m;
      }
      m.status = r.result().exitStatus();
      if (m.status != mode.successStatus()) {
        m.error =
            "exit status " + m.status + " (" + r.result().reason() + "), expected "
                + mode.successStatus() + "; output: " + tail(r.serialText());
        return m;
      }
      String sum = checksum(r.serialText());
      if (sum == null) {
        m.error = "no \"done <checksum>\" line in its output: " + tail(r.serialText());
        return m;
      }
      if (m.checksum != null && !m.checksum.equals(sum)) {
        m.error = "checksum changed between runs: " + m.checksum + " then " + sum;
        return m;
      }
      if (m.instructions >= 0 && m.instructions != r.result().instructions()) {
        m.error =
            "instruction count changed between runs: " + m.instructions + " then "
                + r.result().instructions();
        return m;
      }
      m.checksum = sum;
      m.instructions = r.result().instructions();
      m.jitStats = r.jitStats();
      m.offer(r.wallNanos());
    }
    return m;
  }

  private Measured runQemu(Path elf, String kernel) {
    Measured m = new Measured();
    for (int i = 0; i < runs; i++) {
      progress(kernel + " under QEMU", i);
      QemuRunner.Result r;
      try {
        r = QemuRunner.run(elf, qemuTimeoutSeconds);
      } catch (Exception e) {
        m.error = "failed: " + e;
        return m;
      }
      m.status = r.exitStatus();
      if (!r.succeeded()) {
        m.error =
            (r.exitStatus() < 0 ? "timed out" : "exit status " + r.exitStatus())
                + ", expected " + QemuRunner.SUCCESS_STATUS + " " + r.stderr().trim();
        return m;
      }
      String text = r.serialText();
      String sum = checksum(text);
      if (sum != null) {
        if (m.checksum != null && !m.checksum.equals(sum)) {
          m.error = "checksum changed between runs: " + m.checksum + " then " + sum;
          return m;
        }
        m.checksum = sum;
        Matcher loop = LOOP_INSNS.matcher(text);
        if (loop.find()) {
          m.instructions = Long.parseLong(loop.group(1));
        }
      }
      m.offer(r.wallNanos());
    }
    return m;
  }

  /** The checksum in a kernel's {@code done <hex>} line, or null. */
  static String checksum(String output) {
    Matcher m = DONE.matcher(output);
    return m.find() ? m.group(1) : null;
  }

  private static String tail(String s) {
    String t = s.strip().replace('\n', '|');
    return t.length() <= 200 ? "\"" + t + "\"" : "\"..." + t.substring(t.length() - 200) + "\"";
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  private static String fmt(double v, String format) {
    return Double.isNaN(v) || Double.isInfinite(v) ? "-" : String.format(Locale.ROOT, format, v);
  }
}
