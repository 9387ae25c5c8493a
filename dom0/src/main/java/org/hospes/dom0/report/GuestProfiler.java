package org.hospes.dom0.report;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.hospes.hv.time.Runstate;
import org.hospes.x86.Cpu;

/**
 * Where the guest's processors are as the host runs them: a thread that reads each vCPU's
 * block address ({@link Cpu#blockEip}) and CPL once per {@link #PERIOD_NANOS} of host time,
 * and a table of the guest functions those addresses lie in ({@link GuestSymbols}). It
 * answers "which guest code costs host time", the question a translator or interpreter change
 * is about; virtual time and the counters of {@code --stats} answer what the guest sees.
 *
 * <p>A vCPU is sampled only while it is running (its runstate; a bare machine's processor
 * always is) and once it has executed an instruction: time the host spends building the
 * domain, in dom0 or with every vCPU blocked is no guest function's. The host time of a VM
 * exit counts for the function whose instruction caused it.
 *
 * <p>The reads are racy by design: the sampler never stops or slows the processor (a plain
 * read of an {@code int} field), so the guest runs exactly as without it and its counts do not
 * change. A sample names the block being run, so the function is the one its first
 * instruction is in. Samples are host time, so they differ from run to run; the virtual-time
 * figures do not.
 */
public final class GuestProfiler implements AutoCloseable {
  /** The sampling period: one millisecond of host time. */
  public static final long PERIOD_NANOS = 1_000_000;
  /** At most this many samples are kept per function table (about four hours at 1 ms). */
  static final long MAX_SAMPLES = 16_000_000;

  /** The label of samples taken with the processor in user mode (CPL 3). */
  static final String USER = "[user mode]";
  /** The label of kernel-mode samples no symbol covers. */
  static final String UNKNOWN = "[no symbol]";

  /** A processor to sample, and its vCPU's runstate (null: a bare machine's, always running). */
  public record Source(Cpu cpu, Runstate runstate) {}

  private final List<Source> cpus;
  private final GuestSymbols symbols;
  private final Map<String, long[]> counts = new HashMap<>();
  private long samples;
  private final Thread thread;
  private volatile boolean stopping;

  private GuestProfiler(List<Source> cpus, GuestSymbols symbols, boolean start) {
    this.cpus = List.copyOf(cpus);
    this.symbols = symbols;
    this.thread = start ? new Thread(this::sampleLoop, "hospes-guest-profiler") : null;
    if (thread != null) {
      thread.setDaemon(true);
      thread.start();
    }
  }

  /** Starts sampling {@code cpus}; {@link #close} stops it. */
  public static GuestProfiler start(List<Source> cpus, GuestSymbols symbols) {
    return new GuestProfiler(cpus, symbols, true);
  }

  /** A profiler that samples only when told ({@link #sampleNow}): for tests. */
  static GuestProfiler manual(List<Source> cpus, GuestSymbols symbols) {
    return new GuestProfiler(cpus, symbols, false);
  }

  private void sampleLoop() {
    long next = System.nanoTime() + PERIOD_NANOS;
    while (!stopping) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        try {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        } catch (InterruptedException e) {
          return;
        }
      }
      next += PERIOD_NANOS;
      sampleNow();
    }
  }

  /** Records where each processor is now. */
  synchronized void sampleNow() {
    if (samples >= MAX_SAMPLES) {
      return;
    }
    for (Source s : cpus) {
      Cpu c = s.cpu();
      if (s.runstate() != null && s.runstate().state() != Runstate.RUNNING
          || c.instructions() == 0) {
        continue;
      }
      int eip = c.blockEip();
      int cpl = c.cpl();
      String name;
      if (cpl == 3) {
        name = USER;
      } else {
        name = symbols.nameOf(eip & 0xFFFF_FFFFL);
        if (name == null) {
          name = UNKNOWN;
        }
      }
      counts.computeIfAbsent(name, k -> new long[1])[0]++;
      samples++;
    }
  }

  /** Stops sampling (idempotent); the counts stay for {@link #print}. */
  @Override
  public void close() {
    stopping = true;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Samples taken so far, over all processors. */
  public synchronized long samples() {
    return samples;
  }

  /** One row of the table: a function (or label) and its samples. */
  public record Row(String function, long samples) {}

  /** The functions by samples, most first (ties by name), at most {@code top} of them. */
  public synchronized List<Row> rows(int top) {
    List<Row> rows = new ArrayList<>();
    counts.forEach((name, n) -> rows.add(new Row(name, n[0])));
    rows.sort((a, b) -> a.samples() != b.samples() ? Long.compare(b.samples(), a.samples())
        : a.function().compareTo(b.function()));
    return rows.size() > top ? rows.subList(0, top) : rows;
  }

  /**
   * Prints the table: a heading naming where the symbols came from, then a line per function
   * (share of the samples, samples, name), at most {@code top}.
   */
  public synchronized void print(PrintStream out, String symbolSource, int top) {
    out.printf("guest profile: %,d samples of %s, one per ms of host time; symbols: %s%n",
        samples, cpus.size() == 1 ? "the vCPU" : "the " + cpus.size() + " vCPUs",
        symbolSource);
    if (samples == 0) {
      out.println("  (the run ended before the first sample)");
      return;
    }
    out.printf("  %6s %9s  %s%n", "share", "samples", "function");
    for (Row r : rows(top)) {
      out.printf("  %5.1f%% %,9d  %s%n", 100.0 * r.samples() / samples, r.samples(),
          r.function());
    }
    int shown = Math.min(top, counts.size());
    if (counts.size() > shown) {
      out.printf("  (%d of %d functions shown)%n", shown, counts.size());
    }
  }
}
