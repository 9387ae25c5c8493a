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
   */
  record Outcome(int status, byte[] stdout, String stderr, long wallNanos) {
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
    Path out = Files.createTempFile("hospes-bench-", ".out");
    Path err = Files.createTempFile("hospes-bench-", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(command)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(out.toFile())
          .redirectError(err.toFile());
      pb.environment().putAll(env);
      long t0 = System.nanoTime();
      Process p = pb.start();
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
      return new Outcome(status, Files.readAllBytes(out),
          Files.readString(err, StandardCharsets.UTF_8), t1 - t0);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
