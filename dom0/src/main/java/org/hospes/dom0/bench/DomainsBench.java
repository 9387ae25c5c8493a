package org.hospes.dom0.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;

/**
 * {@code hospes bench --domains N,...}: domains per host. For each N, one host runs N copies of
 * a minimal PVH guest (samples/guests/hello, 4 MiB each) at once in one {@code run-many}-style
 * toolstack, and reports per domain: host time to build it (domain, memory, kernel load,
 * xenstore entries, console), host time from the first build to every domain having printed
 * its first console line (build and boot), host time to the end of all of them, and host
 * memory: the heap in use after a full GC once every domain has booted, minus the heap before
 * the host existed, split into the guest frames the domains touched (machine memory is backed
 * on first touch) and everything else (vCPUs, TLBs, decoded code, event channels, grant
 * tables, xenstore and console state).
 */
public final class DomainsBench {
  /** Each domain's RAM, as in the figure (the hello sample, 4 MiB each). */
  public static final int RAM_MIB = 4;

  private DomainsBench() {}

  /** Figures for one host of {@code domains} domains. */
  public record Row(int domains, long buildNanos, long bootNanos, long runNanos,
      long bootCpuNanos, long heapBytes, long touchedBytes, int completed) {
    /** Host CPU time (the run thread's) per domain to build and boot. */
    public double bootCpuMsPerDomain() {
      return bootCpuNanos / 1e6 / domains;
    }

    public double buildMsPerDomain() {
      return buildNanos / 1e6 / domains;
    }

    public double bootMsPerDomain() {
      return bootNanos / 1e6 / domains;
    }

    public double runMsPerDomain() {
      return runNanos / 1e6 / domains;
    }

    /** Host memory per domain, touched guest frames included. */
    public double heapKiBPerDomain() {
      return heapBytes / 1024.0 / domains;
    }

    public double touchedKiBPerDomain() {
      return touchedBytes / 1024.0 / domains;
    }

    /** Host memory per domain beyond the guest frames it touched. */
    public double overheadKiBPerDomain() {
      return (heapBytes - touchedBytes) / 1024.0 / domains;
    }
  }

  /**
   * Console sink that counts the domains that printed a line ("[NAME] ..."), and keeps nothing
   * else: a thousand consoles must not fill the heap being measured.
   */
  private static final class FirstLines extends OutputStream {
    private final java.util.Set<String> seen = new java.util.HashSet<>();
    private final StringBuilder name = new StringBuilder();
    private boolean lineStart = true;
    private boolean inName;

    @Override
    public void write(int b) {
      if (lineStart) {
        inName = b == '[';
        name.setLength(0);
        lineStart = false;
      } else if (inName) {
        if (b == ']') {
          seen.add(name.toString());
          inName = false;
        } else {
          name.append((char) b);
        }
      }
      if (b == '\n') {
        lineStart = true;
      }
    }

    int domains() {
      return seen.size();
    }
  }

  /**
   * Runs {@code domains} copies of {@code guest} on one host and measures them; the guests must
   * print a console line early and end by themselves.
   */
  public static Row measure(Path guest, int domains) throws IOException, BootException {
    return measure(guest, domains, true);
  }

  /**
   * As {@link #measure(Path, int)}; unless {@code toEnd}, stops once every domain has booted
   * (then the run time is zero and {@link Row#completed} counts the domains that booted).
   */
  public static Row measure(Path guest, int domains, boolean toEnd)
      throws IOException, BootException {
    byte[] image = KernelFiles.read(guest);
    List<DomainSpec> specs = specs(guest, domains);
    long before = heapAfterGc();
    FirstLines console = new FirstLines();
    HostRunner host = HostRunner.create(HostRunner.machineMiBFor(specs), console);
    host.setHypervisorLog(OutputStream.nullOutputStream());
    java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long c0 = threads.getCurrentThreadCpuTime();
    long t0 = System.nanoTime();
    for (DomainSpec s : specs) {
      host.start(s, image);
    }
    long built = System.nanoTime();
    host.runUntil(Long.MAX_VALUE, () -> console.domains() >= domains);
    long booted = System.nanoTime();
    long bootCpu = threads.getCurrentThreadCpuTime() - c0;
    long heap = heapAfterGc() - before;
    long touched = host.hypervisor().machineMemory().backedBytes();
    if (!toEnd) {
      host.finish();
      return new Row(domains, built - t0, booted - t0, 0, bootCpu, heap, touched,
          console.domains());
    }
    long t1 = System.nanoTime();
    host.run(Long.MAX_VALUE);
    long done = System.nanoTime() - t1 + (booted - t0);
    int completed = 0;
    for (GuestDomain g : host.guests()) {
      if (g.outcome() != null && g.outcome().succeeded()) {
        completed++;
      }
    }
    host.finish();
    return new Row(domains, built - t0, booted - t0, done, bootCpu, heap, touched, completed);
  }

  private static List<DomainSpec> specs(Path guest, int domains) {
    List<DomainSpec> specs = new ArrayList<>();
    for (int i = 1; i <= domains; i++) {
      specs.add(DomainSpec.parse("d" + i + "=" + guest + ",mode=pvh,ram=" + RAM_MIB, null));
    }
    return specs;
  }

  /** Heap in use after full collections (twice: the first may leave finalizable garbage). */
  static long heapAfterGc() {
    MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
    System.gc();
    System.gc();
    return mx.getHeapMemoryUsage().getUsed();
  }

  /**
   * Measures each count in {@code counts} and prints the table, a row as each is measured;
   * {@code progress} hears of each measurement as it starts. Returns the exit status.
   */
  public static int run(PrintWriter out, Path guest, List<Integer> counts,
      Consumer<String> progress) throws IOException, BootException {
    out.println("Domains per host: N copies of " + guest.getFileName() + " (PVH, " + RAM_MIB
        + " MiB each) on one host; host time and host memory per domain");
    out.printf(Locale.ROOT, "%8s %11s %15s %15s %12s %11s %14s %13s %10s%n", "domains",
        "build ms/d", "to output ms/d", "(CPU ms/d)", "to end ms/d", "heap KiB/d",
        "touched KiB/d", "beyond KiB/d", "completed");
    out.flush();
    // A small host first, not reported: class loading and the JVM's compilers would otherwise
    // be charged to the first row.
    int warmUp = Math.min(10, counts.get(0));
    progress.accept(warmUp + " domains, warm-up (not measured)");
    measure(guest, warmUp, false);
    int status = 0;
    for (int n : counts) {
      progress.accept(n + " domains");
      int need = HostRunner.machineMiBFor(specs(guest, n));
      if (need > HostRunner.maxMachineMiB()) {
        out.printf(Locale.ROOT, "%8d needs %d MiB of machine memory, more than the %d MiB this"
            + " host can have (the limit is %s)%n", n, need, HostRunner.maxMachineMiB(),
            org.hospes.hv.memory.MachineMemoryLimit.source());
        status = 2;
        continue;
      }
      Row r = measure(guest, n);
      out.printf(Locale.ROOT, "%8d %11.3f %15.3f %15.3f %12.3f %11.0f %14.0f %13.0f %10s%n",
          r.domains(), r.buildMsPerDomain(), r.bootMsPerDomain(), r.bootCpuMsPerDomain(),
          r.runMsPerDomain(),
          r.heapKiBPerDomain(), r.touchedKiBPerDomain(), r.overheadKiBPerDomain(),
          r.completed() + "/" + r.domains());
      out.flush();
      if (r.completed() != r.domains() && status == 0) {
        status = 1;
      }
    }
    out.println("build: creating the domains and loading the kernel (wall); to output: from"
        + " the first build until every domain printed its first console line (wall, and the"
        + " run thread's CPU time: on a loaded machine the wall time includes waiting); to"
        + " end: until all exited (wall). heap: in use after a full GC once all had booted,"
        + " minus the heap before; touched: guest frames written (backed on first touch);"
        + " beyond: the rest.");
    return status;
  }
}
