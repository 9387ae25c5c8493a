package org.hospes.study.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.study.RunRecord;
import org.hospes.dom0.study.StudyExecutor;
import org.hospes.dom0.study.StudyReport;
import org.hospes.dom0.study.StudyRunner;
import org.hospes.dom0.study.StudySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A study on Spark's {@code local[2]} gives the same results directory, byte for byte, as the
 * same study on this JVM's threads: runs are independent and deterministic, and the executor
 * returns them in the study's order whatever order the tasks ended in.
 */
class SparkStudyExecutorTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void sparkLocal2GivesTheLocalRunsResults() throws Exception {
    Path f = dir.resolve("s.yaml");
    Files.writeString(f, """
        name: spark
        workloads:
          - {name: nb, kernel: nanobench, cmdline: "iters=20"}
        modes: [native, hvm-shadow]
        costModels: [default, prescott]
        engines: [interp, jit]
        """);
    StudySpec s = StudySpec.read(f);
    StudyRunner local = new StudyRunner(dir, 2, new PrintStream(OutputStream.nullOutputStream()));
    Map<String, byte[]> images = local.images(s);
    List<RunRecord> here = local.run(s, images);

    StudyExecutor spark = ServiceLoader.load(StudyExecutor.class).stream()
        .map(ServiceLoader.Provider::get).filter(e -> e.name().equals("spark")).findFirst()
        .orElseThrow();
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    List<RunRecord> there = spark.run(s, images, "local[2]",
        new PrintStream(progress, true, StandardCharsets.UTF_8));

    assertThat(there).hasSize(8).isEqualTo(here);
    assertThat(there.get(0).counters()).containsKey("instructions");
    assertThat(progress.toString(StandardCharsets.UTF_8)).contains("study: [8/8] finished");
    StudyReport.write(s, here, dir.resolve("here"));
    StudyReport.write(s, there, dir.resolve("there"));
    for (String file : List.of("runs.csv", "runs.json", "summary.md", "report.html")) {
      assertThat(Files.readString(dir.resolve("there").resolve(file))).as(file)
          .isEqualTo(Files.readString(dir.resolve("here").resolve(file)));
    }
  }
}
