package org.hospes.dom0.cli;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UnsupportedEncodingException;
import java.nio.charset.Charset;

/**
 * The process's stdout as a PrintStream that remembers why a write to it failed. PrintStream
 * keeps only a flag ({@link #checkError}), so a reader that went away ({@code | head}) and a
 * device that is full ({@code > /dev/full}, a full disk) looked alike and were both reported
 * as "stdout was closed". Buffered and flushed as {@code System.out} is (128 bytes, autoflush),
 * in the same charset.
 */
final class StdoutStream extends PrintStream {

  private final Recorder recorder;

  private StdoutStream(Recorder recorder, String charset) throws UnsupportedEncodingException {
    super(new BufferedOutputStream(recorder, 128), true, charset);
    this.recorder = recorder;
  }

  /** fd 1, for main; it becomes {@code System.out} too, so that there is one buffer. */
  static PrintStream ofProcess() {
    String enc = System.getProperty("sun.stdout.encoding");
    try {
      StdoutStream s = new StdoutStream(new Recorder(new FileOutputStream(FileDescriptor.out)),
          enc != null ? enc : Charset.defaultCharset().name());
      System.setOut(s);
      return s;
    } catch (UnsupportedEncodingException e) {
      return System.out; // a charset the JVM named but cannot make: keep the JVM's stream
    }
  }

  /**
   * True once bytes were written to fd 1 whose last was not a line feed ({@code prompt> },
   * a guest cut off mid-line): something written to the same place next continues that line.
   * {@link #lineEnded} says another stream ended it.
   */
  boolean midLine() {
    return recorder.midLine;
  }

  /** The line fd 1 left unfinished was ended on the same terminal or pipe by another stream. */
  void lineEnded() {
    recorder.midLine = false;
  }

  /** The first write to fd 1 that failed, or null. */
  IOException failure() {
    return recorder.failure;
  }

  /**
   * Why writing {@code out} failed, in words for a stop line: "stdout was closed" when its
   * reader went away (EPIPE; EBADF for a closed descriptor) or the cause is unknown (a
   * captured stream), else the system's reason ("write error on stdout: No space left on
   * device").
   */
  static String describeFailure(PrintStream out) {
    return isWriteError(out) ? "write error on stdout: "
        + ((StdoutStream) out).failure().getMessage() : "stdout was closed";
  }

  /**
   * True when a write to {@code out} failed for a reason other than its reader going away:
   * output nobody reads any more may go, but output that was wanted and could not be written
   * is a failure of the command.
   */
  static boolean isWriteError(PrintStream out) {
    if (!(out instanceof StdoutStream s) || s.failure() == null) {
      return false;
    }
    String why = s.failure().getMessage();
    return why != null && !why.equals("Broken pipe") && !why.equals("Bad file descriptor")
        && !why.equals("Stream Closed");
  }

  /**
   * The process's status once {@code out} is flushed: a command that succeeded while what it
   * printed could not be written ({@code hospes list > /dev/full}) says so and fails with 1,
   * as GNU tools do. A failing command keeps its status (run and console have said it).
   */
  static int statusAfterFlush(PrintStream out, PrintStream err, int status) {
    out.flush();
    if (status == 0 && isWriteError(out)) {
      err.println("hospes: " + describeFailure(out));
      err.flush();
      return 1;
    }
    return status;
  }

  /**
   * The status the process will end with for a command that ends with {@code status}, as
   * {@link #statusAfterFlush} will make it (without saying anything): for what a command
   * records before it returns (--stats-json's run.status), so that the record and the process
   * agree. Flushes {@code out}: output still buffered counts.
   */
  static int statusOnceFlushed(PrintStream out, int status) {
    out.flush();
    return status == 0 && isWriteError(out) ? 1 : status;
  }

  /** Passes writes through whole and keeps the first exception. */
  private static final class Recorder extends OutputStream {
    private final OutputStream out;
    private volatile IOException failure;
    /** The last byte written to fd 1 was not a line feed: its line is not finished. */
    private volatile boolean midLine;

    Recorder(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
      try {
        out.write(b);
        midLine = b != '\n';
      } catch (IOException e) {
        throw keep(e);
      }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      try {
        out.write(b, off, len);
        if (len > 0) {
          midLine = b[off + len - 1] != '\n';
        }
      } catch (IOException e) {
        throw keep(e);
      }
    }

    @Override
    public void flush() throws IOException {
      try {
        out.flush();
      } catch (IOException e) {
        throw keep(e);
      }
    }

    @Override
    public void close() throws IOException {
      out.close();
    }

    private IOException keep(IOException e) {
      if (failure == null) {
        failure = e;
      }
      return e;
    }
  }
}
