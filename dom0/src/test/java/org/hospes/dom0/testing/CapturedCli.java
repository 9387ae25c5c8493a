package org.hospes.dom0.testing;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.cli.HospesCli;

/** The {@code hospes} command run in-process with captured stdout and stderr (and stdin). */
public final class CapturedCli {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  /** Runs {@code hospes ARGS} with no stdin; output adds to what earlier runs captured. */
  public int run(String... args) {
    return HospesCli.newCommandLine(stream(out), stream(err)).execute(args);
  }

  /** Runs {@code hospes ARGS} with {@code input} piped to its stdin. */
  public int runWithInput(String input, String... args) {
    return HospesCli.newCommandLine(
        new ByteArrayInputStream(input.getBytes(StandardCharsets.US_ASCII)), stream(out),
        stream(err)).execute(args);
  }

  public String stdout() {
    return out.toString(StandardCharsets.UTF_8);
  }

  public String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  /** Forgets what was captured, before the next run of a test. */
  public void reset() {
    out.reset();
    err.reset();
  }

  private static PrintStream stream(ByteArrayOutputStream sink) {
    return new PrintStream(sink, true, StandardCharsets.UTF_8);
  }
}
