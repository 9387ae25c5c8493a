package org.hospes.dom0.cli;

import java.util.Set;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C and SIGTERM from the start of {@code main} until a command traps them itself, and again
 * once it has put its own handlers back. The JVM's default handler ended the process with 130 or
 * 143 and said nothing, so a signal in the first half second of {@code hospes run} (loading the
 * plugins, reading the kernel, building the domain) looked like a crash without a word. This
 * handler says, in each command's own words, that the command was stopped, then exits as the
 * JVM would (shutdown hooks run, status 128 plus the signal); a second signal a second or more
 * later halts at once, as the commands' own handlers do.
 *
 * <p>The commands that run guests (run, run-many, demo, study) call {@link #taken} when they
 * trap the signals themselves: until then a signal means no guest has run yet.
 */
final class StartupSignals implements SignalHandler {

  /** The commands whose own handlers call {@link #taken}. */
  private static final Set<String> GUEST_COMMANDS = Set.of("run", "run-many", "demo",
      "study");
  /** A repeat of the signal sooner than this is the same request sent twice (kill -- -PGID). */
  private static final long REPEAT_NANOS = 1_000_000_000L;

  private static volatile boolean taken;

  private final String command;
  private long first;

  private StartupSignals(String command) {
    this.command = command;
  }

  /**
   * Traps SIGINT and SIGTERM for {@code command} (the first argument, or null). A signal the
   * process inherited as ignored (a background job's SIGINT) stays ignored, so that the
   * commands' own traps see it ignored too and leave it so.
   */
  static void install(String command) {
    StartupSignals handler = new StartupSignals(command);
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        Signal sig = new Signal(name);
        if (Signal.handle(sig, handler) == SignalHandler.SIG_IGN) {
          Signal.handle(sig, SignalHandler.SIG_IGN);
        }
      } catch (IllegalArgumentException e) {
        // This JVM keeps the signal (-Xrs): it ends the process as it would anyway.
      }
    }
  }

  /** A command has trapped the signals itself: a guest may run from here on. */
  static void taken() {
    taken = true;
  }

  @Override
  public void handle(Signal sig) {
    synchronized (this) {
      long now = System.nanoTime();
      if (first != 0) {
        if (now - first >= REPEAT_NANOS) {
          Runtime.getRuntime().halt(128 + sig.getNumber()); // the user insists
        }
        return;
      }
      first = now;
    }
    System.err.println(line(command, sig.getName(), !taken));
    System.err.flush();
    System.exit(128 + sig.getNumber());
  }

  /**
   * The stop line, as the command prints its own when stopped later: {@code signal} is INT or
   * TERM; {@code starting} while no guest can have run yet.
   */
  static String line(String command, String signal, boolean starting) {
    String sig = "SIG" + signal;
    boolean guests = command != null && GUEST_COMMANDS.contains(command);
    String when = starting && guests ? " while starting" : "";
    if (command == null || !HospesCli.BY_NAME.containsKey(command)) {
      return "hospes: stopped: interrupted (" + sig + ")";
    }
    return switch (command) {
      case "study" -> "study: stopped (" + sig + ")" + when + (when.isEmpty() ? ""
          : "; no run started");
      case "demo" -> "hospes: demo interrupted (" + sig + ")" + when + (when.isEmpty() ? ""
          : "; nothing was run");
      default -> "hospes: " + command + ": stopped: interrupted (" + sig + ")" + when
          + (when.isEmpty() ? "" : "; no guest ran");
    };
  }
}
