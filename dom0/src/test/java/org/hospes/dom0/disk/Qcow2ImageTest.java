package org.hospes.dom0.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * qcow2 against its oracle, QEMU's own {@code qemu-img} (Debian package qemu-utils): images that
 * qemu-img creates are written by Hospes from a seeded random workload checked against a model
 * of the disk, then {@code qemu-img check} must find no errors or leaks and {@code qemu-img
 * convert -O raw} must give the model byte for byte.
 */
class Qcow2ImageTest {
  private static final long SEED = 0x9c0_2a11L;

  @TempDir
  Path dir;

  private final DiskImages images = new DiskImages();

  @BeforeAll
  static void needQemuImg() throws Exception {
    Process p;
    try {
      p = new ProcessBuilder("qemu-img", "--version").redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("qemu-img not found: apt-get install qemu-utils", e);
    }
    p.getInputStream().readAllBytes();
    assertThat(p.waitFor()).isZero();
  }

  static Stream<Arguments> layouts() {
    return Stream.of(
        Arguments.of("compat=1.1,cluster_size=65536", 8 << 20),
        Arguments.of("compat=0.10,cluster_size=65536", 8 << 20),
        Arguments.of("compat=1.1,cluster_size=4096", 8 << 20),
        // Small clusters: many L2 tables, refcount blocks, and a refcount table that must grow.
        Arguments.of("compat=1.1,cluster_size=512", 6 << 20),
        Arguments.of("compat=0.10,cluster_size=512", 6 << 20),
        // 64-bit refcounts in 512-byte blocks: the one-cluster table covers only 2 MiB of file.
        Arguments.of("compat=1.1,cluster_size=512,refcount_bits=64", 4 << 20),
        Arguments.of("compat=1.1,cluster_size=4096,refcount_bits=1", 4 << 20),
        Arguments.of("compat=1.1,cluster_size=4096,refcount_bits=8", 4 << 20),
        Arguments.of("compat=1.1,cluster_size=4096,refcount_bits=64", 4 << 20));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void randomWritesAndDiscardsLeaveACleanImageWithTheModelsBytes(String opts, int size)
      throws Exception {
    Path img = dir.resolve("d.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-o", opts, img.toString(), Integer.toString(size));
    byte[] model = new byte[size];
    Random r = new Random(SEED ^ opts.hashCode());
    try (DiskImage d = images.open(img, null, false)) {
      assertThat(d.format()).isEqualTo("qcow2");
      assertThat(d.sizeBytes()).isEqualTo(size);
      for (int i = 0; i < 400; i++) {
        int len = 1 + r.nextInt(r.nextBoolean() ? 700 : 70_000);
        long off = r.nextInt(size - len + 1);
        if (r.nextInt(10) == 0) {
          d.discard(off, len);
          // Without a backing file, a whole discarded cluster reads as zeros afterwards.
          zeroWholeClusters(model, off, len, clusterSize(d));
        } else {
          byte[] data = new byte[len];
          r.nextBytes(data);
          d.write(off, data, 0, len);
          System.arraycopy(data, 0, model, (int) off, len);
        }
        if (i % 50 == 0) {
          assertReadsEqual(d, model, r, "seed " + SEED + " step " + i);
        }
      }
      d.flush();
      byte[] all = new byte[size];
      d.read(0, all, 0, size);
      assertThat(Arrays.equals(all, model)).as("read-back, seed %d", SEED).isTrue();
    }
    assertCleanAndEqual(img, model);
  }

  @Test
  void readsWhatQemuWroteIncludingCompressedClustersAndRewritesThem() throws Exception {
    int size = 3 << 20;
    byte[] model = new byte[size];
    Random r = new Random(SEED);
    for (int i = 0; i < size; i += 4096) {
      // Half the blocks compressible text, half random, some left zero.
      int kind = r.nextInt(3);
      if (kind == 0) {
        byte[] t = ("block " + i + " ").repeat(1000).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(t, 0, model, i, 4096);
      } else if (kind == 1) {
        byte[] b = new byte[4096];
        r.nextBytes(b);
        System.arraycopy(b, 0, model, i, 4096);
      }
    }
    Path raw = dir.resolve("src.raw");
    Files.write(raw, model);
    for (String[] extra : new String[][] {{}, {"-c"}}) {
      Path img = dir.resolve("conv" + extra.length + ".qcow2");
      List<String> cmd = new ArrayList<>(List.of("convert", "-q", "-f", "raw", "-O", "qcow2"));
      cmd.addAll(List.of(extra));
      cmd.addAll(List.of(raw.toString(), img.toString()));
      qemuImg(cmd.toArray(String[]::new));
      byte[] expect = model.clone();
      try (DiskImage d = images.open(img, "qcow2", false)) {
        byte[] all = new byte[size];
        d.read(0, all, 0, size);
        assertThat(Arrays.equals(all, expect)).as("qemu's %s image", extra.length == 0
            ? "plain" : "compressed").isTrue();
        // Partial overwrites of (possibly compressed) clusters keep the rest of each cluster.
        for (int i = 0; i < 40; i++) {
          byte[] data = new byte[1 + r.nextInt(3000)];
          r.nextBytes(data);
          long off = r.nextInt(size - data.length);
          d.write(off, data, 0, data.length);
          System.arraycopy(data, 0, expect, (int) off, data.length);
        }
      }
      assertCleanAndEqual(img, expect);
    }
  }

  @Test
  void overlayReadsThroughItsBackingFileAndWritesOnlyToItself() throws Exception {
    int size = 2 << 20;
    byte[] base = new byte[size];
    new Random(SEED + 1).nextBytes(base);
    Path raw = dir.resolve("base.raw");
    Files.write(raw, base);
    Path baseImg = dir.resolve("base.qcow2");
    qemuImg("convert", "-q", "-f", "raw", "-O", "qcow2", raw.toString(), baseImg.toString());
    for (String compat : new String[] {"1.1", "0.10"}) {
      Path ov = dir.resolve("ov-" + compat + ".qcow2");
      // A relative backing name: resolved against the overlay's directory, as QEMU does.
      qemuImg("create", "-q", "-f", "qcow2", "-o", "compat=" + compat, "-b", "base.qcow2",
          "-F", "qcow2", ov.toString());
      byte[] expect = base.clone();
      Random r = new Random(SEED + 2);
      try (DiskImage d = images.open(ov, null, false)) {
        for (int i = 0; i < 60; i++) {
          byte[] data = new byte[1 + r.nextInt(9000)];
          r.nextBytes(data);
          long off = r.nextInt(size - data.length);
          d.write(off, data, 0, data.length);
          System.arraycopy(data, 0, expect, (int) off, data.length);
        }
        // Discard 256 KiB: v3 marks the clusters zero; v2 cannot hide the backing file, so
        // the data stays. Both are what blkif's DISCARD allows; this is what Hospes does.
        d.discard(1 << 20, 256 << 10);
        if (compat.equals("1.1")) {
          Arrays.fill(expect, 1 << 20, (1 << 20) + (256 << 10), (byte) 0);
        }
        byte[] all = new byte[size];
        d.read(0, all, 0, size);
        assertThat(Arrays.equals(all, expect)).as("overlay compat=%s", compat).isTrue();
      }
      assertCleanAndEqual(ov, expect);
      byte[] baseAfter = new byte[size];
      try (DiskImage b = images.open(baseImg, "qcow2", true)) {
        b.read(0, baseAfter, 0, size);
      }
      assertThat(Arrays.equals(baseAfter, base)).as("backing file untouched").isTrue();
    }
  }

  @Test
  void refusesWhatItCannotServeAndNamesTheFile() throws Exception {
    Path missing = dir.resolve("nope.qcow2");
    assertThatThrownBy(() -> images.open(missing, null, false))
        .hasMessageContaining(missing.toString());
    Path raw = dir.resolve("plain.img");
    Files.write(raw, new byte[4096]);
    assertThatThrownBy(() -> images.open(raw, "qcow2", false))
        .hasMessageContaining(raw.toString()).hasMessageContaining("not a qcow2 image");
    assertThatThrownBy(() -> images.open(raw, "vmdk", false))
        .hasMessageContaining("unknown disk format 'vmdk'").hasMessageContaining("qcow2, raw");

    Path img = dir.resolve("a.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", img.toString(), "1M");
    // An incompatible feature Hospes does not know (extended L2 entries, bit 4).
    Path ext = copyWithLongAt(img, "ext.qcow2", 72, 1L << 4);
    assertThatThrownBy(() -> images.open(ext, null, true))
        .hasMessageContaining(ext.toString()).hasMessageContaining("extended L2 entries");
    Path dirty = copyWithLongAt(img, "dirty.qcow2", 72, 1L);
    assertThatThrownBy(() -> images.open(dirty, null, false))
        .hasMessageContaining("dirty").hasMessageContaining("qemu-img check -r all");
    try (DiskImage ro = images.open(dirty, null, true)) {
      assertThat(ro.readOnly()).isTrue();
    }
    Path enc = copyWithIntAt(img, "enc.qcow2", 32, 1);
    assertThatThrownBy(() -> images.open(enc, null, true)).hasMessageContaining("encrypted");
    Path l1 = copyWithLongAt(img, "l1.qcow2", 40, 0x1234);
    assertThatThrownBy(() -> images.open(l1, null, true)).hasMessageContaining("L1 table");
    Path truncated = dir.resolve("trunc.qcow2");
    Files.write(truncated, Arrays.copyOf(Files.readAllBytes(img), 40));
    assertThatThrownBy(() -> images.open(truncated, "qcow2", true))
        .hasMessageContaining("too short");

    try (DiskImage ro = images.open(img, null, true)) {
      assertThatThrownBy(() -> ro.write(0, new byte[1], 0, 1))
          .isInstanceOf(ReadOnlyDiskException.class);
      assertThatThrownBy(() -> ro.read(1 << 20, new byte[1], 0, 1))
          .hasMessageContaining("outside");
    }

    qemuImg("snapshot", "-c", "s1", img.toString());
    assertThatThrownBy(() -> images.open(img, null, false)).hasMessageContaining("snapshot");
    try (DiskImage ro = images.open(img, null, true)) {
      ro.read(0, new byte[512], 0, 512);
    }
  }

  @Test
  void backingLoopsAreRefused() throws Exception {
    Path a = dir.resolve("a.qcow2");
    Path b = dir.resolve("b.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", b.toString(), "1M");
    qemuImg("create", "-q", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", a.toString());
    // Point b back at a, behind qemu-img's back (rebase -u does no checks).
    qemuImg("rebase", "-u", "-b", "a.qcow2", "-F", "qcow2", b.toString());
    assertThatThrownBy(() -> images.open(a, null, false)).hasMessageContaining("loop");
  }

  @Test
  void aProbedRawDiskCannotBeTurnedIntoQcow2ByItsGuest() throws Exception {
    Path raw = dir.resolve("guest.img");
    Files.write(raw, new byte[1 << 20]);
    byte[] header = Files.readAllBytes(qcow2Header());
    try (DiskImage d = images.open(raw, null, false)) {
      assertThat(d.format()).isEqualTo("raw");
      assertThatThrownBy(() -> d.write(0, header, 0, 512))
          .hasMessageContaining("format=raw");
      // Byte by byte does not get around it either: the check is on the sector as it would be.
      d.write(0, header, 0, 3);
      assertThatThrownBy(() -> d.write(3, header, 3, 1)).hasMessageContaining("qcow2");
      d.write(4096, header, 0, 512);
    }
    try (DiskImage d = images.open(raw, "raw", false)) {
      d.write(0, header, 0, 512);
    }
    assertThat(images.open(raw, null, true).format()).isEqualTo("qcow2");
  }

  // ---- helpers ----

  private Path qcow2Header() throws Exception {
    Path p = dir.resolve("hdr.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", p.toString(), "1M");
    return p;
  }

  private static int clusterSize(DiskImage d) {
    return ((Qcow2Image) d).clusterSize();
  }

  private static void zeroWholeClusters(byte[] model, long off, int len, int cluster) {
    long first = (off + cluster - 1) / cluster * cluster;
    long end = (off + len) / cluster * cluster;
    if (off + len == model.length) {
      end = model.length;
    }
    if (end > first) {
      Arrays.fill(model, (int) first, (int) end, (byte) 0);
    }
  }

  private static void assertReadsEqual(DiskImage d, byte[] model, Random r, String what)
      throws IOException {
    for (int k = 0; k < 20; k++) {
      int len = 1 + r.nextInt(20_000);
      int off = r.nextInt(model.length - len + 1);
      byte[] got = new byte[len];
      d.read(off, got, 0, len);
      assertThat(Arrays.equals(got, 0, len, model, off, off + len))
          .as("%s: read at %d (+%d)", what, off, len).isTrue();
    }
  }

  private void assertCleanAndEqual(Path img, byte[] model) throws Exception {
    String check = qemuImg("check", img.toString());
    assertThat(check).contains("No errors were found on the image.");
    assertThat(check).doesNotContain("leaked");
    Path out = dir.resolve("out.raw");
    Files.deleteIfExists(out);
    qemuImg("convert", "-q", "-O", "raw", img.toString(), out.toString());
    byte[] got = Files.readAllBytes(out);
    assertThat(got.length).isEqualTo(model.length);
    int diff = -1;
    for (int i = 0; i < got.length; i++) {
      if (got[i] != model[i]) {
        diff = i;
        break;
      }
    }
    assertThat(diff).as("first byte where qemu-img's view differs").isEqualTo(-1);
  }

  private Path copyWithLongAt(Path src, String name, int at, long value) throws IOException {
    Path p = dir.resolve(name);
    Files.copy(src, p);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.seek(at);
      f.writeLong(value);
    }
    return p;
  }

  private Path copyWithIntAt(Path src, String name, int at, int value) throws IOException {
    Path p = dir.resolve(name);
    Files.copy(src, p);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.seek(at);
      f.writeInt(value);
    }
    return p;
  }

  private String qemuImg(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("qemu-img");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("qemu-img %s:%n%s", String.join(" ", args), out).isZero();
    return out;
  }
}
