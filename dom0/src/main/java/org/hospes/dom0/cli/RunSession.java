package org.hospes.dom0.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.machine.HostLink;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The process's side of one run, as the run loop sees it between slices ({@link HostLink}):
 *
 * <ul>
 *   <li>Ctrl-C or SIGTERM: a signal handler asks the run loop to stop at the next slice
 *       boundary; the command prints its stats, writes its files and exits with 128 plus the
 *       signal's number (130, 143), the status --stats-json records too. A second signal (a
 *       second or more later: a repeat within a second is the same request sent twice) ends
 *       the process at once. Other ways the JVM shuts down (SIGHUP) go through a shutdown hook
 *       that waits for the same winding-up, so a stopped run loses nothing;
 *   <li>stdout gone (a reader such as {@code head} closed the pipe): the run stops, at the
 *       next write to it or, when the guest is quiet, once a watching thread finds that the
 *       pipe has no reader left ({@link PipeReaders});
 *   <li>stdin: forwarded to the guest's console as QEMU's {@code -serial stdio} does. In a
 *       terminal it is put in raw mode (keys go to the guest at once, unechoed) and the escape
 *       key Ctrl-] ends the run; piped input is forwarded as it is.
 * </ul>
 *
 * <p>Input is read by a daemon thread and handed to the guest only on the run thread, so the
 * machine is never touched from two threads.
 */
final class RunSession implements HostLink, AutoCloseable {

  /** Ctrl-]: ends the run from a terminal, as for xl console and telnet. */
  static final int ESCAPE = 0x1D;
  /** How long the shutdown hook waits for the run to wind up before the JVM goes anyway. */
  private static final long HOOK_WAIT_SECONDS = 30;
  private static final byte[] EOF = new byte[0];
  /** A repeat of the stopping signal sooner than this is the same request, not an insistence. */
  private static final long REPEAT_NANOS = 1_000_000_000L;
  /**
   * How often stdout is checked for a gone reader: checkError flushes, and run-many asks after
   * every scheduling decision. Only when the run stops depends on it, never what it computes.
   */
  private static final long OUTPUT_CHECK_NANOS = 20_000_000;
  /**
   * How often the watching thread looks for stdout's reader in /proc: a quiet guest's run
   * ends this long at most after the reader went. Only when the run stops depends on it.
   */
  private static final long PIPE_WATCH_MILLIS = 200;

  /** Where input goes: returns how many of the bytes the guest's console took. */
  @FunctionalInterface
  interface InputSink {
    int accept(byte[] bytes);
  }

  private final CliStreams streams;
  private final CountDownLatch finished = new CountDownLatch(1);
  private final BlockingQueue<byte[]> input = new LinkedBlockingQueue<>();
  private final Thread hook;
  private final Terminal terminal;
  private volatile String stopReason;
  /** The number of the signal that stopped the run, or 0. */
  private volatile int signal;
  /** When the first signal came (host time: it decides only whether to halt, never a count). */
  private volatile long firstSignalNanos;
  private final List<Runnable> signalRestores = new ArrayList<>();
  private InputSink sink;
  private byte[] pending = new byte[0];
  private boolean inputEnded;
  private volatile boolean outputGone;
  private long lastOutputCheck = System.nanoTime();

  private RunSession(CliStreams streams, Terminal terminal) {
    this.streams = streams;
    this.terminal = terminal;
    this.hook = new Thread(this::onShutdown, "hospes-shutdown");
  }

  /**
   * Starts watching for signals and, when the streams have input, reading it. Input goes
   * nowhere until {@link #forwardInputTo} names the guest's console.
   */
  static RunSession open(CliStreams streams) {
    return open(streams, true);
  }

  /** As {@link #open(CliStreams)}; with {@code forwardInput} false stdin is left alone. */
  static RunSession open(CliStreams streams, boolean forwardInput) {
    boolean input = forwardInput && streams.in() != null;
    Terminal terminal = input && streams.process() ? Terminal.rawIfTty() : null;
    RunSession s = new RunSession(streams, terminal);
    Runtime.getRuntime().addShutdownHook(s.hook);
    if (streams.process()) {
      s.trapSignals();
      s.watchStdoutPipe();
    }
    if (input) {
      if (terminal != null) {
        streams.err().println("hospes: the terminal is the guest's console; Ctrl-] or Ctrl-C"
            + " ends the run");
        streams.err().flush();
      }
      Thread reader = new Thread(() -> pump(s, streams.in()), "hospes-stdin");
      reader.setDaemon(true);
      reader.start();
    } else {
      s.inputEnded = true;
    }
    return s;
  }

  /**
   * stdout for the guest's console: fails with an IOException once stdout's reader is gone, so
   * a device stops writing into a closed pipe at once (a 16550 then acts as unplugged), and
   * the run stops at the next slice.
   */
  OutputStream guestOutput() {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        streams.out().write(b, off, len);
        checkOutput();
      }

      @Override
      public void flush() throws IOException {
        checkOutput();
      }
    };
  }

  /**
   * Watches the process's stdout, when it is a pipe, for its reader going away while nothing
   * is written to it: the run then stops as it does at a write that fails. A thread of its own
   * (the first look goes through all of /proc, and none of it belongs on the start-up path or
   * in the run loop); it ends with the session.
   */
  private void watchStdoutPipe() {
    Thread watch = new Thread(() -> {
      PipeReaders readers = PipeReaders.ofStdout();
      if (readers == null) {
        return; // not a pipe, or its reader cannot be seen: only a write can tell
      }
      try {
        while (!finished.await(PIPE_WATCH_MILLIS, TimeUnit.MILLISECONDS)) {
          if (readers.gone()) {
            outputGone = true;
            requestStop(StdoutStream.describeFailure(streams.out()));
            return;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "hospes-stdout-watch");
    watch.setDaemon(true);
    watch.start();
  }

  private void checkOutput() throws IOException {
    if (streams.out().checkError()) { // checkError flushes
      outputGone = true;
      throw new IOException(StdoutStream.describeFailure(streams.out()));
    }
  }

  /** Sends input to this console from now on. */
  void forwardInputTo(InputSink sink) {
    this.sink = sink;
  }

  /**
   * Catches SIGINT and SIGTERM, so that the run ends with the status a shell expects and the
   * stats record it. A signal the process inherited as ignored (a background job's SIGINT)
   * stays ignored.
   */
  private void trapSignals() {
    StartupSignals.taken();
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        Signal sig = new Signal(name);
        SignalHandler old = Signal.handle(sig, this::onSignal);
        if (old == SignalHandler.SIG_IGN) {
          Signal.handle(sig, old);
        } else {
          signalRestores.add(() -> Signal.handle(sig, old));
        }
      } catch (IllegalArgumentException e) {
        // This JVM keeps the signal (-Xrs, or an unknown name): the shutdown hook stands in.
      }
    }
  }

  private void onSignal(Signal sig) {
    long now = System.nanoTime();
    if (signal != 0 && now - firstSignalNanos < REPEAT_NANOS) {
      // The same event delivered twice: `timeout` and `kill -- -PGID` signal the process and
      // then its group, so one stop request arrives as two signals microseconds apart. Taking
      // the second as "the user insists" would halt before the stats are written.
      return;
    }
    if (signal != 0) {
      // A second signal: the user insists, and the run may be stuck outside the run loop.
      if (terminal != null) {
        terminal.restore();
      }
      Runtime.getRuntime().halt(128 + sig.getNumber());
    }
    firstSignalNanos = now;
    signal = sig.getNumber();
    requestStop("interrupted (SIG" + sig.getName() + ")");
  }

  /**
   * The run was stopped because stdout could not be written (a full device), not because its
   * reader went away: a failure, status 1, as when the guest ended first and only the flush
   * found the error. Which of the two came first depends on how fast the host ran the guest
   * against the output check's 20 ms, so the status must not.
   */
  private volatile boolean writeErrorStop;

  @Override
  public int stopStatus() {
    int s = signal;
    if (s != 0) {
      return 128 + s;
    }
    return writeErrorStop ? ExitStatus.INTERNAL_ERROR : ExitStatus.STOPPED;
  }

  /** Asks the run to stop at the next slice boundary (first reason wins). */
  void requestStop(String reason) {
    if (stopReason == null) {
      stopReason = reason;
    }
    input.offer(EOF.clone()); // wakes awaitInput; an empty chunk is not end of input
  }

  @Override
  public String afterSlice() {
    for (byte[] chunk; (chunk = input.poll()) != null; ) {
      take(chunk);
    }
    deliver();
    long now = System.nanoTime();
    if (stopReason == null && (outputGone || now - lastOutputCheck > OUTPUT_CHECK_NANOS
        && streams.out().checkError())) {
      // stdout's reader went away (EPIPE), or the device is full: nobody will see what the
      // guest prints any more.
      stopReason = StdoutStream.describeFailure(streams.out());
      writeErrorStop = StdoutStream.isWriteError(streams.out());
    }
    if (now - lastOutputCheck > OUTPUT_CHECK_NANOS) {
      lastOutputCheck = now;
    }
    return stopReason;
  }

  @Override
  public boolean awaitInput() {
    while (stopReason == null) {
      if (pending.length > 0 && deliver() > 0) {
        return true;
      }
      if (inputEnded || sink == null) {
        return false;
      }
      try {
        byte[] chunk = input.poll(100, TimeUnit.MILLISECONDS);
        if (chunk != null) {
          take(chunk);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  /** Stats and files are written: lets a waiting shutdown hook end the JVM. */
  @Override
  public void close() {
    if (stopReason == null && (outputGone || streams.out().checkError())) {
      // The run ended on its own (a guest that wrote and then exited before the next slice's
      // check), so no stop line says that what it wrote went nowhere: say it here.
      streams.err().println("hospes: " + StdoutStream.describeFailure(streams.out())
          + ": the guest's output was lost");
      streams.err().flush();
    }
    finished.countDown();
    signalRestores.forEach(Runnable::run);
    signalRestores.clear();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // The JVM is shutting down: the hook is running and now returns.
    }
    if (terminal != null) {
      terminal.restore();
    }
  }

  private void take(byte[] chunk) {
    if (chunk == EOF) {
      inputEnded = true;
      return;
    }
    byte[] joined = Arrays.copyOf(pending, pending.length + chunk.length);
    System.arraycopy(chunk, 0, joined, pending.length, chunk.length);
    pending = joined;
  }

  /** Hands pending input to the guest as far as its console takes it; returns bytes taken. */
  private int deliver() {
    if (sink == null || pending.length == 0) {
      return 0;
    }
    int n = sink.accept(pending);
    pending = Arrays.copyOfRange(pending, n, pending.length);
    return n;
  }

  private void onShutdown() {
    requestStop("interrupted (the JVM is shutting down)");
    try {
      finished.await(HOOK_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (terminal != null) {
      terminal.restore();
    }
  }

  /** Reads stdin until it ends; in a terminal the escape key ends the run instead. */
  private static void pump(RunSession s, InputStream in) {
    byte[] buf = new byte[4096];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        int end = n;
        if (s.terminal != null) {
          for (int i = 0; i < n; i++) {
            if (buf[i] == ESCAPE) {
              end = i;
              break;
            }
          }
        }
        if (end > 0) {
          s.input.offer(Arrays.copyOf(buf, end));
        }
        if (end < n) {
          s.requestStop("escape key (Ctrl-])");
          return;
        }
      }
    } catch (IOException e) {
      // A broken stdin is the end of input, as for a pipe that closed.
    }
    s.input.offer(EOF);
  }

  /** A terminal on stdin put in raw mode with stty, and put back as it was. */
  static final class Terminal {
    private final String saved;
    private boolean restored;

    private Terminal(String saved) {
      this.saved = saved;
    }

    /** Raw mode if stdin is a terminal (stty succeeds on it), else null. */
    static Terminal rawIfTty() {
      if (!maybeTty()) {
        return null;
      }
      String saved = stty("-g");
      if (saved == null) {
        return null;
      }
      // Keys reach the guest at once and unechoed, CR stays CR, output keeps its newline
      // translation, and Ctrl-C still signals Hospes (which then stops the run cleanly).
      if (stty("-ignbrk", "-brkint", "-parmrk", "-istrip", "-inlcr", "-igncr", "-icrnl", "-ixon",
          "opost", "-echo", "-echonl", "-icanon", "-iexten", "cs8", "-parenb", "min", "1",
          "time", "0") == null) {
        return null;
      }
      return new Terminal(saved.strip());
    }

    synchronized void restore() {
      if (!restored) {
        restored = true;
        stty(saved);
      }
    }

    /**
     * False when stdin is certainly not a terminal: on Linux its /proc link names a pipe, a
     * socket, /dev/null or a file outside /dev. Asking stty starts a process, which is a fair
     * part of what a short run costs, and a benchmark's or a script's stdin is one of these.
     * Where the link cannot be read, stty decides.
     */
    private static boolean maybeTty() {
      String target;
      try {
        target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/0"))
            .toString();
      } catch (IOException | UnsupportedOperationException | SecurityException e) {
        return true;
      }
      return target.startsWith("/dev/") && !target.equals("/dev/null");
    }

    /** Runs stty on the inherited stdin; its output, or null if it failed (not a tty). */
    private static String stty(String... args) {
      String[] cmd = new String[args.length + 1];
      cmd[0] = "stty";
      System.arraycopy(args, 0, cmd, 1, args.length);
      try {
        Process p = new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.INHERIT)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
        byte[] out = p.getInputStream().readAllBytes();
        return p.waitFor() == 0 ? new String(out, java.nio.charset.StandardCharsets.US_ASCII)
            : null;
      } catch (IOException e) {
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
  }
}
