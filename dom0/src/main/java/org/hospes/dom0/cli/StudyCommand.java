package org.hospes.dom0.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.study.RunRecord;
import org.hospes.dom0.study.StudyExecutor;
import org.hospes.dom0.study.StudyReport;
import org.hospes.dom0.study.StudyRunner;
import org.hospes.dom0.study.StudySpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hospes study [FILE]}: runs a declarative study and writes its results directory. */
@Command(
    name = "study",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a study (YAML, or JSON for a .json file): workloads x modes x ram x schedulers x"
          + " cost models x engines x repetitions, in virtual time, several runs at once. Writes"
          + " runs.csv, runs.json, summary.md and report.html (with plots/) to --out. Without"
          + " FILE, runs the bundled default study (nanobenchmarks, a CPU-bound program and a"
          + " disk benchmark across the modes: emulated IDE in native, hvm and hvm-shadow,"
          + " blkfront and blkback in pvhvm, pvh and pv; under the default and prescott cost"
          + " models).",
      "Ctrl-C or SIGTERM: the runs under way finish, the others are skipped, and the results"
          + " directory is written with the finished runs (status 130 or 143); while the"
          + " workloads are built, the build stops and nothing is written. With --spark the"
          + " same, also while Spark starts; on a cluster the runs under way are cancelled.",
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:every run ran (a run's own status is in the results)",
      "1:the results could not be written (a full disk, say); nothing half-written is left",
      "2:bad study file or options",
      "130:stopped by Ctrl-C (SIGTERM: 143); the finished runs' results are written"})
final class StudyCommand implements Callable<Integer> {
  private final CliStreams streams;

  @Parameters(index = "0", arity = "0..1", paramLabel = "FILE",
      description = "The study file (default: the bundled default study).")
  Path file;

  @Option(names = "--out", paramLabel = "DIR", defaultValue = "study-results",
      description = "Results directory (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--jobs", paramLabel = "N",
      description = "Runs at once (default: the host's processors).")
  Long jobs;

  @Option(names = "--spark", arity = "0..1", paramLabel = "MASTER", fallbackValue = "local[*]",
      description = "Hand the runs to Apache Spark (the optional study-spark module): local[*]"
          + " when no MASTER is given, or a cluster's master URL (spark://HOST:7077). The"
          + " results are the same as a local run's.")
  String spark;

  StudyCommand(CliStreams streams) {
    this.streams = streams;
  }

  /**
   * Null if the results directory is writable, or could be created, else why not. Creates
   * nothing: a study refused later (an unknown kernel) must leave no empty directory behind.
   */
  private static String outDirProblem(Path dir) {
    Path d = dir.toAbsolutePath();
    if (java.nio.file.Files.exists(d)) {
      return !java.nio.file.Files.isDirectory(d) ? "--out " + dir + ": not a directory"
          : java.nio.file.Files.isWritable(d) ? null : "--out " + dir + ": permission denied";
    }
    Path parent = d.getParent();
    while (parent != null && !java.nio.file.Files.exists(parent)) {
      parent = parent.getParent();
    }
    if (parent == null || !java.nio.file.Files.isDirectory(parent)) {
      return "--out " + dir + ": cannot be created";
    }
    return java.nio.file.Files.isWritable(parent) ? null : "--out " + dir + ": permission denied";
  }

  /**
   * Writes the results directory; false, with one line saying so, if it cannot be written. A
   * full disk ended the study with "internal error: java.io.IOException: No space left on
   * device" and status 1, leaving runs.csv whole and runs.json cut short; now the files
   * written so far are removed, and the directory too if the study made it.
   */
  private boolean writeResults(StudySpec study, List<RunRecord> records, boolean outExisted) {
    try {
      StudyReport.write(study, records, out);
      return true;
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      String why = e instanceof java.io.UncheckedIOException u ? u.getCause().getMessage()
          : e.getMessage();
      String left = "nothing of them is left there";
      try {
        StudyReport.removeResults(out);
        if (!outExisted) {
          java.nio.file.Files.deleteIfExists(out);
        }
      } catch (java.io.IOException cleanup) {
        left = "and some of its files could not be removed (" + cleanup.getMessage() + ")";
      }
      streams.error("cannot write the study's results in " + out + ": " + why + "; the "
          + runs(records.size()) + (records.size() == 1 ? "'s" : "'") + " results are lost, "
          + left);
      return false;
    }
  }

  /** Creates the results directory: null, or why it cannot be. */
  private static String createOutDir(Path dir) {
    try {
      java.nio.file.Files.createDirectories(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      return "--out " + dir + ": not a directory";
    } catch (java.io.IOException e) {
      String why = e instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : e instanceof java.nio.file.NoSuchFileException ? "cannot be created"
          : e.getMessage();
      return "--out " + dir + ": " + why;
    }
    return java.nio.file.Files.isWritable(dir) ? null : "--out " + dir + ": permission denied";
  }

  /**
   * What the first Ctrl-C (INT) or SIGTERM (TERM) prints. A second one within a second is
   * ignored (one request can arrive twice), so the line says "a second or more later".
   */
  static String stoppingLine(String signalName) {
    return "study: stopping: the runs under way finish, the rest are skipped ("
        + again(signalName) + ")";
  }

  /** The same while the workloads are built: no run has started, and none will. */
  static String stoppingBuildLine(String signalName) {
    return "study: stopping: the workloads' build stops and no run starts ("
        + again(signalName) + ")";
  }

  private static String again(String signalName) {
    return (signalName.equals("INT") ? "Ctrl-C" : "SIG" + signalName)
        + " again, a second or more later, ends it at once";
  }

  /**
   * Ctrl-C and SIGTERM stop the study between runs (the first one; a second a second or more
   * later ends the process at once). Returns what puts the old handlers back.
   */
  private List<Runnable> trapSignals(StudyRunner runner, StudyExecutor executor, int[] signal,
      java.util.concurrent.atomic.AtomicBoolean building, java.io.PrintStream progress) {
    // With --spark the executor, perhaps still starting Spark, is stopped too. Without this
    // trap, Ctrl-C there ran the JVM's shutdown hooks under Spark's start-up: a stack trace
    // and no stop line.
    Runnable stop = executor == null ? runner::requestStop : () -> {
      runner.requestStop();
      executor.requestStop();
    };
    return trapSignals(stop, signal, name -> {
      progress.println(building.get() ? stoppingBuildLine(name) : stoppingLine(name));
      progress.flush();
    });
  }

  /**
   * As above, for any command that runs a study or a build (demo): the first signal runs
   * {@code requestStop}, then {@code onFirst} with its name (INT, TERM).
   */
  static List<Runnable> trapSignals(Runnable requestStop, int[] signal,
      java.util.function.Consumer<String> onFirst) {
    StartupSignals.taken();
    List<Runnable> restore = new java.util.ArrayList<>();
    long[] first = {0};
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        sun.misc.Signal sig = new sun.misc.Signal(name);
        sun.misc.SignalHandler old = sun.misc.Signal.handle(sig, s -> {
          long now = System.nanoTime();
          if (signal[0] != 0) {
            // timeout(1) and kill -- -PGID deliver one request twice, at once.
            if (now - first[0] >= 1_000_000_000L) {
              Runtime.getRuntime().halt(128 + s.getNumber());
            }
            return;
          }
          first[0] = now;
          signal[0] = s.getNumber();
          requestStop.run();
          // A build's child forked just after the signal reached the process group would keep
          // make, and this command reading its output, waiting for it.
          org.hospes.dom0.bench.KernelSources.stopBuilds();
          onFirst.accept(s.getName());
        });
        if (old == sun.misc.SignalHandler.SIG_IGN) {
          sun.misc.Signal.handle(sig, old); // a background job's SIGINT stays ignored
        } else {
          restore.add(() -> sun.misc.Signal.handle(sig, old));
        }
      } catch (IllegalArgumentException e) {
        // This JVM keeps the signal (-Xrs): it ends the process as it would anyway.
      }
    }
    return restore;
  }

  /**
   * True if a signal trapped by {@link #trapSignals} has come, or comes within half a second.
   * For a build that failed: Ctrl-C reaches make and the JVM at once, and an interrupted make
   * may be done (status 2) before the JVM has run its handler, which runs on a thread of its
   * own; the failure is then the stop's doing, not the build's.
   */
  static boolean signalled(int[] signal) {
    long deadline = System.nanoTime() + 500_000_000L;
    while (signal[0] == 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return signal[0] != 0;
  }

  /** Ctrl-C for SIGINT (2), else SIGTERM for the one other signal trapped. */
  private static String signalName(int signal) {
    return signal == 15 ? "SIGTERM" : "Ctrl-C";
  }

  private static StudyExecutor sparkExecutor() {
    for (StudyExecutor e : java.util.ServiceLoader.load(StudyExecutor.class)) {
      if (e.name().equals("spark")) {
        return e;
      }
    }
    return null;
  }

  @Override
  public Integer call() throws Exception {
    StudySpec study;
    try {
      study = file == null ? StudySpec.resource("default-study.yaml") : StudySpec.read(file);
    } catch (IllegalArgumentException e) {
      // A study file's errors, one to a line, each on a line of its own.
      e.getMessage().lines().forEach(streams::error);
      return ExitStatus.USAGE;
    }
    if (jobs != null && jobs < 1) {
      streams.error("--jobs must be at least 1, got " + jobs);
      return ExitStatus.USAGE;
    }
    String outProblem = outDirProblem(out);
    if (outProblem != null) {
      // Found now, not after the runs: a long study must never end in a write error.
      streams.error(outProblem);
      return ExitStatus.USAGE;
    }
    StudyExecutor executor = null;
    if (spark != null) {
      if (spark.matches(".*\\.(ya?ml|json)$") || java.nio.file.Files.exists(Path.of(spark))) {
        streams.error("--spark took '" + spark + "' as its master URL: write --spark=MASTER,"
            + " or give FILE before --spark");
        return ExitStatus.USAGE;
      }
      executor = sparkExecutor();
      if (executor == null) {
        streams.error("--spark: the study-spark module is not on the class path (./hospes"
            + " adds it when --spark is given; by hand: mvn -pl study-spark -am package, then"
            + " study-spark/target/*.jar and study-spark/target/lib/* on the class path)");
        return ExitStatus.USAGE;
      }
    }
    int n = jobs != null ? (int) Math.min(jobs, Integer.MAX_VALUE) : Runtime.getRuntime().availableProcessors();
    Path base = file == null ? Path.of("") : file.toAbsolutePath().getParent();
    List<RunRecord> records;
    java.io.PrintStream progress = spark == null ? StudyProgressBar.wrap(streams)
        : streams.err();
    StudyRunner local = new StudyRunner(base, n, progress);
    int[] signal = {0};
    boolean outExisted = true;
    // Read on the signal handler's thread: which stopping line a first signal gets.
    java.util.concurrent.atomic.AtomicBoolean building =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    List<Runnable> restore = streams.process()
        ? trapSignals(local, executor, signal, building, progress) : List.of();
    try {
      // The workloads' images first (an unknown kernel or SDK sample is refused here), then
      // the results directory: a refused study creates nothing.
      java.util.Map<String, byte[]> images = local.images(study);
      building.set(false);
      outExisted = java.nio.file.Files.exists(out);
      outProblem = createOutDir(out);
      if (outProblem != null) {
        streams.error(outProblem);
        return ExitStatus.USAGE;
      }
      records = executor == null ? local.run(study, images)
          : executor.run(study, images, spark, streams.err());
    } catch (org.hospes.dom0.bench.KernelSources.BuildStoppedException e) {
      // Ctrl-C reaches make with the rest of the terminal's process group: a stop, as it is
      // during the runs, not a failed build. The JVM's handler, if the signal came to it too,
      // has its line said first.
      if (!restore.isEmpty()) {
        signalled(signal);
      }
      // The study's own signal first: sent to the JVM alone (kill PID), it stopped make with
      // SIGTERM, and make's signal is not the one the user sent.
      streams.err().println("study: stopped (" + (signal[0] != 0 ? signalName(signal[0])
          : e.signalName()) + ") while building the workloads; no run ran, nothing written");
      return 128 + (signal[0] != 0 ? signal[0] : e.signal());
    } catch (IllegalArgumentException | java.io.IOException e) {
      if (e instanceof java.io.IOException && !restore.isEmpty() && signalled(signal)
          || local.stopRequested()) {
        // Stopped while building: make, interrupted too, may have failed rather than died of
        // the signal; its error is the stop's doing.
        streams.err().println("study: stopped (" + signalName(signal[0]) + ") while building"
            + " the workloads; no run ran, nothing written");
        return 128 + (signal[0] != 0 ? signal[0] : 2);
      }
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    } finally {
      restore.forEach(Runnable::run);
      if (progress != streams.err()) {
        progress.close(); // clears the bar
      }
    }
    if (local.stopRequested()) {
      int total = study.runs().size();
      if (!records.isEmpty()) {
        if (!writeResults(study, records, outExisted)) {
          return ExitStatus.INTERNAL_ERROR;
        }
      } else if (!outExisted) {
        // "Nothing written" leaves nothing behind: not the empty directory made for the runs
        // (a stop while Spark starts, seconds long, left one every time).
        try {
          java.nio.file.Files.deleteIfExists(out);
        } catch (java.io.IOException e) {
          // Not empty after all (something else wrote there): it stays.
        }
      }
      streams.err().println("study: stopped after " + records.size() + " of " + total + " runs"
          + (records.isEmpty() ? "; nothing written" : "; their results in " + out));
      return 128 + (signal[0] != 0 ? signal[0] : 2);
    }
    if (!writeResults(study, records, outExisted)) {
      return ExitStatus.INTERNAL_ERROR;
    }
    String io = StudyReport.ioPaths(records);
    if (!io.isEmpty()) {
      // The per-path table is what an I/O study is run for: print it, as bench prints its.
      streams.out().print(io.strip() + "\n");
      streams.out().flush();
    }
    streams.err().println("study: " + runs(records.size()) + "; results in " + out);
    return 0;
  }

  /** "1 run", "2 runs": the closing lines read "1 runs" for a study of one. */
  static String runs(int n) {
    return n + (n == 1 ? " run" : " runs");
  }
}
