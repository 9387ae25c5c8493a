package org.hospes.dom0.study;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.hospes.dom0.bench.KernelSources;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;

/**
 * The study workloads that are guest SDK programs: built once with the SDK's Makefile into its
 * one image, which boots in every mode (a Multiboot header for native, the PVH note for pvh,
 * hvm, hvm-shadow and pvhvm, the classic PV notes for pv). A workload with a {@code disk} gets
 * a zeroed scratch disk: in pvh, pvhvm and pv its xvda, served by dom0's blkback (a PV disk);
 * in native, hvm and hvm-shadow its hda, an emulated IDE disk on the PIIX3 (the bare PC's own
 * controller in native, dom0's device model through ioreqs in hvm), which the SDK's ATA driver
 * drives when no vbd is offered. A program that reports as the disk-bench sample does (its
 * {@code disk-bench: xvda} or {@code disk-bench: hda} line begins the disk phase, {@code
 * disk-bench: ok} ends it, and each {@code seq|rand write|read N KiB x M} line moved N x M KiB)
 * gets the phase's counters as {@code disk.*}, the bytes as {@code disk.bytes} and, on the IDE
 * path, {@code disk.ide = 1}, for the summary's I/O paths table beside Linux's.
 */
public final class SdkWorkloads {
  /** The I/O path name of an SDK program's PV disk in the I/O table. */
  public static final String DISK_PATH = "xen (sdk)";
  /** The I/O path name of an SDK program's emulated IDE disk in the I/O table. */
  public static final String IDE_PATH = "ide (sdk)";

  private static final Pattern BEGIN = Pattern.compile("^disk-bench: (?:xvd[a-z]+|hda) ");
  private static final Pattern IDE_BEGIN = Pattern.compile("(?m)^disk-bench: hda ");
  private static final Pattern END = Pattern.compile("^disk-bench: ok");
  private static final Pattern MOVED = Pattern.compile(
      "disk-bench: (?:seq|rand) (?:write|read) (\\d+) KiB x (\\d+):");

  private SdkWorkloads() {}

  /** The image run {@code spec} boots, from the map {@link StudyRunner#images} made. */
  public static byte[] image(RunSpec spec, Map<String, byte[]> images) {
    return images.get(spec.workload().name());
  }

  /** Builds workload {@code w}'s image into {@code images}. */
  static void build(StudySpec.Workload w, Path baseDir, Map<String, byte[]> images)
      throws IOException, InterruptedException {
    build(w, baseDir, images, () -> false);
  }

  /**
   * Builds workload {@code w}'s image into {@code images}; {@code stopped} ends a wait for
   * another study's build of the same workload (an InterruptedIOException).
   */
  static void build(StudySpec.Workload w, Path baseDir, Map<String, byte[]> images,
      java.util.function.BooleanSupplier stopped) throws IOException, InterruptedException {
    Path root = KernelSources.findRoot();
    List<Path> sources = new ArrayList<>();
    for (String s : w.sdk()) {
      sources.addAll(sources(s, baseDir, root, w.name()));
    }
    Path build = root.resolve("samples/guests/build/study");
    Files.createDirectories(build);
    String guest = w.name().replaceAll("[^A-Za-z0-9_.-]", "_");
    // Every study builds workload NAME into the same NAME.elf: two studies at once that both
    // have a workload of that name (their own programs) would each write it, and one could
    // read back the other's program and run it as its own. The build and the read are one
    // step under NAME.lock.
    try (BuildLock lock = BuildLock.acquire(build.resolve(guest + ".lock"), stopped)) {
      images.put(w.name(), Files.readAllBytes(make(root, build, guest, sources)));
    }
  }

  /**
   * A workload's build lock: a lock on a file for other processes (another study, another
   * {@code hospes}), and a lock of this JVM for its own threads (a JVM holds a file's lock for
   * all its threads: a second channel's lock on it would fail, not wait).
   */
  static final class BuildLock implements AutoCloseable {
    private static final Map<Path, java.util.concurrent.locks.ReentrantLock> IN_JVM =
        new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.locks.ReentrantLock inJvm;
    private final java.nio.channels.FileChannel channel;

    private BuildLock(java.util.concurrent.locks.ReentrantLock inJvm,
        java.nio.channels.FileChannel channel) {
      this.inJvm = inJvm;
      this.channel = channel;
    }

    /** Waits for {@code file}'s lock, checking {@code stopped} while it waits. */
    static BuildLock acquire(Path file, java.util.function.BooleanSupplier stopped)
        throws IOException, InterruptedException {
      java.util.concurrent.locks.ReentrantLock l = IN_JVM.computeIfAbsent(
          file.toAbsolutePath().normalize(), k -> new java.util.concurrent.locks.ReentrantLock());
      while (!l.tryLock(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        checkStopped(file, stopped);
      }
      java.nio.channels.FileChannel ch = null;
      try {
        ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.WRITE);
        while (ch.tryLock() == null) {
          checkStopped(file, stopped);
          Thread.sleep(100);
        }
        return new BuildLock(l, ch);
      } catch (IOException | InterruptedException | RuntimeException e) {
        if (ch != null) {
          ch.close();
        }
        l.unlock();
        throw e;
      }
    }

    private static void checkStopped(Path file, java.util.function.BooleanSupplier stopped)
        throws java.io.InterruptedIOException {
      if (stopped.getAsBoolean()) {
        throw new java.io.InterruptedIOException("stopped while waiting for another build of "
            + file.getFileName().toString().replaceFirst("\\.lock$", ""));
      }
    }

    @Override
    public void close() throws IOException {
      try {
        channel.close(); // releases the file's lock
      } finally {
        inJvm.unlock();
      }
    }
  }

  /** Runs an SDK workload with a scratch disk: {@code spec} on {@code image}, at most max. */
  static RunRecord runWithDisk(RunSpec spec, byte[] image, long max) {
    BootMode mode = BootMode.byName(spec.mode()).orElseThrow();
    StudySpec.Workload w = spec.workload();
    long t0 = System.nanoTime();
    Path disk = null;
    try {
      KernelLoader loader = HostPlugins.classPath().kernelLoaders().choose(w.loader(), mode, image);
      LinuxIo.PhaseMarks marks = new LinuxIo.PhaseMarks(l -> BEGIN.matcher(l).find()
          ? new String[] {"disk", "begin"} : END.matcher(l).find() ? new String[] {"disk", "end"}
          : null);
      PrintStream diag = new PrintStream(OutputStream.nullOutputStream(), true,
          StandardCharsets.UTF_8);
      disk = LinuxIo.scratchDisk("hospes-sdk-disk-", (long) w.disk() << 20);
      RunResult r;
      Map<String, Long> counters;
      boolean emulated = mode == BootMode.NATIVE || mode == BootMode.HVM
          || mode == BootMode.HVM_SHADOW;
      DiskSpec ds = DiskSpec.parse(disk + ",format=raw," + (emulated ? "vdev=hda,bus=ide"
          : "vdev=xvda,bus=xen"), 0, null);
      try (DiskImage d = ds.open()) {
        if (mode == BootMode.NATIVE) {
          // The bare PC: the disk on its own PIIX3 IDE, no hypervisor and no dom0.
          NativeMachine m = NativeMachine.builder().ramMiB(spec.ramMiB())
              .costModel(HvmMachine.factory().costModel(spec.costModel()))
              .serialOut(marks).diagnostics(diag).ideDisk(d).build();
          marks.snapshot = () -> nativePhaseCounters(m);
          m.load(loader, image, w.name(), new BootRequest(w.cmdline(), List.of()));
          r = m.run(max);
          counters = nativePhaseCounters(m);
        } else {
          HvmMachine m = HvmMachine.create(mode.domainMode(), spec.ramMiB(), marks, diag,
              HvmMachine.factory(), spec.scheduler(), spec.costModel());
          marks.snapshot = () -> StudyRun.hvCounters(m.hypervisor(), m.domain());
          m.addDisk(ds, d);
          m.load(loader, image, w.name(), new BootRequest(w.cmdline(), List.of()), null);
          r = m.run(max);
          counters = StudyRun.hvCounters(m.hypervisor(), m.domain());
        }
      }
      Map<String, Long> phase = marks.phase("disk");
      counters.putAll(phase);
      long kib = 0;
      Matcher x = MOVED.matcher(marks.text());
      while (x.find()) {
        kib += Long.parseLong(x.group(1)) * Long.parseLong(x.group(2));
      }
      if (!phase.isEmpty() && kib > 0) {
        counters.put("disk.bytes", kib << 10);
        if (IDE_BEGIN.matcher(marks.text()).find()) {
          counters.put("disk.ide", 1L);
        }
      }
      return new RunRecord(spec, r.exitStatus(), r.reason(), counters, Map.of(),
          (System.nanoTime() - t0) / 1_000_000, RunRecord.lastLine(marks.text()));
    } catch (BootException | IOException e) {
      return LinuxIo.notRun(spec, e);
    } finally {
      LinuxIo.deleteScratch(disk);
    }
  }

  /**
   * The bare machine's counters, with its modelled cycles also as the guest's own execution:
   * without a hypervisor or dom0 every cycle (port accesses included) is the guest's.
   */
  private static Map<String, Long> nativePhaseCounters(NativeMachine m) {
    Map<String, Long> c = StudyRun.nativeCounters(m);
    c.put("guest_execution_cycles", c.get("guest_cycles"));
    return c;
  }

  /** A source file (relative to the study file), or the C files of sample samples/guests/NAME. */
  private static List<Path> sources(String s, Path baseDir, Path root, String workload)
      throws IOException {
    Path p = baseDir.resolve(s);
    if (Files.isRegularFile(p)) {
      return List.of(p.toAbsolutePath());
    }
    Path sample = root.resolve("samples/guests").resolve(s);
    if (s.matches("[A-Za-z0-9_-]+") && Files.isDirectory(sample)) {
      try (Stream<Path> files = Files.list(sample)) {
        List<Path> c = files.filter(f -> f.toString().endsWith(".c")).sorted().toList();
        if (!c.isEmpty()) {
          return c;
        }
      }
    }
    throw new IllegalArgumentException("workload " + workload + ": sdk source " + p
        + ": no such file (nor a sample of samples/guests)");
  }

  private static Path make(Path root, Path build, String guest, List<Path> sources)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("make", "-s", "-C",
        root.resolve("guest-sdk/c").toString(), "GUEST=" + guest, "BUILD=" + build));
    StringBuilder srcs = new StringBuilder("SRCS=");
    for (Path s : sources) {
      srcs.append(s).append(' ');
    }
    cmd.add(srcs.toString().trim());
    // A signal that ends make is a stop (KernelSources.BuildStoppedException), not a failure.
    KernelSources.runBuild(cmd);
    return build.resolve(guest + ".elf");
  }
}
