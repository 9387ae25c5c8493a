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
          + " FILE, runs the bundled default study (nanobenchmarks and a CPU-bound kernel in"
          + " native, hvm, hvm-shadow and pvh, under the default and prescott cost models).",
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:every run ran (a run's own status is in the results)",
      "2:bad study file or options"})
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
  Integer jobs;

  @Option(names = "--spark", arity = "0..1", paramLabel = "MASTER", fallbackValue = "local[*]",
      description = "Hand the runs to Apache Spark (the optional study-spark module): local[*]"
          + " when no MASTER is given, or a cluster's master URL (spark://HOST:7077). The"
          + " results are the same as a local run's.")
  String spark;

  StudyCommand(CliStreams streams) {
    this.streams = streams;
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
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    if (jobs != null && jobs < 1) {
      streams.error("--jobs must be at least 1, got " + jobs);
      return ExitStatus.USAGE;
    }
    int n = jobs != null ? jobs : Runtime.getRuntime().availableProcessors();
    Path base = file == null ? Path.of("") : file.toAbsolutePath().getParent();
    List<RunRecord> records;
    StudyRunner local = new StudyRunner(base, n, streams.err());
    try {
      if (spark == null) {
        records = local.run(study);
      } else {
        if (spark.matches(".*\\.(ya?ml|json)$") || java.nio.file.Files.exists(Path.of(spark))) {
          streams.error("--spark took '" + spark + "' as its master URL: write --spark=MASTER,"
              + " or give FILE before --spark");
          return ExitStatus.USAGE;
        }
        StudyExecutor executor = sparkExecutor();
        if (executor == null) {
          streams.error("--spark: the study-spark module is not on the class path (./hospes"
              + " adds it when --spark is given; by hand: mvn -pl study-spark -am package, then"
              + " study-spark/target/*.jar and study-spark/target/lib/* on the class path)");
          return ExitStatus.USAGE;
        }
        records = executor.run(study, local.images(study), spark, streams.err());
      }
    } catch (IllegalArgumentException | java.io.IOException e) {
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    StudyReport.write(study, records, out);
    String io = StudyReport.ioPaths(records);
    if (!io.isEmpty()) {
      // The per-path table is what an I/O study is run for: print it, as bench prints its.
      streams.out().print(io.strip() + "\n");
      streams.out().flush();
    }
    streams.err().println("study: " + records.size() + " runs; results in " + out);
    return 0;
  }
}
