package org.hospes.dom0.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import org.HdrHistogram.Histogram;
import org.hospes.abi.Blkif;
import org.hospes.dom0.backend.blk.BlkStats;
import org.hospes.dom0.backend.blk.JavaBlkfront;
import org.hospes.dom0.backend.blk.VbdBackend;
import org.hospes.dom0.backend.blk.VbdNodes;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.disk.RawImage;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;

/**
 * {@code hospes bench --disk}: blkback's throughput with and without persistent grants and
 * indirect descriptors. A frontend in Java ({@link JavaBlkfront}, acting as the guest) streams
 * sequential writes then reads over a raw image in a temporary file, up to a ring's worth of
 * requests per event, as Linux's blkfront batches them. Per configuration and request size it
 * prints MB/s in virtual time (the bytes over dom0's modelled cycles at 1 GHz) and in host time,
 * requests, grant operations (maps plus unmaps) and events (both directions) per request. The
 * guest side costs nothing here, so virtual MB/s is the backend's ceiling.
 *
 * <p>Then the latency of one 4 KiB read on its own (one request per event, the ring otherwise
 * empty), per configuration: dom0's modelled cycles for it, and the host time of the whole round
 * trip (frontend queues and kicks, blkback maps or reuses the grant, reads the image, responds,
 * and the frontend collects the response) as an HdrHistogram's percentiles, after a warm-up.
 */
public final class BlockBench {
  private static final int DEVID = Blkif.devidOf("xvda");

  private BlockBench() {}

  /** One measured row. */
  public record Row(String config, int requestKiB, String direction, long bytes, long requests,
      long cycles, long nanos, double grantOpsPerRequest, double eventsPerRequest) {
    double virtualMBps() {
      return bytes / 1e6 / (cycles / 1e9);
    }

    double hostMBps() {
      return bytes / 1e6 / (nanos / 1e9);
    }
  }

  /** The round trip of one 4 KiB read: host-time percentiles and dom0's cycles per request. */
  public record Latency(String config, long requests, Histogram hostNanos, long cycles) {
    double virtualMicros() {
      return cycles / 1e3 / requests;
    }

    double hostMicros(double percentile) {
      return hostNanos.getValueAtPercentile(percentile) / 1e3;
    }
  }

  /** Round trips measured per configuration (after as many unrecorded ones, for the JIT). */
  static final int LATENCY_SAMPLES = 20_000;

  /** Runs every configuration over {@code mib} MiB; prints the table to {@code out}. */
  public static int run(PrintWriter out, int mib) throws IOException {
    Path dir = BenchScratch.tempDirectory("hospes-blkbench"); // deleted at a stop too
    Path img = dir.resolve("bench.img");
    try {
      try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.allocate(1), (long) mib * 1024 * 1024 - 1);
      }
      out.printf(Locale.ROOT, "%-24s %6s %-5s %8s %10s %10s %12s %10s%n", "blkback config",
          "req", "dir", "requests", "virt MB/s", "host MB/s", "grant ops/rq", "events/rq");
      for (boolean persistent : new boolean[] {false, true}) {
        for (boolean indirect : new boolean[] {false, true}) {
          String config = (persistent ? "persistent" : "map+unmap") + ", "
              + (indirect ? "indirect" : "direct");
          for (int kib : new int[] {4, 64}) {
            for (boolean write : new boolean[] {true, false}) {
              Row r = measure(img, mib, persistent, indirect, kib, write, config);
              out.printf(Locale.ROOT, "%-24s %4dKi %-5s %8d %10.1f %10.1f %12.2f %10.3f%n",
                  r.config(), r.requestKiB(), r.direction(), r.requests(), r.virtualMBps(),
                  r.hostMBps(), r.grantOpsPerRequest(), r.eventsPerRequest());
            }
          }
        }
      }
      out.println();
      out.printf(Locale.ROOT, "%-24s %9s %10s %10s %10s %10s%n", "one 4 KiB read",
          "requests", "virt us/rq", "host p50", "host p99", "host max");
      for (boolean persistent : new boolean[] {false, true}) {
        String config = persistent ? "persistent" : "map+unmap";
        Latency l = roundTrips(img, persistent, LATENCY_SAMPLES, config);
        out.printf(Locale.ROOT, "%-24s %9d %10.2f %8.1fus %8.1fus %8.1fus%n", l.config(),
            l.requests(), l.virtualMicros(), l.hostMicros(50), l.hostMicros(99),
            l.hostNanos().getMaxValue() / 1e3);
      }
      out.flush();
      return 0;
    } finally {
      Files.deleteIfExists(img);
      Files.deleteIfExists(dir);
      BenchScratch.forget(dir);
    }
  }

  /** A hypervisor with a PVH domain whose Java blkfront is connected to blkback on {@code disk}. */
  private record Rig(Hypervisor hv, VbdBackend backend, JavaBlkfront front) {
    static Rig connect(Path img, DiskImage disk, boolean persistent, boolean indirect) {
      Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
      XenstoreService xs = new XenstoreService(hv.control(), hv.costModel());
      Domain guest = hv.createHvmDomain("bench", DomainMode.PVH, 4);
      VbdNodes.create(xs, guest.domid(), DEVID, "xvda", img.toString(), "raw", false);
      VbdBackend be = VbdBackend.start(xs, hv.control(), hv.costModel(), guest.domid(), DEVID,
          disk, persistent, indirect);
      JavaBlkfront front = new JavaBlkfront(hv, xs, guest, DEVID);
      front.connect(true);
      return new Rig(hv, be, front);
    }
  }

  static Row measure(Path img, int mib, boolean persistent, boolean indirect, int kib,
      boolean write, String config) throws IOException {
    try (DiskImage disk = RawImage.open(img, false)) {
      Rig rig = Rig.connect(img, disk, persistent, indirect);
      Hypervisor hv = rig.hv();
      VbdBackend be = rig.backend();
      JavaBlkfront front = rig.front();
      int pages = kib / 4;
      // Without indirect descriptors a request carries at most 11 pages: 64 KiB takes several.
      int perRequest = front.maxIndirectSegments() > 0 ? pages
          : Math.min(pages, Blkif.MAX_SEGMENTS_PER_REQUEST);
      long total = (long) mib * 1024 * 1024;
      long sector = 0;
      long endSector = total >>> Blkif.SECTOR_SHIFT;
      long dom0CyclesBefore = hv.control().counters().cycles;
      long start = System.nanoTime();
      int op = write ? Blkif.OP_WRITE : Blkif.OP_READ;
      while (sector < endSector) {
        int queued = 0;
        while (queued < Blkif.RING_SIZE && sector < endSector) {
          int n = (int) Math.min(perRequest, (endSector - sector) / Blkif.SECTORS_PER_PAGE);
          front.queue(op, sector, n);
          sector += (long) n * Blkif.SECTORS_PER_PAGE;
          queued++;
        }
        for (JavaBlkfront.Response r : front.kick()) {
          if (r.status() != Blkif.RSP_OKAY) {
            throw new IOException("request " + r.id() + " failed: " + r.status());
          }
        }
      }
      long nanos = System.nanoTime() - start;
      BlkStats s = be.stats();
      long cycles = hv.control().counters().cycles - dom0CyclesBefore;
      double grantOps = (double) (s.grantMaps + s.grantUnmaps) / s.requests;
      double events = (double) (s.events + s.notifications) / s.requests;
      return new Row(config, kib, write ? "write" : "read", total, s.requests, cycles, nanos,
          grantOps, events);
    }
  }

  /**
   * {@code samples} single 4 KiB reads, each kicked and collected on its own, after as many
   * unrecorded ones. The reads walk the image's first MiB so that they stay in the page cache.
   */
  static Latency roundTrips(Path img, boolean persistent, int samples, String config)
      throws IOException {
    try (DiskImage disk = RawImage.open(img, false)) {
      Rig rig = Rig.connect(img, disk, persistent, false);
      Hypervisor hv = rig.hv();
      VbdBackend be = rig.backend();
      JavaBlkfront front = rig.front();
      long span = Math.min(disk.sizeBytes() >>> Blkif.SECTOR_SHIFT, 2048) / Blkif.SECTORS_PER_PAGE;
      Histogram hist = new Histogram(10_000_000_000L, 3);
      long cycles = 0;
      for (int i = 0; i < 2 * samples; i++) {
        boolean recorded = i >= samples;
        long sector = (i % span) * Blkif.SECTORS_PER_PAGE;
        long before = hv.control().counters().cycles;
        long start = System.nanoTime();
        front.queue(Blkif.OP_READ, sector, 1);
        for (JavaBlkfront.Response r : front.kick()) {
          if (r.status() != Blkif.RSP_OKAY) {
            throw new IOException("request " + r.id() + " failed: " + r.status());
          }
        }
        long nanos = System.nanoTime() - start;
        if (recorded) {
          hist.recordValue(nanos);
          cycles += hv.control().counters().cycles - before;
        }
      }
      if (be.stats().requests != 2L * samples) {
        throw new IOException("blkback served " + be.stats().requests + " requests, not "
            + 2L * samples);
      }
      return new Latency(config, samples, hist, cycles);
    }
  }
}
