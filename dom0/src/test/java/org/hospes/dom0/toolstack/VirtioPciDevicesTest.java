package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.devicemodel.ForeignGuestDma;
import org.hospes.dom0.devicemodel.virtio.VirtioBlk;
import org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VirtioPciDevicesTest {
  @TempDir
  Path tmp;

  @Test
  void aVirtioDiskReadsItsImageIntoARealDomainsMemoryThroughForeignMappings() throws Exception {
    Path img = tmp.resolve("d.img");
    byte[] data = new byte[1 << 16];
    new java.util.Random(7).nextBytes(data);
    Files.write(img, data);
    HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 16, new ByteArrayOutputStream(),
        new PrintStream(new ByteArrayOutputStream()));
    DiskSpec spec = DiskSpec.parse(img + ",format=raw,bus=virtio", 0, null);
    int domid = m.domain().domid();
    VirtioPciLegacy t = VirtioPciDevices.attachDisk(m.hypervisor(), m.deviceModel(), domid,
        spec, spec.open());
    assertThat(m.deviceModel().pci().functions()).containsKey(4 << 3);
    ForeignGuestDma dma = new ForeignGuestDma(m.hypervisor().control(), domid);
    t.out(VirtioPciLegacy.DEVICE_STATUS, 1, 3);
    t.out(VirtioPciLegacy.QUEUE_SELECT, 2, 0);
    t.out(VirtioPciLegacy.QUEUE_ADDRESS, 4, 0x100); // queue at 1 MiB
    t.out(VirtioPciLegacy.DEVICE_STATUS, 1, 7);
    long desc = 0x100000;
    long avail = desc + 16 * 128;
    long hdr = 0x200000;
    long buf = 0x201000;
    dma.write(hdr, new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}, 0, 16);
    byte[] d = new byte[48];
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(d).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.putLong(hdr).putInt(16).putShort((short) 1).putShort((short) 1);
    b.putLong(buf).putInt(4096).putShort((short) 3).putShort((short) 2);
    b.putLong(hdr + 16).putInt(1).putShort((short) 2).putShort((short) 0);
    dma.write(desc, d, 0, 48);
    dma.write(avail, new byte[] {0, 0, 1, 0, 0, 0}, 0, 6);
    t.out(VirtioPciLegacy.QUEUE_NOTIFY, 2, 0);
    VirtioBlk blk = (VirtioBlk) t.device();
    assertThat(blk.errors).isZero();
    assertThat(blk.reads).isEqualTo(1);
    byte[] got = new byte[4096];
    dma.read(buf, got, 0, 4096);
    assertThat(got).isEqualTo(java.util.Arrays.copyOfRange(data, 1024, 1024 + 4096));
    assertThat(t.function().irqLevel()).isTrue();
  }
}
