package org.hospes.dom0.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.HostClient;
import org.jline.terminal.Terminal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code hospes console DOMAIN}: xl console. */
@Command(name = "console", mixinStandardHelpOptions = true,
    description = {"Attaches to a domain's console: what the guest wrote lately, then what it"
        + " writes; keys go to the guest (its PV console, or COM1 for a bare HVM kernel),"
        + " Ctrl-C among them, as with xl console.",
      "Ctrl-] detaches (the domain runs on); so does the end of piped input, once the guest"
          + " has read it and is idle again (what it wrote in answer is shown). The console"
          + " ends when the domain does (status 0); when the host stops underneath it, it says"
          + " so (status 1)."})
final class ConsoleCommand implements Callable<Integer> {
  /** Ctrl-], as for xl console and telnet. */
  static final int ESCAPE = 0x1D;

  private final CliStreams streams;

  @Mixin
  HostDirOption dir = new HostDirOption();

  @Parameters(paramLabel = "DOMAIN", description = "The domain's name or ID.")
  String domain;

  ConsoleCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    return dir.run(streams, host -> {
      boolean ended = false; // the host ended the stream: its domain ended, or the host did
      String name = domain;
      try (HostClient.Console c = host.console(domain)) {
        name = c.name();
        Terminal terminal = streams.process() && System.console() != null
            ? RawTerminal.system() : null;
        RawTerminal.Mode raw = terminal == null ? null : RawTerminal.enter(terminal);
        // In the terminal, output processing is off: each line's CR is written here, once.
        OutputStream screen = terminal == null ? streams.out()
            : new RawTerminal.CrLf(streams.out());
        if (terminal != null) {
          streams.err().print("hospes: attached to " + c.name() + "; Ctrl-] detaches\r\n");
          streams.err().flush();
        }
        InputStream keys = terminal != null ? terminal.input() : streams.in();
        try {
          Thread reader = new Thread(() -> pumpKeys(keys, c, detached),
              "hospes-console-keys");
          reader.setDaemon(true);
          if (keys != null) {
            reader.start();
          }
          if (streams.process() && terminal == null) {
            watchStdoutPipe(c, stdoutGone);
          }
          byte[] buf = new byte[4096];
          int n;
          while ((n = c.in().read(buf)) > 0) {
            screen.write(buf, 0, n);
            screen.flush();
            // A PrintStream keeps a failed write to itself: stdout's reader went away (| head).
            if (streams.out().checkError()) {
              stdoutGone.set(true);
              break;
            }
          }
          ended = n < 0 && !detached.get();
        } catch (IOException e) {
          // Detached (our key reader closed the connection, or stdout's reader went away) or
          // the host went away (a killed host resets the connection).
          ended = !detached.get();
        } finally {
          if (terminal != null) {
            raw.close();
            terminal.close();
          }
        }
      } catch (IOException e) {
        // Closing a connection that is already gone.
      }
      // Not Ctrl-] nor a failed stdout: the end of the stream says the domain ended or the
      // input was answered, unless the host is stopping or gone, which the user is told (the
      // domain did not end of itself), status 1, rather than a silent 0.
      if (ended && !stdoutGone.get() && !host.isRunningOn()) {
        streams.error("the host stopped; detached from " + name);
        return ExitStatus.INTERNAL_ERROR;
      }
      if (stdoutGone.get()) {
        // As run says it: the guest runs on, what it writes from now on is not shown here.
        streams.error(StdoutStream.describeFailure(streams.out()) + ": detached from " + domain);
        // A reader that went away did not want the rest; a full device lost what was wanted.
        return StdoutStream.isWriteError(streams.out()) ? ExitStatus.INTERNAL_ERROR
            : ExitStatus.HALTED;
      }
      return ExitStatus.HALTED;
    });
  }

  /** Set by Ctrl-]: the user detached, so the stream's end says nothing of the host. */
  private final java.util.concurrent.atomic.AtomicBoolean detached =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** Set once stdout's reader is found gone: the console detached because of it. */
  private final java.util.concurrent.atomic.AtomicBoolean stdoutGone =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * {@code hospes console echo | head -1} while the guest is quiet: no write fails, and the
   * console stayed attached until the guest wrote again. A thread looks for the pipe's reader
   * ({@link PipeReaders}) and detaches once it is gone, as a failed write does.
   */
  private static void watchStdoutPipe(HostClient.Console c,
      java.util.concurrent.atomic.AtomicBoolean gone) {
    Thread watch = new Thread(() -> {
      PipeReaders readers = PipeReaders.ofStdout();
      if (readers == null) {
        return;
      }
      try {
        while (c.channel().isOpen()) {
          Thread.sleep(PIPE_WATCH_MILLIS);
          if (readers.gone()) {
            gone.set(true);
            c.close();
            return;
          }
        }
      } catch (InterruptedException | IOException e) {
        // Ends with the console.
      }
    }, "hospes-stdout-watch");
    watch.setDaemon(true);
    watch.start();
  }

  /** How often the watching thread looks in /proc: only when a detach happens depends on it. */
  private static final long PIPE_WATCH_MILLIS = 200;

  /** Keys to the guest until Ctrl-] or the end of input, which detach. */
  private static void pumpKeys(InputStream keys, HostClient.Console c,
      java.util.concurrent.atomic.AtomicBoolean detached) {
    byte[] buf = new byte[1024];
    OutputStream out = c.out();
    boolean escaped = false;
    try {
      for (int n; (n = keys.read(buf)) >= 0; ) {
        int end = n;
        for (int i = 0; i < n; i++) {
          if (buf[i] == ESCAPE) {
            end = i;
            break;
          }
        }
        if (end > 0) {
          out.write(buf, 0, end);
        }
        if (end < n) {
          escaped = true; // Ctrl-]: detach at once
          detached.set(true);
          break;
        }
      }
      if (!escaped) {
        // The end of piped input: half-close, so the host detaches once the guest has read the
        // input and answered (or ended) and it has sent all that; closing at once would drop
        // what is still to come.
        c.channel().shutdownOutput();
        return;
      }
    } catch (IOException e) {
      // The connection ended first.
    }
    try {
      c.close();
    } catch (IOException e) {
      // Already closed.
    }
  }
}
