package org.hospes.dom0.cli;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Raw mode for top and console, with the terminal's output processing off as well, so that
 * every line ends in exactly one CR LF on the screen.
 *
 * <p>Keys are bytes (ISIG off, {@link #withoutSignals}). JLine's {@code enterRawMode} turns off
 * canonical input and echo but leaves OPOST and
 * ONLCR on, so the terminal itself turns each LF into CR LF; top and console wrote CR LF on top
 * of that and the terminal received CR CR LF. With OPOST off (as xl console's cfmakeraw does)
 * what is written is what arrives, and {@link CrLf} makes each line end CR LF once: a guest's
 * bare LF gets its CR, a guest's CR LF passes as it is.
 */
final class RawTerminal {
  private RawTerminal() {}

  /** The signals that end a process from outside while its terminal is raw. */
  private static final String[] ENDING_SIGNALS = {"INT", "TERM", "HUP"};

  /**
   * The process's terminal, for {@link #enter}. JLine's native signal handling is left off: it
   * set SIGINT to the system's default action, so {@code kill -INT} ended top or console
   * at once, without the JVM's shutdown or any finally block, and left the terminal raw (no
   * echo, no line editing, no CR on LF). Without it SIGINT stays hospes's own
   * ({@link StartupSignals}), which says the command stopped and exits through the shutdown
   * hooks. (What JLine handled besides, window size changes, neither command uses.)
   */
  static Terminal system() throws java.io.IOException {
    return TerminalBuilder.builder().system(true).nativeSignals(false).build();
  }

  /**
   * Puts {@code t} in raw mode without output processing, until the returned mode is closed or
   * the process ends. The attributes come back on every way out: {@link Mode#close} (a key, the
   * host gone, an error), a SIGINT, SIGTERM or SIGHUP from outside (restored before the
   * signal's own handler says anything, so that its line is written in cooked mode), and any
   * other exit through the JVM's shutdown.
   */
  static Mode enter(Terminal t) {
    Attributes saved = t.enterRawMode();
    Mode mode = new Mode(t, saved);
    t.setAttributes(withoutSignals(withoutOutputProcessing(t.getAttributes())));
    return mode;
  }

  /** Raw mode on a terminal, and what undoes it. */
  static final class Mode implements AutoCloseable {
    private final Terminal terminal;
    private final Attributes saved;
    private final java.util.concurrent.atomic.AtomicBoolean restored =
        new java.util.concurrent.atomic.AtomicBoolean();
    private final Thread hook;
    private final java.util.List<Runnable> untrap = new java.util.ArrayList<>();
    /** Each trapped signal's handler before ours (set once Signal.handle has returned it). */
    private final java.util.Map<String, SignalHandler> olds =
        new java.util.concurrent.ConcurrentHashMap<>();

    private Mode(Terminal terminal, Attributes saved) {
      this.terminal = terminal;
      this.saved = saved;
      this.hook = new Thread(this::restore, "hospes-terminal-restore");
      Runtime.getRuntime().addShutdownHook(hook);
      for (String name : ENDING_SIGNALS) {
        trap(name);
      }
    }

    /**
     * Restores {@code saved}, then lets the signal's previous handler act: hospes's own (a stop
     * line and 128 + N), the JVM's (shutdown, 128 + N), or the system's default action (the
     * process ends, 128 + N).
     */
    private void trap(String name) {
      Signal sig;
      SignalHandler old;
      try {
        sig = new Signal(name);
        old = Signal.handle(sig, s -> {
          restore();
          chain(s, untrapped(s));
        });
      } catch (IllegalArgumentException e) {
        return; // the JVM keeps this signal (-Xrs): its exit runs the shutdown hook
      }
      if (old == SignalHandler.SIG_IGN) {
        Signal.handle(sig, old); // ignored before (a background job's SIGINT): stays so
        return;
      }
      olds.put(name, old);
      untrap.add(() -> Signal.handle(sig, old));
    }

    private SignalHandler untrapped(Signal s) {
      return olds.getOrDefault(s.getName(), SignalHandler.SIG_DFL);
    }

    private static void chain(Signal s, SignalHandler old) {
      if (old == SignalHandler.SIG_DFL) {
        // The default action of all three ends the process, as this does, without hooks;
        // raising the signal again is refused once Java no longer handles it.
        Runtime.getRuntime().halt(128 + s.getNumber());
      } else {
        old.handle(s);
      }
    }

    /** Puts the attributes back, once, from whichever way out comes first. */
    private void restore() {
      if (restored.compareAndSet(false, true)) {
        try {
          terminal.setAttributes(saved);
        } catch (RuntimeException | java.io.IOError e) {
          // The terminal is gone (a hang-up): nothing is left to restore.
        }
      }
    }

    @Override
    public void close() {
      restore();
      untrap.forEach(Runnable::run);
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // Closed while the JVM shuts down: the hook has run or is running.
      }
    }
  }

  /**
   * A copy of {@code a} with ISIG off, as cfmakeraw (xl console's) leaves it: Ctrl-C, Ctrl-Z
   * and Ctrl-\ are bytes to read, not signals. JLine's raw mode leaves ISIG on, so Ctrl-C in
   * console killed the client (status 130) rather than reaching the guest, and in top it ended
   * it without its 'q' path; both left the terminal without echo and line editing, as the
   * attributes were never restored.
   */
  static Attributes withoutSignals(Attributes a) {
    Attributes raw = new Attributes(a);
    raw.setLocalFlag(Attributes.LocalFlag.ISIG, false);
    return raw;
  }

  /** A copy of {@code a} with OPOST off (so ONLCR and the other output maps are off too). */
  static Attributes withoutOutputProcessing(Attributes a) {
    Attributes raw = new Attributes(a);
    raw.setOutputFlag(Attributes.OutputFlag.OPOST, false);
    return raw;
  }

  /** Writes each LF as CR LF unless the byte before it was already a CR. */
  static final class CrLf extends FilterOutputStream {
    private int last = -1;

    CrLf(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      if (b == '\n' && last != '\r') {
        out.write('\r');
      }
      out.write(b);
      last = b & 0xFF;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      // Copied in one pass so a console's 4 KiB reads stay one write each.
      byte[] o = new byte[len * 2];
      int n = 0;
      for (int i = off; i < off + len; i++) {
        if (b[i] == '\n' && last != '\r') {
          o[n++] = '\r';
        }
        o[n++] = b[i];
        last = b[i] & 0xFF;
      }
      out.write(o, 0, n);
    }
  }
}
