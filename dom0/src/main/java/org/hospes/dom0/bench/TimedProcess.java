package org.hospes.dom0.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one command to its exit and times it from start to exit, as a user waiting at a shell
 * would: stdin from /dev/null, stdout and stderr to temporary files (so a chatty process never
 * blocks on a full pipe while it is being timed), killed after a timeout.
 */
final class TimedProcess {

  /**
   * How the process ended.
   *
   * @param status its exit status, or -1 if it was killed after the timeout
   * @param stdout everything it wrote to stdout
   * @param stderr everything it wrote to stderr
   * @param wallNanos wall time from starting it to its exit
   * @param cpuNanos the processor time (user and system) it and its children used, or -1 where
   *     the system does not say (10 ms resolution); unlike the wall time, other work on a
   *     loaded host hardly changes it
   */
  record Outcome(int status, byte[] stdout, String stderr, long wallNanos, long cpuNanos) {
    boolean timedOut() {
      return status == -1;
    }

    String stdoutText() {
      return new String(stdout, StandardCharsets.ISO_8859_1);
    }
  }

  private TimedProcess() {}

  /**
   * Runs {@code command} with {@code env} added to this process's environment.
   *
   * @throws IOException if it cannot be started (for instance, the program is not installed)
   */
  static Outcome run(List<String> command, Map<String, String> env, long timeoutSeconds)
      throws IOException, InterruptedException {
    // Through BenchScratch: a bench stopped by a signal deletes them and ends the child.
    Path out = BenchScratch.tempFile("hospes-bench-", ".out");
    Path err = BenchScratch.tempFile("hospes-bench-", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(command)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(out.toFile())
          .redirectError(err.toFile());
      pb.environment().putAll(env);
      long cpu0 = reapedChildrenCpuNanos();
      long t0 = System.nanoTime();
      Process p = BenchScratch.start(pb);
      boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
      long t1 = System.nanoTime();
      int status;
      if (done) {
        status = p.exitValue();
      } else {
        p.destroyForcibly();
        p.waitFor();
        status = -1;
      }
      BenchScratch.ended(p);
      long cpu1 = reapedChildrenCpuNanos();
      return new Outcome(status, Files.readAllBytes(out),
          Files.readString(err, StandardCharsets.UTF_8), t1 - t0,
          cpu0 < 0 || cpu1 < 0 || !done ? -1 : cpu1 - cpu0);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
      BenchScratch.forget(out);
      BenchScratch.forget(err);
    }
  }

  /** Linux's USER_HZ, the unit of /proc's times: 100 on every architecture Hospes runs on. */
  private static final long NANOS_PER_TICK = 10_000_000L;

  /**
   * The processor time of this JVM's children that it has waited for (cutime plus cstime of
   * /proc/self/stat, proc(5)), or -1 if there is no such file. A child's time is added when the
   * JVM reaps it, which is before {@link Process#waitFor} returns; the bench runs one child at a
   * time, so the difference across one run is that child's (with its own waited-for children).
   */
  static long reapedChildrenCpuNanos() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      // The command name (field 2) is in parentheses and may hold spaces: count from after it.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
      // f[0] is field 3 (state); cutime and cstime are fields 16 and 17.
      return (Long.parseLong(f[13]) + Long.parseLong(f[14])) * NANOS_PER_TICK;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
