package org.hospes.dom0.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.DomainInfo;
import org.hospes.dom0.toolstack.host.HostClient;
import org.hospes.dom0.toolstack.host.HostException;
import org.hospes.dom0.toolstack.host.HostSnapshot;
import org.hospes.dom0.toolstack.host.Wire;
import org.jline.terminal.Terminal;
import org.jline.utils.InfoCmp;
import org.jline.utils.NonBlockingReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code hospes top}: live per-domain rates, as xentop shows them. */
@Command(name = "top", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Shows each domain's rates over the last interval, refreshed: CPU(%%) (its"
        + " share of the host's virtual CPU time), and instructions, hypercalls, event upcalls"
        + " and VM exits per second of real time. 'q' quits.",
      "With --batch it prints N plain tables one after another (as xentop -b -i N). Without"
          + " a terminal (input or output redirected or piped) there is no 'q' to read and no"
          + " screen to redraw, so it does the same: one table, or N with --iterations.",
      "A host that stops while top watches is said so, status 1."})
final class TopCommand implements Callable<Integer> {
  private final CliStreams streams;

  @Mixin
  HostDirOption dir = new HostDirOption();

  @Option(names = {"-b", "--batch"}, description = "Plain output, no screen control.")
  boolean batch;

  @Option(names = {"-n", "--iterations"}, paramLabel = "N",
      description = "Stop after N tables (default: until 'q'; 1 with --batch or without a"
          + " terminal).")
  Long iterations;

  @Option(names = {"-d", "--delay"}, paramLabel = "SECONDS", defaultValue = "1",
      description = "Interval between tables (default ${DEFAULT-VALUE} s).")
  double delay;

  TopCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    if (!(delay > 0 && delay <= 3600)) {
      streams.error("--delay must be more than 0 and at most 3600 seconds, got " + delay);
      return ExitStatus.USAGE;
    }
    if (iterations != null && iterations < 1) {
      streams.error("--iterations must be at least 1, got " + iterations);
      return ExitStatus.USAGE;
    }
    // Without a terminal the screen mode has no 'q' to read: it ran until killed (hospes top
    // < /dev/null, hospes top | grep). It is batch mode then, as procps top -b and xentop -b
    // are what a script runs; its default of one table keeps a forgotten -n from never ending.
    boolean screen = !batch && streams.process() && System.console() != null;
    int n = iterations != null ? (int) Math.min(iterations, Integer.MAX_VALUE) : screen
        ? Integer.MAX_VALUE : 1;
    return dir.run(streams, host -> screen ? screen(host, n) : plain(host, n));
  }

  private int plain(HostClient host, int n) throws HostException {
    HostSnapshot last = sample(host);
    for (int i = 0; i < n; i++) {
      if (!sleep()) {
        break;
      }
      HostSnapshot now = resample(host);
      print(last, now, streams.out());
      streams.out().println();
      streams.out().flush();
      // A reader gone (| head) or a full disk: no table can be shown any more, and -n 1000
      // would have gone on sampling for nothing. main says a write error and fails.
      if (streams.out().checkError()) {
        break;
      }
      last = now;
    }
    return ExitStatus.HALTED;
  }

  private int screen(HostClient host, int n) throws HostException {
    try (Terminal t = RawTerminal.system(); RawTerminal.Mode raw = RawTerminal.enter(t)) {
      NonBlockingReader keys = t.reader();
      HostSnapshot last = sample(host);
      for (int i = 0; i < n; i++) {
        int key = keys.read((long) (delay * 1000));
        if (key == 'q' || key == 'Q' || key == 3) {
          break;
        }
        HostSnapshot now = resample(host);
        t.puts(InfoCmp.Capability.clear_screen);
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        PrintStream p = new PrintStream(b, true, java.nio.charset.StandardCharsets.UTF_8);
        p.println("hospes top - 'q' quits");
        print(last, now, p);
        // Output processing is off (RawTerminal), so the CRs are ours to write, once.
        t.writer().print(b.toString(java.nio.charset.StandardCharsets.UTF_8)
            .replace("\n", "\r\n"));
        t.flush();
        last = now;
      }
    } catch (IOException e) {
      throw new HostException("cannot use the terminal: " + e.getMessage(), false);
    }
    return ExitStatus.HALTED;
  }

  private boolean sleep() {
    try {
      Thread.sleep((long) (delay * 1000));
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static HostSnapshot sample(HostClient host) throws HostException {
    return ListCommand.snapshot(host.call(Wire.request("list")));
  }

  /**
   * A sample after the first: a host that answered once and no longer does stopped (or died)
   * while top watched. That is said as such, status 1, as xentop fails once it can no longer
   * read the statistics; "no host is running (start one ...)", status 2, read as if top had
   * been run with no host.
   */
  private static HostSnapshot resample(HostClient host) throws HostException {
    try {
      return sample(host);
    } catch (HostException.NoHost e) {
      throw new HostException("the host stopped while top was watching", false);
    } catch (HostException e) {
      throw new HostException("the host went away while top was watching: " + e.getMessage(),
          false);
    }
  }

  /** One table of rates between two snapshots; domains new since {@code a} count from 0. */
  static void print(HostSnapshot a, HostSnapshot b, PrintStream out) {
    Map<Integer, DomainInfo> before = new HashMap<>();
    for (DomainInfo d : a.domains()) {
      before.put(d.domid(), d);
    }
    double wall = Math.max(b.wallNanos() - a.wallNanos(), 1) / 1e9;
    long virt = Math.max(b.virtualCycles() - a.virtualCycles(), 1);
    out.printf(Locale.ROOT, "%-20s %5s %6s %10s %7s %9s %12s %10s %10s %10s%n", "NAME", "ID",
        "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "INSNS/s", "HCALLS/s", "EVENTS/s", "EXITS/s");
    for (DomainInfo d : b.domains()) {
      DomainInfo p = before.get(d.domid());
      if (p == null || !p.name().equals(d.name())) {
        p = new DomainInfo(d.name(), d.domid(), 0, 0, "", "", 0, 0, 0, 0, 0, 0, 0);
      }
      out.printf(Locale.ROOT, "%-20s %5d %6s %10.1f %7.1f %9d %12.0f %10.0f %10.0f %10.0f%n",
          d.name(), d.domid(), d.state(), d.cpuSeconds(),
          100.0 * (d.runningCycles() - p.runningCycles()) / virt, d.memKiB(),
          (d.instructions() - p.instructions()) / wall, (d.hypercalls() - p.hypercalls()) / wall,
          (d.events() - p.events()) / wall, (d.exits() - p.exits()) / wall);
    }
  }
}
