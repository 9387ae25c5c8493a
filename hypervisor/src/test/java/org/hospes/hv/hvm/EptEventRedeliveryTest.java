package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.hv.hvm.GuestCode.le;
import static org.hospes.hv.hvm.GuestCode.write;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.memory.P2m;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An EPT violation during an event's delivery (SDM 27.2.4): the exit records the event in the
 * IDT-vectoring information, and the hypervisor queues it again before it handles the
 * violation, as Xen's vmx_vmexit_handler does (vmx_idtv_reinject, for every exit but a task
 * switch), so that the event is delivered once the access is dealt with. Here the guest's
 * stack is on a frame with nothing behind it (the guest gave it back): each push of the
 * interrupt's frame is an EPT violation on a data access, completed as an access to nothing
 * (the write dropped, as Xen drops it), and the delivery goes on from where it stopped.
 */
class EptEventRedeliveryTest {
  private static final int CODE = 0x1000;
  private static final int HANDLER = 0x1800;
  private static final int VECTOR = 0x30;
  /** The handler counts its runs here and records its ESP. */
  private static final int COUNT = 0x6000;
  private static final int SAVED_ESP = 0x6004;

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void anInterruptWhosePushesHitAnUnbackedStackIsDeliveredOnce(DomainMode mode) {
    Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("g", mode, 2);
    var m = d.memory();
    // GDT (null, flat code 0x08, flat data 0x10) at 0x3010, its descriptor at 0x3000; the
    // IDT's gates up to VECTOR at 0x2000, all to the handler, its descriptor at 0x3008.
    FlatDescriptorTables.write(m, 0x3010, 0x3000, 0x2000, 0x3008, VECTOR + 1, g -> HANDLER);
    // inc dword [COUNT] ; mov [SAVED_ESP], esp ; hlt (an interrupt gate: IF is clear)
    write(d, HANDLER, "ff05" + le(COUNT) + " 8925" + le(SAVED_ESP) + " f4");
    // lgdt [0x3000] ; lidt [0x3008] ; sti ; nop ; cli ; hlt
    write(d, CODE, "0f011500300000 0f011d08300000 fb 90 fa f4");
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.setEip(CODE);
    cpu.setReg(Cpu.ESP, 0x9000);
    // The stack's frame, 0x8000-0x8FFF, is not in the P2M: no EPT entry.
    assertThat(hv.setPhysmap(d, 0x8, P2m.INVALID, true)).isTrue();
    LocalApic apic = hv.platform(d).lapic(0);
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.accept(VECTOR);
    hv.unpause(d);
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(m.read32(COUNT)).as("handler runs").isEqualTo(1);
    // EFLAGS, CS and EIP pushed (into nothing) by an interrupt gate at the same privilege.
    assertThat(m.read32(SAVED_ESP)).as("handler's ESP").isEqualTo(0x9000 - 12);
    // One exit per push: each completed once, then found done when the delivery went on
    // (under shadow paging, the #PF of the MMIO shadow entry, after the hidden fault that
    // made it).
    var counters = d.vcpus().get(0).counters();
    assertThat(mode == DomainMode.HVM_EPT ? counters.eptViolations : counters.shadowMmio)
        .as("accesses to nothing").isEqualTo(3);
  }
}
