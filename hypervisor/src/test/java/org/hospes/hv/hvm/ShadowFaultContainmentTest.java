package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hospes.hv.hvm.GuestCode.le;
import static org.hospes.hv.hvm.GuestCode.write;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.memory.ShadowPager;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;

/**
 * What the shadow pager's #PF path contains: a guest's page tables it cannot read (GuestError)
 * crash that domain, as running out of machine memory does (ShadowOutOfMemoryTest); anything
 * else is a bug of the hypervisor's and must not be passed off as the guest's fault.
 */
class ShadowFaultContainmentTest {
  private static final int CODE = 0x1000;

  private final Hypervisor hv = new Hypervisor(16, new RoundRobinScheduler(),
      new DefaultCostModel());

  @Test
  void pageTablesOutsideTheGuestsMemoryCrashItsDomainOnly() {
    Domain d = hv.createHvmDomain("bad-cr3", DomainMode.HVM_SHADOW, 2);
    // cli ; cr3 = 64 MiB (no RAM there) ; cr0.PG = 1 ; hlt
    write(d, CODE, "fa b8" + le(0x400_0000) + " 0f22d8 0f20c0 0d00000080 0f22c0 f4");
    d.vcpus().get(0).cpu().setEip(CODE);
    hv.unpause(d);

    assertThatCode(() -> hv.run(10_000_000L)).doesNotThrowAnyException();

    assertThat(d.state()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).contains("outside its memory");
  }

  @Test
  void aBugInThePageFaultPathIsNotTakenForTheGuests() {
    Domain d = hv.createHvmDomain("victim", DomainMode.HVM_SHADOW, 2);
    // cli ; a read of a page not touched yet ; hlt
    write(d, CODE, "fa a1" + le(0x8000) + " f4");
    d.vcpus().get(0).cpu().setEip(CODE);
    // A fault to fix ends with the TLB flush of that page: plant a bug there.
    ShadowPager shadow = d.shadow();
    shadow.select(0);
    shadow.setTlb(new ShadowPager.Tlb() {
      @Override
      public void invalidatePage(int lin) {
        throw new IllegalStateException("planted bug in the #PF path");
      }

      @Override
      public void invalidateAll() {
      }
    });
    hv.unpause(d);

    assertThatThrownBy(() -> hv.run(10_000_000L))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("planted bug");
    assertThat(d.state()).as("the domain was not blamed").isNotEqualTo(DomainState.CRASHED);
  }
}
