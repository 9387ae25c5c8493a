package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.hv.hvm.GuestCode.le;
import static org.hospes.hv.hvm.GuestCode.write;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/**
 * Under shadow paging, an external interrupt whose delivery takes a #PF the guest must see (its
 * own tables leave the IDT gate's page not present). Xen's vmx_vmexit_handler queues the
 * interrupt again (vmx_idtv_reinject), then the #PF intercept finds a guest fault and
 * hvm_inject_page_fault's vmx_inject_event writes the #PF over it: only a pending hardware
 * exception is combined with the new one (hvm_combine_hw_exceptions). The interrupt, already
 * acknowledged (IRR to ISR), is gone, and its ISR bit stays set until the guest's next EOI, as
 * on a processor, which does not deliver an interrupt again after a fault in its delivery.
 */
class ShadowFaultDuringInterruptTest {
  private static final int CODE = 0x1000;
  private static final int PF_HANDLER = 0x1800;
  private static final int INT_HANDLER = 0x1900;
  private static final int VECTOR = 0x30;
  /** IDT base: gates 0-0x1F on page 0x2000, gates 0x20-0x30 on page 0x3000. */
  private static final int IDT = 0x2F00;
  private static final int PD = 0x4000;
  private static final int PT = 0x5000;
  private static final int PF_COUNT = 0x6000;
  private static final int CR2 = 0x6004;
  private static final int ERROR = 0x6008;
  private static final int RETURN = 0x600C;
  private static final int INT_COUNT = 0x6010;

  @Test
  void theGuestsPageFaultReplacesTheInterruptWhichStaysInService() {
    Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("g", DomainMode.HVM_SHADOW, 8);
    var m = d.memory();
    // GDT (null, flat code 0x08, flat data 0x10) at 0x1F00, its descriptor at 0x1E00; the
    // IDT's descriptor at 0x1E08.
    FlatDescriptorTables.write(m, 0x1F00, 0x1E00, IDT, 0x1E08, VECTOR + 1,
        g -> g == 14 ? PF_HANDLER : INT_HANDLER);
    // The guest's tables: 0-4 MiB identity, but page 0x3000 (gate VECTOR) not present.
    m.write32(PD, PT | 3);
    for (int i = 0; i < 1024; i++) {
      m.write32(PT + i * 4, i == 3 ? 0 : i << 12 | 3);
    }
    // #PF: count; CR2, error code and return EIP saved; page 0x3000 mapped; iret.
    write(d, PF_HANDLER, "ff05" + le(PF_COUNT) + " 0f20d0 a3" + le(CR2) + " 58 a3" + le(ERROR)
        + " 8b0424 a3" + le(RETURN) + " c705" + le(PT + 12) + le(0x3003)
        + " 0f013d" + le(0x3000) + " cf");
    // The interrupt's handler: count; cli; hlt.
    write(d, INT_HANDLER, "ff05" + le(INT_COUNT) + " fa f4");
    // lgdt ; lidt ; paging on (CR3 = PD) ; sti ; nop ; cli ; hlt
    write(d, CODE, "0f0115" + le(0x1E00) + " 0f011d" + le(0x1E08) + " b8" + le(PD)
        + " 0f22d8 0f20c0 0d" + le(0x8000_0000) + " 0f22c0 fb 90 fa f4");
    int cli = CODE + 7 + 7 + 5 + 3 + 3 + 5 + 3 + 2;
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.setEip(CODE);
    cpu.setReg(Cpu.ESP, 0x9000);
    LocalApic apic = hv.platform(d).lapic(0);
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.accept(VECTOR);
    hv.unpause(d);
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(m.read32(PF_COUNT)).as("#PF handler runs").isEqualTo(1);
    assertThat(m.read32(CR2)).as("CR2: the gate").isEqualTo(IDT + VECTOR * 8);
    assertThat(m.read32(ERROR)).as("error code: supervisor read, not present").isZero();
    assertThat(m.read32(RETURN)).as("return EIP: where the interrupt came").isEqualTo(cli);
    assertThat(m.read32(INT_COUNT)).as("interrupt handler runs").isZero();
    assertThat(apic.read(LocalApic.ISR + (VECTOR >>> 5) * 0x10, 4) >>> (VECTOR & 31) & 1)
        .as("ISR bit of the lost interrupt").isEqualTo(1);
    assertThat(apic.read(LocalApic.IRR + (VECTOR >>> 5) * 0x10, 4) >>> (VECTOR & 31) & 1)
        .as("IRR bit").isZero();
  }
}
