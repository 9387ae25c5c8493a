package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A PVH build whose kernel cannot be loaded destroys the domain it created: no domain is left
 * running or paused, and its frames (RAM, EPT tables, shared_info, grant table) are free.
 */
class PvhDomainBuilderTest {
  private static final long KERNEL = 0x10_0000;

  private final Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(),
      new DefaultCostModel());
  private final PvhDomainBuilder builder =
      new PvhDomainBuilder(hv, new XenstoreService(hv.control(), hv.costModel()));

  private static byte[] kernel(long paddr, boolean pvhNote) {
    byte[] text = {(byte) 0xF4};
    ElfImageBuilder elf = new ElfImageBuilder().entry(paddr).segment(paddr, text, 0x1000);
    if (pvhNote) {
      elf.pvhEntryNote(paddr);
    }
    return elf.build();
  }

  private long liveGuests() {
    return hv.domains().stream().filter(d -> d.domid() != 0 && !d.state().isFinal()
        && d.state() != DomainState.DYING).count();
  }

  @ParameterizedTest
  @ValueSource(strings = {"garbage", "truncated", "no-pvh-note", "beyond-ram"})
  void aKernelThatDoesNotLoadLeavesNoDomainAndNoFrames(String kind) {
    byte[] image = switch (kind) {
      case "garbage" -> "not an ELF image at all, just words".getBytes();
      case "truncated" -> java.util.Arrays.copyOf(kernel(KERNEL, true), 40);
      case "no-pvh-note" -> kernel(KERNEL, false);
      default -> kernel(256L << 20, true); // its segment is far above the domain's 16 MiB
    };
    int free = hv.frames().freeFrames();

    assertThatThrownBy(() -> builder.build("bad", 16, image, "", new ByteArrayOutputStream()))
        .isInstanceOfAny(BootException.class, RuntimeException.class);

    assertThat(liveGuests()).as("domains left").isZero();
    // Destroyed with nothing holding it: gone from the hypervisor's lists.
    assertThat(hv.domains()).noneMatch(d -> d.name().equals("bad"));
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
  }

  @Test
  void aGoodKernelStillBuildsAfterABadOne() throws Exception {
    int free = hv.frames().freeFrames();
    assertThatThrownBy(() -> builder.build("bad", 16, new byte[64], "",
        new ByteArrayOutputStream())).isInstanceOf(Exception.class);

    PvhDomainBuilder.Built b = builder.build("good", 16, kernel(KERNEL, true), "",
        new ByteArrayOutputStream());
    Domain d = b.domain();
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);
    assertThat(liveGuests()).isEqualTo(1);
    hv.destroy(d, "test");
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
  }
}
