package org.hospes.dom0.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

/**
 * The study's progress in a terminal: each finished run's line scrolls up as before, and a bar
 * on the bottom line shows how many of the runs are done. Off a terminal (a pipe, a file, a
 * test) the lines are left alone, so logs stay plain text. JLine says whether stderr's terminal
 * can take cursor controls and how wide it is.
 */
final class StudyProgressBar extends OutputStream {
  private static final Pattern COUNT = Pattern.compile("^study: \\[(\\d+)/(\\d+)\\]");

  private final PrintStream out;
  private final int width;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private boolean barShown;

  StudyProgressBar(PrintStream out, int width) {
    this.out = out;
    this.width = Math.max(20, width);
  }

  /**
   * {@code err} with a bar when the process's terminal takes one (the caller closes it to clear
   * the bar), else {@code err} itself.
   */
  static PrintStream wrap(CliStreams streams) {
    if (!streams.process() || System.console() == null) {
      return streams.err();
    }
    try (Terminal t = TerminalBuilder.builder().system(true).dumb(true).build()) {
      if (Terminal.TYPE_DUMB.equals(t.getType())
          || Terminal.TYPE_DUMB_COLOR.equals(t.getType())) {
        return streams.err();
      }
      // A pseudo-terminal nobody sized (script(1) without a terminal) says 0 columns.
      int width = t.getWidth() > 0 ? t.getWidth() : 80;
      return new PrintStream(new StudyProgressBar(streams.err(), width), true,
          StandardCharsets.UTF_8);
    } catch (java.io.IOException | RuntimeException e) {
      return streams.err();
    }
  }

  @Override
  public synchronized void write(int b) {
    if (b != '\n') {
      line.write(b);
      return;
    }
    String text = line.toString(StandardCharsets.UTF_8);
    line.reset();
    clearBar();
    out.print(text + "\n");
    Matcher m = COUNT.matcher(text);
    if (m.find()) {
      out.print(bar(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), width));
      barShown = true;
    }
    out.flush();
  }

  /** The bar's text for {@code done} of {@code total} runs, at most {@code width} columns. */
  static String bar(int done, int total, int width) {
    String tail = String.format(Locale.ROOT, " %d/%d runs", done, total);
    int cells = Math.max(10, Math.min(50, width - 1 - tail.length() - 2));
    int full = total <= 0 ? cells : (int) ((long) cells * done / total);
    return "[" + "#".repeat(full) + "-".repeat(cells - full) + "]" + tail;
  }

  private void clearBar() {
    if (barShown) {
      out.print("\r\033[K"); // back to the start of the bar's line and erase it
      barShown = false;
    }
  }

  @Override
  public synchronized void close() {
    if (line.size() > 0) {
      write('\n');
    }
    clearBar();
    out.flush();
  }
}
