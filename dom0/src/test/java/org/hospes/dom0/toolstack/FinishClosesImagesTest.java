package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.disk.DiskImages;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The end of a run (its limit reached, or Ctrl-C: the loop stops and the command winds up
 * with {@link HostRunner#finish}) closes the images of the vbds of domains still alive: a
 * writable image is flushed on close (ImageCloseFlushTest), and here its write lock is seen
 * released, which only its close does. Before, a live domain's vbd image stayed open, unflushed
 * and locked until the process died.
 */
class FinishClosesImagesTest {
  @TempDir
  Path dir;

  @Test
  void finishClosesTheImagesOfLiveDomainsVbds() throws Exception {
    Path img = dir.resolve("a.img");
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    long paddr = 0x10_0000;
    // jmp $: the guest runs until the host stops it.
    Path kernel = Files.write(dir.resolve("k.elf"), new ElfImageBuilder().entry(paddr)
        .segment(paddr, new byte[] {(byte) 0xEB, (byte) 0xFE}, 0x1000).pvhEntryNote(paddr)
        .build());
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    GuestDomain g = host.start(DomainSpec.parse("a=" + kernel + ",mode=pvh,disk=" + img, dir),
        Files.readAllBytes(kernel));
    host.run(1_000_000);
    assertThat(g.isLive()).isTrue();
    assertThat(host.blockBackends(g.domain().domid())).hasSize(1);
    host.finish();
    // Its lock was released: another writer (a later run) may open it.
    try (DiskImage again = new DiskImages().open(img, null, false)) {
      assertThat(again.readOnly()).isFalse();
    }
  }
}
