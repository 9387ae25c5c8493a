package org.hospes.x86.diff;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the two differential test classes share: setup, the stub check, and failing with a report. */
final class DiffSuite {
  private DiffSuite() {}

  /** Builds a harness, or fails the test with the one-line message naming the package to install. */
  static NativeHarness harness(NativeHarness.Kind kind, int scratchSize) {
    return harness(kind, scratchSize, Layout.CODE_MAX);
  }

  static NativeHarness harness(NativeHarness.Kind kind, int scratchSize, int codeMax) {
    try {
      return NativeHarness.build(kind, scratchSize, codeMax);
    } catch (IllegalStateException e) {
      return fail(e.getMessage());
    }
  }

  static void run(String testClass, NativeHarness.Kind kind, int scratchSize, String countProperty,
      int defaultCount, DiffRun.Generator generator) {
    run(testClass, kind, scratchSize, Layout.CODE_MAX, countProperty, defaultCount, generator);
  }

  static void run(String testClass, NativeHarness.Kind kind, int scratchSize, int codeMax,
      String countProperty, int defaultCount, DiffRun.Generator generator) {
    long seed = DiffRun.seed();
    int n = DiffRun.count(countProperty, defaultCount);
    int only = DiffRun.onlyCase();
    NativeHarness harness = harness(kind, scratchSize, codeMax);
    DiffRun run = new DiffRun(testClass, seed, harness, generator);
    System.out.printf("%s: seed=0x%x cases=%d (override with -Dhospes.diff.seed=..., -D%s=...)%n",
        testClass, seed, only >= 0 ? 1 : n, countProperty);
    Path reportFile = Path.of("target", "diff-reports", testClass + ".txt").toAbsolutePath();
    try {
      Files.deleteIfExists(reportFile); // a report from an earlier run must not be mistaken for this one
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    long t0 = System.nanoTime();
    run.runAll(n, only, new EmulatorRunner(scratchSize));
    System.out.printf("%s: %d cases, %d forms, %d mismatches in %.1f s (%s)%n", testClass,
        run.total(), run.formCounts().size(), run.mismatches(), (System.nanoTime() - t0) / 1e9,
        run.timing());
    System.out.printf("%s: reference endings %s%n", testClass, run.endings());
    if (run.mismatches() > 0) {
      String report = run.report();
      Path file = reportFile;
      try {
        Files.createDirectories(file.getParent());
        Files.writeString(file, report);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      // Keep the failure message small enough for surefire; the file has everything.
      String shown = report.length() <= 60_000 ? report
          : report.substring(0, 60_000) + "\n... (truncated)";
      fail(testClass + ": " + shown + "\nfull report: " + file);
    }
  }
}
