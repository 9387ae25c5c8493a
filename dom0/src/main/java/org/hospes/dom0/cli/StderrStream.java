package org.hospes.dom0.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's stderr, whose messages start on a line of their own. When stdout and stderr
 * go to the same terminal or pipe and what was written on stdout last did not end its line (a
 * guest's {@code prompt> }, output cut off), a message went on that line:
 * {@code prompt> hospes: k.elf: stopped: interrupted (SIGTERM)}. A line feed is written first
 * then. When the two go to different places (stdout to a file or a pipe, stderr to the
 * terminal) stderr's own lines are whole already, and nothing is added.
 */
final class StderrStream extends OutputStream {

  private final OutputStream err;
  private final StdoutStream stdout;

  private StderrStream(OutputStream err, StdoutStream stdout) {
    this.err = err;
    this.stdout = stdout;
  }

  /**
   * fd 2, for main, made {@code System.err} too; {@code System.err} as it is when stdout is
   * not the process's {@link StdoutStream} or the two do not share a destination.
   */
  static PrintStream ofProcess(PrintStream out) {
    if (!(out instanceof StdoutStream s) || !sameDestination()) {
      return System.err;
    }
    String enc = System.getProperty("sun.stderr.encoding");
    PrintStream err = new PrintStream(new StderrStream(new FileOutputStream(FileDescriptor.err),
        s), true, enc != null ? Charset.forName(enc) : Charset.defaultCharset());
    System.setErr(err);
    return err;
  }

  /** Whether fd 1 and fd 2 are the same terminal, pipe or file (Linux's /proc says). */
  static boolean sameDestination() {
    try {
      return Files.readSymbolicLink(Path.of("/proc/self/fd/1"))
          .equals(Files.readSymbolicLink(Path.of("/proc/self/fd/2")));
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return false; // not known: adding nothing is what was done before
    }
  }

  private void endStdoutsLine() throws IOException {
    if (stdout.midLine()) {
      err.write('\n');
      stdout.lineEnded();
    }
  }

  @Override
  public void write(int b) throws IOException {
    endStdoutsLine();
    err.write(b);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (len > 0) {
      endStdoutsLine();
    }
    err.write(b, off, len);
  }

  @Override
  public void flush() throws IOException {
    err.flush();
  }
}
