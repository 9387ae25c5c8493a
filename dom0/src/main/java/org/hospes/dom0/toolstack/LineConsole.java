package org.hospes.dom0.toolstack;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * One domain's console as dom0 shows it on a shared terminal: bytes are kept until a newline
 * and then written with the domain's name in front as one write, so that lines of different
 * domains never mix mid-line. Everything the domain wrote is also kept unprefixed.
 */
public final class LineConsole extends OutputStream {
  private final byte[] prefix;
  private final OutputStream sink;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private final ByteArrayOutputStream all;
  /** Gets every byte at once, unprefixed (an attached console), or null. */
  private final OutputStream tap;

  public LineConsole(String name, OutputStream sink) {
    this(name, sink, null, true);
  }

  /**
   * @param tap gets every byte as it is written, unprefixed and unbuffered (a console a user
   *     attached to), or null
   * @param keep whether to keep everything the domain wrote ({@link #bytes}); a long-lived host
   *     keeps its own bounded history instead
   */
  public LineConsole(String name, OutputStream sink, OutputStream tap, boolean keep) {
    this.prefix = ("[" + name + "] ").getBytes(StandardCharsets.UTF_8);
    this.sink = sink;
    this.tap = tap;
    this.all = keep ? new ByteArrayOutputStream() : null;
  }

  @Override
  public void write(int b) {
    if (all != null) {
      all.write(b);
    }
    if (tap != null) {
      try {
        tap.write(b);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    line.write(b);
    if (b == '\n') {
      emit();
    }
  }

  /** Does not end a partial line: only newlines (and {@link #close}) do. */
  @Override
  public void flush() {}

  /** Writes out a partial last line, with a newline so the next domain's line starts clean. */
  @Override
  public void close() {
    if (line.size() > 0) {
      line.write('\n');
      emit();
    }
  }

  /** Everything the domain wrote to its console, without prefixes. */
  public byte[] bytes() {
    return all == null ? new byte[0] : all.toByteArray();
  }

  public String text() {
    return new String(bytes(), StandardCharsets.ISO_8859_1);
  }

  private void emit() {
    if (sink == null) {
      line.reset();
      return;
    }
    byte[] out = new byte[prefix.length + line.size()];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(line.toByteArray(), 0, out, prefix.length, line.size());
    line.reset();
    try {
      synchronized (sink) {
        sink.write(out);
        sink.flush();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
