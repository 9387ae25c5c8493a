package org.hospes.dom0.devicemodel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.memory.P2m;
import org.junit.jupiter.api.Test;

/**
 * The device models' view of an HVM guest's memory: dom0's foreign mappings kept in a map
 * cache, as QEMU's on Xen, and dropped when the guest's P2M changes.
 */
class ForeignGuestDmaTest {
  private final HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 32,
      new ByteArrayOutputStream(), new PrintStream(new ByteArrayOutputStream()));
  private final Domain d = m.domain();
  private final DomainControl dom0 = m.hypervisor().control();
  private final ForeignGuestDma dma = new ForeignGuestDma(dom0, d.domid());

  /**
   * A virtqueue's small accesses (a 2-byte index, a 16-byte descriptor, an 8-byte used element)
   * map their page once: dom0 was charged a foreign map and unmap for each before, 2,000
   * cycles apiece, which made virtio-net cost dom0 12.7 million cycles per MiB.
   */
  @Test
  void repeatedAccessesToAPageMapItOnce() {
    long before = dom0.foreignMaps();
    for (int i = 0; i < 100; i++) {
      dma.write32(0x100000 + 8 * i, i);
      assertThat(dma.read32(0x100000 + 8 * i)).isEqualTo(i);
    }
    // A transfer across a page boundary maps the next page too.
    dma.write(0x100FFE, new byte[] {1, 2, 3, 4}, 0, 4);
    assertThat(dom0.foreignMaps() - before).isEqualTo(2);
    assertThat(dma.mappedPages()).isEqualTo(2);
    byte[] got = new byte[4];
    dma.read(0x100FFE, got, 0, 4);
    assertThat(got).containsExactly(1, 2, 3, 4);
  }

  /** A frame the guest gave back is never reached through a mapping made before. */
  @Test
  void aP2mChangeDropsTheCachedMappings() {
    long gfn = 0x123;
    dma.write32(gfn << 12, 0x1111);
    long oldMfn = d.p2m().lookup(gfn);
    // The guest balloons the frame out (XENMEM_decrease_reservation).
    m.hypervisor().setPhysmap(d, gfn, P2m.INVALID, true);
    assertThatThrownBy(() -> dma.write32(gfn << 12, 0x2222))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(m.hypervisor().machineMemory().read32(oldMfn << 12)).isEqualTo(0x1111);
    assertThat(dma.mappedPages()).isZero();
    assertThat(dom0.liveForeignMaps()).isZero();
  }

  @Test
  void atMostMaxPagesStayMapped() {
    for (int i = 0; i <= ForeignGuestDma.MAX_PAGES; i++) {
      dma.read32((long) (0x100 + i) << 12);
    }
    assertThat(dma.mappedPages()).isEqualTo(ForeignGuestDma.MAX_PAGES);
    assertThat(dom0.liveForeignMaps()).isEqualTo(ForeignGuestDma.MAX_PAGES);
  }

  /**
   * Each cached page holds a reference on the guest's frame: the cache goes when the guest
   * ends, so a destroyed guest finishes dying and its memory comes back.
   */
  @Test
  void theCacheGoesWhenTheGuestEndsSoADestroyedGuestIsReleased() {
    int freeWithGuest = m.hypervisor().frames().freeFrames();
    for (int i = 0; i < 8; i++) {
      dma.write32((long) (0x100 + i) << 12, i);
    }
    assertThat(dom0.liveForeignMaps()).isEqualTo(8);
    m.hypervisor().destroy(d, "xl destroy");
    assertThat(dma.mappedPages()).isZero();
    assertThat(dom0.liveForeignMaps()).isZero();
    assertThat(m.hypervisor().isHeld(d)).isFalse();
    assertThat(m.hypervisor().domain(d.domid())).isNull();
    assertThat(m.hypervisor().frames().freeFrames()).isGreaterThan(freeWithGuest);
    assertThat(d.foreignRefs().isEmpty()).isTrue();
  }
}
