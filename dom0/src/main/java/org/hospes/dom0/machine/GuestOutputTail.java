package org.hospes.dom0.machine;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Passes a guest's output through and keeps its last bytes, so that a crash report can repeat
 * what the guest said last: when a kernel dies before its console is up, that tail (often
 * empty, or an early-printk line) together with the EIP and the fault is all the user has.
 * One per machine, on every path guest output takes (serial, console_io, PV console).
 */
public final class GuestOutputTail extends OutputStream {
  /** Bytes kept: enough for the last several lines. */
  public static final int CAPACITY = 4096;
  /** Lines repeated in a crash report. */
  public static final int LINES = 10;

  private final OutputStream out;
  private final byte[] ring = new byte[CAPACITY];
  private long written;

  public GuestOutputTail(OutputStream out) {
    this.out = out;
  }

  @Override
  public void write(int b) throws IOException {
    record(b);
    out.write(b);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    record(b, off, len);
    out.write(b, off, len);
  }

  private void record(int b) {
    ring[(int) (written++ % CAPACITY)] = (byte) b;
  }

  private void record(byte[] b, int off, int len) {
    for (int i = Math.max(0, len - CAPACITY); i < len; i++) {
      ring[(int) ((written + i) % CAPACITY)] = b[off + i];
    }
    written += len;
  }

  /**
   * A stream for an output path that does not go to this tail's own stream (console_io goes to
   * the hypervisor's log): its bytes are kept here as the guest wrote them, then passed on to
   * {@code next}.
   */
  public OutputStream recordingInto(OutputStream next) {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        record(b);
        next.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        record(b, off, len);
        next.write(b, off, len);
      }

      @Override
      public void flush() throws IOException {
        next.flush();
      }
    };
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  /** Bytes the guest has written in all. */
  public long written() {
    return written;
  }

  /** The last {@code maxLines} non-empty lines, control characters shown as '.'. */
  public List<String> lastLines(int maxLines) {
    int n = (int) Math.min(written, CAPACITY);
    StringBuilder text = new StringBuilder(n);
    for (long i = written - n; i < written; i++) {
      int c = ring[(int) (i % CAPACITY)] & 0xFF;
      text.append(c == '\n' || (c >= 0x20 && c < 0x7F) ? (char) c : c == '\r' || c == '\t'
          ? ' ' : '.');
    }
    String kept = text.toString();
    if (written > CAPACITY) {
      // The ring's start is mid-line: drop that fragment.
      kept = kept.substring(kept.indexOf('\n') + 1);
    }
    List<String> lines = new ArrayList<>();
    for (String line : kept.split("\n")) {
      if (!line.isBlank()) {
        lines.add(line.stripTrailing());
      }
    }
    return lines.subList(Math.max(0, lines.size() - maxLines), lines.size());
  }

  /**
   * Prints what the guest said last under a crash line, so the crash is never silent:
   * {@code hospes: last guest output (N of M lines shown):} and the lines, or a line saying it
   * wrote nothing.
   */
  public void report(PrintStream diagnostics) {
    try {
      out.flush();
    } catch (IOException e) {
      // The guest's stream failing must not hide the crash report.
    }
    List<String> lines = lastLines(LINES);
    if (lines.isEmpty()) {
      diagnostics.println("hospes: the guest wrote nothing (serial, console_io or PV console)"
          + " before it stopped");
    } else {
      diagnostics.println("hospes: last guest output:");
      for (String line : lines) {
        diagnostics.println("  | " + line);
      }
    }
    diagnostics.flush();
  }
}
