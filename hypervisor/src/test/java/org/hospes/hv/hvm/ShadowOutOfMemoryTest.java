package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.hospes.hv.hvm.GuestCode.le;
import static org.hospes.hv.hvm.GuestCode.write;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/**
 * A shadow-paged guest that needs more shadow page tables than the host has machine memory
 * for. Xen's shadow code cannot allocate then either, and crashes that domain (domain_crash):
 * so does Hospes, with the reason in the domain's end reason, while the host and the other
 * domains go on and the crashed domain's frames, shadows included, go back to the pool.
 */
class ShadowOutOfMemoryTest {
  private static final int CODE = 0x1000;
  private static final int PD = 0xB000;
  private static final int PT = 0xC000;
  private static final int PD2 = 0xD000;
  private static final int FLAG = 0x6000;
  private static final int COUNTER = 0x5000;
  private static final int ROUNDS = 200_000;

  private final Hypervisor hv = new Hypervisor(16, new RoundRobinScheduler(),
      new DefaultCostModel());

  /**
   * A domain with 2-level paging ready: one page table mapping the first 4 MiB of
   * guest-physical memory, and two page directories ({@link #PD}, {@link #PD2}) whose every
   * entry names it, so that each 4 MiB of the linear space is the same 4 MiB and each needs a
   * shadow page table of its own. The code turns paging on with {@link #PD} and goes on with
   * {@code code}.
   */
  private Domain hog(String code) {
    Domain d = hv.createHvmDomain("hog", DomainMode.HVM_SHADOW, 2);
    var m = d.memory();
    for (int i = 0; i < 1024; i++) {
      m.write32(PT + 4L * i, i << 12 | 7);
      m.write32(PD + 4L * i, PT | 7);
      m.write32(PD2 + 4L * i, PT | 7);
    }
    // cli ; cr3 = PD ; cr0.PG = 1 ; the test's code.
    write(d, CODE, "fa b8" + le(PD) + " 0f22d8 0f20c0 0d00000080 0f22c0 " + code);
    d.vcpus().get(0).cpu().setEip(CODE);
    return d;
  }

  /** An EPT domain that counts to {@link #ROUNDS} in memory and halts. */
  private Domain bystander() {
    Domain d = hv.createHvmDomain("bystander", DomainMode.HVM_EPT, 2);
    // cli ; ecx = ROUNDS ; loop: inc dword [COUNTER] ; dec ecx ; jnz loop ; hlt
    write(d, CODE, "fa b9" + le(ROUNDS) + " ff05" + le(COUNTER) + " 49 75f7 f4");
    d.vcpus().get(0).cpu().setEip(CODE);
    d.memory().write32(0x7000, 0xC0FFEE);
    return d;
  }

  private void assertBystanderFinished(Domain other) {
    assertThat(other.state()).as("%s", other.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(other.endReason()).isEqualTo("halted");
    assertThat(other.memory().read32(COUNTER)).isEqualTo(ROUNDS);
    assertThat(other.memory().read32(0x7000)).isEqualTo(0xC0FFEE);
  }

  @Test
  void shadowFaultsBeyondMachineMemoryCrashTheDomainOnly() {
    // Reads at 4 MiB steps over the whole linear space: 1023 shadow page tables, about 4 MiB,
    // where a domain that takes most of what is left has left less than 1 MiB.
    Domain d = hog("bb00004000 8b03 81c300004000 75f6 f4");
    Domain other = bystander();
    int leftMiB = hv.frames().freeFrames() / 256;
    Domain filler = hv.createHvmDomain("filler", DomainMode.HVM_EPT, leftMiB - 1);
    assertThat(hv.frames().freeFrames()).isLessThan(1023);
    int freeBefore = hv.frames().freeFrames();
    hv.unpause(d);
    hv.unpause(other);

    assertThatCode(() -> hv.run(2_000_000_000L)).doesNotThrowAnyException();

    assertThat(d.state()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).contains("out of machine memory").contains("shadow");
    assertBystanderFinished(other);
    assertThat(filler.state()).isEqualTo(DomainState.CREATED);
    // Its shadows are gone with its processor; its RAM (the bystander's too: it ended) is
    // free again once the toolstack destroys them, as in Xen.
    assertThat(d.shadow().shadowFrames()).isZero();
    hv.destroy(d, "xl destroy");
    hv.destroy(other, "xl destroy");
    assertThat(hv.frames().freeFrames()).isGreaterThan(freeBefore + 512);
    assertThat(d.shadow().shadowFrames()).isZero();
  }

  @Test
  void aCr3LoadThatFindsNoFrameForItsShadowCrashesTheDomainOnly() {
    // Paging on, then wait for the flag and load CR3 with the second page directory: a new
    // shadow root, allocated from the CR access's exit handling.
    // wait: cmp dword [FLAG], 0 ; je wait ; eax = PD2 ; cr3 = eax ; hlt
    Domain d = hog("833d" + le(FLAG) + "00 74f7 b8" + le(PD2) + " 0f22d8 f4");
    Domain other = bystander();
    hv.unpause(d);
    hv.run(1_000_000L);
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);
    assertThat(d.vcpus().get(0).cpu().cr0() & Cpu.CR0_PG).as("paging on").isNotZero();
    // Something else (another domain, the toolstack) took every free frame meanwhile.
    FrameTable frames = hv.frames();
    while (frames.freeFrames() > 0) {
      frames.allocate(0x7000);
    }
    d.memory().write32(FLAG, 1);
    hv.unpause(other);

    assertThatCode(() -> hv.run(2_000_000_000L)).doesNotThrowAnyException();

    assertThat(d.state()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).contains("out of machine memory").contains("shadow");
    assertBystanderFinished(other);
  }
}
