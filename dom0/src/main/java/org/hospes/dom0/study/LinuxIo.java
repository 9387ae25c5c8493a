package org.hospes.dom0.study;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.NewcArchive;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.dom0.toolstack.VifSpec;

/**
 * The {@code linux-io} study workload: Debian's unmodified 686-pae kernel boots with an
 * initramfs ({@code io-init.sh} run by busybox) that writes and then reads {@code diskMiB} MiB
 * of a raw disk with direct I/O, and fetches {@code fetchMiB} MiB over TCP with busybox's
 * {@code wget} from dom0's own HTTP data server on the NAT gateway
 * ({@link org.hospes.dom0.net.nat.DataServer}, 10.0.2.2:80), through one I/O path:
 *
 * <ul>
 *   <li>{@code ide}: the PIIX3's IDE with Linux's {@code ata_piix} (hvm, hvm-shadow), with no
 *       NIC unless {@code net: e1000} gives it the emulated 82540EM and Linux's {@code e1000};
 *   <li>{@code virtio}: {@code virtio_blk} and {@code virtio_net} on legacy virtio PCI (hvm,
 *       hvm-shadow);
 *   <li>{@code xen}: {@code xen-blkfront} and {@code xen-netfront} (pvhvm, pvh).
 * </ul>
 *
 * A run in a mode its path has no place in is listed as skipped. The guest marks each phase's
 * begin and end on the kernel log; at each mark the run takes the counters, and the phase's
 * deltas are kept as {@code disk.*} and {@code net.*} beside the whole run's, with the bytes
 * the phase moved ({@code disk.bytes}: written plus read; {@code net.bytes}: the body fetched)
 * only when the guest's commands succeeded (for the fetch: its size and md5 are the data
 * server's). Everything is in virtual time: the gateway's TCP endpoint and the data server are
 * dom0's, no host socket is involved, so two runs give the same counts.
 */
public final class LinuxIo {
  private LinuxIo() {}

  /** The workload's parameters ({@code io:} in a study file). */
  @JsonIgnoreProperties(ignoreUnknown = false)
  public record Params(String disk, String net, Integer diskMiB, Integer fetchMiB,
      String modules) implements java.io.Serializable {

    /** Checked, with defaults: net follows disk (none for ide), 4 MiB each way. */
    public Params withDefaults() {
      String d = disk == null ? "xen" : disk;
      if (!List.of("ide", "virtio", "xen", "none").contains(d)) {
        throw new IllegalArgumentException("disk must be ide, virtio, xen or none, got '" + d
            + "'");
      }
      String n = net != null ? net : d.equals("ide") ? "none" : d;
      if (!List.of("e1000", "virtio", "xen", "none").contains(n)) {
        throw new IllegalArgumentException("net must be e1000, virtio, xen or none, got '" + n
            + "'");
      }
      if (!d.equals("none") && !n.equals("none") && d.equals("xen") != n.equals("xen")) {
        throw new IllegalArgumentException("disk " + d + " and net " + n + " need different"
            + " modes; give each its own workload");
      }
      int mib = diskMiB == null ? 4 : diskMiB;
      if (mib < 1 || mib > 1024) {
        throw new IllegalArgumentException("diskMiB: " + mib + " is outside 1..1024");
      }
      int f = fetchMiB == null ? 4 : fetchMiB;
      if (f < 1 || f > 1024) {
        throw new IllegalArgumentException("fetchMiB: " + f + " is outside 1..1024");
      }
      return new Params(d, n, mib, f, modules);
    }

    /** The path's name in tables: the disk's, else the NIC's. */
    public String path() {
      return disk.equals("none") ? net : disk;
    }

    /** Whether the path has a place in {@code mode}: ide and virtio in hvm, xen in pvhvm/pvh. */
    public String refusal(BootMode mode) {
      boolean hvm = mode == BootMode.HVM || mode == BootMode.HVM_SHADOW;
      boolean xen = mode == BootMode.PVHVM || mode == BootMode.PVH;
      for (String p : List.of(disk, net)) {
        if ((p.equals("ide") || p.equals("virtio") || p.equals("e1000")) && !hvm) {
          return p + " is a device of the device model: it runs in hvm and hvm-shadow, not "
              + mode;
        }
        if (p.equals("xen") && !xen) {
          return "xen's blkfront and netfront run in pvhvm and pvh, not " + mode;
        }
      }
      return null;
    }
  }

  /** Debian's kernel where samples/linux/fetch-debian-kernel.sh caches it. */
  public static String defaultKernel() {
    String prop = System.getProperty("hospes.linux.vmlinuz");
    return prop != null && !prop.isEmpty() ? prop
        : Path.of(System.getProperty("user.home"), ".cache/hospes/debian-kernel/vmlinuz")
            .toString();
  }

  /** The kernel package's modules: {@code modules:} or the directory beside the kernel. */
  static Path modulesDir(StudySpec.Workload w) {
    return w.io().modules() != null ? Path.of(w.io().modules())
        : Path.of(w.kernel()).toAbsolutePath().resolveSibling("modules");
  }

  static final List<String> IDE_MODULES = List.of("scsi_common.ko", "scsi_mod.ko", "libata.ko",
      "ata_piix.ko", "crct10dif_common.ko", "crct10dif_generic.ko", "crc-t10dif.ko", "crc64.ko",
      "crc64_rocksoft_generic.ko", "crc64-rocksoft.ko", "t10-pi.ko", "sd_mod.ko");
  static final List<String> VIRTIO_PCI = List.of("virtio_ring.ko", "virtio.ko",
      "virtio_pci_legacy_dev.ko", "virtio_pci_modern_dev.ko", "virtio_pci.ko");

  /** The drivers to load, in order. */
  static List<String> modules(Params p) {
    List<String> m = new ArrayList<>();
    switch (p.disk()) {
      case "ide" -> m.addAll(IDE_MODULES);
      case "virtio" -> {
        m.addAll(VIRTIO_PCI);
        m.add("virtio_blk.ko");
      }
      case "xen" -> m.add("xen-blkfront.ko");
      default -> { }
    }
    switch (p.net()) {
      case "virtio" -> {
        if (!m.containsAll(VIRTIO_PCI)) {
          m.addAll(VIRTIO_PCI);
        }
        m.addAll(List.of("failover.ko", "net_failover.ko", "virtio_net.ko"));
      }
      case "xen" -> m.add("xen-netfront.ko");
      case "e1000" -> m.add("e1000.ko");
      default -> { }
    }
    return m;
  }

  /** The block device Linux names the disk. */
  static String blockDevice(Params p) {
    return switch (p.disk()) {
      case "ide" -> "sda";
      case "virtio" -> "vda";
      case "xen" -> "xvda";
      default -> "none";
    };
  }

  /** The initramfs: busybox, the modules, io-init.sh as /init. */
  static byte[] initramfs(StudySpec.Workload w) throws IOException {
    Path dir = modulesDir(w);
    Path busybox = Path.of("/bin/busybox");
    if (!Files.isRegularFile(busybox)) {
      throw new IOException("/bin/busybox is missing (apt-get install busybox-static:i386)");
    }
    NewcArchive a = new NewcArchive();
    for (String d : List.of("dev", "proc", "sys", "bin", "modules", "tmp")) {
      a.directory(d);
    }
    a.file("bin/busybox", Files.readAllBytes(busybox), 0755);
    for (String m : modules(w.io())) {
      Path f = dir.resolve(m);
      if (!Files.isRegularFile(f)) {
        throw new IOException(f + " is missing (samples/linux/fetch-debian-kernel.sh fetches"
            + " the kernel package's modules)");
      }
      a.file("modules/" + m, Files.readAllBytes(f), 0644);
    }
    try (InputStream in = LinuxIo.class.getResourceAsStream("io-init.sh")) {
      if (in == null) {
        throw new IOException("missing resource io-init.sh");
      }
      a.file("init", in.readAllBytes(), 0755);
    }
    return a.finish();
  }

  /** The kernel command line: the console, then what io-init.sh reads from its environment. */
  static String cmdline(Params p, BootMode mode) {
    String console = mode == BootMode.HVM || mode == BootMode.HVM_SHADOW ? "console=ttyS0"
        : "console=hvc0";
    return console + " cryptomgr.notests printk.time=0 modules=" + String.join(",", modules(p))
        + " disk=" + blockDevice(p) + " diskmb=" + p.diskMiB() + " net="
        + (p.net().equals("none") ? "no" : "yes") + " fetchmb=" + p.fetchMiB();
  }

  private static final Pattern MARK = Pattern.compile("hospes-io: (disk|net) (begin|end)");
  private static final Pattern DD_OK = Pattern.compile(
      "hospes-io: disk (write|read) status 0: (\\d+)\\+0 records in");
  private static final Pattern FETCH_OK = Pattern.compile(
      "hospes-io: net wget status 0: (\\d+) bytes, md5 ([0-9a-f]{32})");

  /** Runs an io workload's {@code spec} on {@code image} (the kernel), at most {@code max}. */
  static RunRecord run(RunSpec spec, byte[] image, long max) {
    BootMode mode = BootMode.byName(spec.mode()).orElseThrow();
    StudySpec.Workload w = spec.workload();
    Params p = w.io();
    String refusal = p.refusal(mode);
    if (refusal != null) {
      return new RunRecord(spec, 2, RunRecord.SKIPPED + refusal, Map.of(), Map.of());
    }
    long t0 = System.nanoTime();
    Path disk = null;
    try {
      KernelLoader loader = HostPlugins.classPath().kernelLoaders()
          .choose(w.loader(), mode, image);
      byte[] initrd = initramfs(w);
      PhaseMarks marks = new PhaseMarks();
      PrintStream diag = new PrintStream(OutputStream.nullOutputStream(), true,
          StandardCharsets.UTF_8);
      HvmMachine m = HvmMachine.create(mode.domainMode(), spec.ramMiB(), marks, diag,
          HvmMachine.factory(), spec.scheduler(), spec.costModel());
      marks.snapshot = () -> StudyRun.hvCounters(m.hypervisor(), m.domain());
      DiskImage image0 = null;
      RunResult r;
      boolean ran = false;
      try {
        if (!p.disk().equals("none")) {
          disk = scratchDisk("hospes-linux-io-", ((long) p.diskMiB() + 1) << 20); // spare MiB
          DiskSpec ds = DiskSpec.parse(disk + ",format=raw,bus=" + p.disk(), 0, null);
          image0 = ds.open();
          m.addDisk(ds, image0);
        }
        if (!p.net().equals("none")) {
          m.addVif(VifSpec.parse("net=nat,model=" + p.net(), null));
        }
        m.load(loader, image, w.name(), new BootRequest(cmdline(p, mode),
            List.of(new BootModule(initrd, "initrd"))), null);
        r = m.run(max);
        ran = true;
      } finally {
        // Whatever stops the run (a kernel this mode cannot boot is a skipped run, not the
        // end of the study), the machine is given up and its image and networks closed: a
        // study of many runs must not keep a descriptor, a lock or a socket per skipped one.
        if (ran) {
          m.networks().close();
        } else {
          m.abandon("study run not completed"); // its networks too
        }
        if (image0 != null) {
          image0.close();
        }
      }
      Map<String, Long> counters = StudyRun.hvCounters(m.hypervisor(), m.domain());
      String log = marks.text();
      counters.putAll(marks.phase("disk"));
      counters.putAll(marks.phase("net"));
      long ddRecords = 0;
      Matcher dd = DD_OK.matcher(log);
      int ddOk = 0;
      while (dd.find()) {
        ddOk++;
        ddRecords += Long.parseLong(dd.group(2));
      }
      if (ddOk == 2 && marks.phase("disk").size() > 0) {
        counters.put("disk.bytes", ddRecords << 16);
      }
      long want = (long) p.fetchMiB() << 20;
      Matcher fetch = FETCH_OK.matcher(log);
      if (fetch.find() && marks.phase("net").size() > 0 && Long.parseLong(fetch.group(1)) == want
          && fetch.group(2).equals(org.hospes.dom0.net.nat.DataServer.md5Hex(want))) {
        counters.put("net.bytes", want);
      }
      return new RunRecord(spec, r.exitStatus(), r.reason(), counters, Map.of(),
          (System.nanoTime() - t0) / 1_000_000, RunRecord.lastLine(log));
    } catch (BootException | IOException e) {
      return LinuxIo.notRun(spec, e);
    } finally {
      LinuxIo.deleteScratch(disk);
    }
  }

  /** A run that did not happen: skipped (the image cannot boot there) or failed (I/O). */
  static RunRecord notRun(RunSpec spec, Exception e) {
    return new RunRecord(spec, 2, (e instanceof BootException ? RunRecord.SKIPPED : "failed: ")
        + e.getMessage(), Map.of(), Map.of());
  }

  /** A sparse temporary raw disk of {@code bytes}. */
  static Path scratchDisk(String prefix, long bytes) throws IOException {
    Path disk = Files.createTempFile(prefix, ".raw");
    try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
      f.setLength(bytes);
    }
    return disk;
  }

  /** Deletes a scratch disk, if any. */
  static void deleteScratch(Path disk) {
    if (disk != null) {
      try {
        Files.deleteIfExists(disk);
      } catch (IOException e) {
        // a temporary file left behind is no reason to lose the run
      }
    }
  }

  /**
   * The guest's console: kept whole, and watched line by line for the phase marks, at each of
   * which the counters are taken. The console is written from the machine's own run loop, so a
   * mark's snapshot falls at the same point of virtual time on every run.
   */
  static final class PhaseMarks extends OutputStream {
    private final ByteArrayOutputStream all = new ByteArrayOutputStream();
    private final StringBuilder line = new StringBuilder();
    private final Map<String, Map<String, Long>> begins = new LinkedHashMap<>();
    private final Map<String, Map<String, Long>> ends = new LinkedHashMap<>();
    /** A line's mark: {phase, "begin" or "end"}, or null. */
    private final java.util.function.Function<CharSequence, String[]> marker;
    java.util.function.Supplier<Map<String, Long>> snapshot;

    /** The marks io-init.sh prints: {@code hospes-io: PHASE begin|end}. */
    PhaseMarks() {
      this(l -> {
        Matcher x = MARK.matcher(l);
        return x.find() ? new String[] {x.group(1), x.group(2)} : null;
      });
    }

    PhaseMarks(java.util.function.Function<CharSequence, String[]> marker) {
      this.marker = marker;
    }

    @Override
    public void write(int b) {
      all.write(b);
      if (b == '\n') {
        String[] x = marker.apply(line);
        if (x != null && snapshot != null) {
          (x[1].equals("begin") ? begins : ends).putIfAbsent(x[0], snapshot.get());
        }
        line.setLength(0);
      } else if (line.length() < 512) {
        line.append((char) (b & 0xff));
      }
    }

    String text() {
      return all.toString(StandardCharsets.ISO_8859_1);
    }

    /** The phase's counter deltas as {@code PHASE.NAME}; empty unless both marks came. */
    Map<String, Long> phase(String name) {
      Map<String, Long> b = begins.get(name);
      Map<String, Long> e = ends.get(name);
      Map<String, Long> d = new LinkedHashMap<>();
      if (b == null || e == null) {
        return d;
      }
      for (Map.Entry<String, Long> x : e.entrySet()) {
        d.put(name + "." + x.getKey(), x.getValue() - b.getOrDefault(x.getKey(), 0L));
      }
      return d;
    }
  }
}
