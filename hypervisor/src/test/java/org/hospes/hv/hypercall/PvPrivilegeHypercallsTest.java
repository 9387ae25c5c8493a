package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.abi.Hypercall;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.pv.PvGdt;
import org.hospes.hv.pv.PvVcpu;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The iret hypercall's way out when the frame's selectors fault (the failsafe callback), the
 * debug registers (set_debugreg, get_debugreg) and the I/O privilege of physdev_op (set_iopl,
 * set_iobitmap) for a classic PV32 vCPU, with Xen 4.17's checks and errnos.
 */
class PvPrivilegeHypercallsTest {
  private static final int FAILSAFE = 0x5100;
  private static final int BITMAP = 0x10000;
  private static final int ARG = 0x9000;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain d;
  private PvVcpu pv;
  private Cpu cpu;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    d = PvTestDomains.create(hv, "pv");
    pv = d.pv();
    cpu = pv.cpu();
  }

  private Vcpu v() {
    return d.vcpus().get(0);
  }

  private int call(Hypercall h, int a1, int a2) {
    return hc.dispatch(v(), h.number(), a1, a2, 0, 0, 0);
  }

  private void write32(int va, int value) {
    byte[] b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    assertThat(pv.mmu().copyToGuest(va, b)).isTrue();
  }

  private int read32(int va) {
    byte[] b = new byte[4];
    assertThat(pv.mmu().copyFromGuest(va, b)).isTrue();
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
  }

  /** The guest's iret stub: EAX pushed over {eip, cs, eflags}, then int 0x82 with EAX 23. */
  private void iret(int eip, int cs, int eflags) {
    int sp = PvTestDomains.STACK_TOP - 16;
    write32(sp, 0x1234);
    write32(sp + 4, eip);
    write32(sp + 8, cs);
    write32(sp + 12, eflags);
    cpu.setReg(Cpu.ESP, sp);
    cpu.setReg(Cpu.EAX, Hypercall.IRET.number());
    hc.handlePv(v());
  }

  @Test
  void anIretWhoseSelectorFaultsEntersTheFailsafeCallbackWithTheDataSelectors() {
    assertThat(pv.traps().setCallbacks(PvGdt.FLAT_RING1_CS, 0x5200, PvGdt.FLAT_RING1_CS,
        FAILSAFE)).isZero();
    iret(0x6000, 0x0019, 0x202); // GDT entry 3: the guest never set a GDT, not present
    assertThat(d.state().isFinal()).isFalse();
    assertThat(cpu.eip()).isEqualTo(FAILSAFE);
    assertThat(cpu.segmentSelector(Cpu.CS)).isEqualTo(PvGdt.FLAT_RING1_CS);
    int sp = cpu.reg(Cpu.ESP);
    // {DS, ES, FS, GS, EIP, CS | mask << 16, EFLAGS} (compat_failsafe_callback's frame).
    assertThat(read32(sp)).isEqualTo(PvGdt.FLAT_RING1_DS);
    assertThat(read32(sp + 12)).isEqualTo(PvGdt.FLAT_RING1_DS);
    assertThat(read32(sp + 16)).isEqualTo(0x6000);
    assertThat(read32(sp + 20) & 0xFFFF).isEqualTo(0x0019);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(0x1234);
  }

  @Test
  void anIretWithABadSelectorAndNoFailsafeOrAnUnreadableFrameCrashesTheDomain() {
    iret(0x6000, 0x0019, 0x202);
    assertThat(d.state()).isEqualTo(DomainState.CRASHED);
    Domain e = PvTestDomains.create(hv, "e");
    e.pv().cpu().setReg(Cpu.ESP, 0x3000_0000); // nothing mapped there
    e.pv().cpu().setReg(Cpu.EAX, Hypercall.IRET.number());
    hc.handlePv(e.vcpus().get(0));
    assertThat(e.state()).isEqualTo(DomainState.CRASHED);
  }

  @Test
  void anIretToRing1GoesBackWithTheUpcallMaskFromIf() {
    iret(0x6000, PvGdt.FLAT_RING1_CS, 0x202);
    assertThat(cpu.eip()).isEqualTo(0x6000);
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(PvTestDomains.STACK_TOP);
    assertThat(pv.upcallMask()).isZero();
  }

  @Test
  void debugRegistersFollowXensChecks() {
    assertThat(call(Hypercall.SET_DEBUGREG, 0, 0x5000)).isZero();
    assertThat(cpu.debugRegister(0)).isEqualTo(0x5000);
    assertThat(call(Hypercall.GET_DEBUGREG, 0, 0)).isEqualTo(0x5000);
    // DR6: reserved ones set, bit 12 clear.
    assertThat(call(Hypercall.SET_DEBUGREG, 6, 0x1001)).isZero();
    assertThat(call(Hypercall.GET_DEBUGREG, 6, 0)).isEqualTo(0xFFFF_0FF1);
    // DR7: bit 10 set, 11, 12, 14, 15 clear; DR5 is DR7 without CR4.DE.
    assertThat(call(Hypercall.SET_DEBUGREG, 7, 0xF801)).isZero();
    assertThat(call(Hypercall.GET_DEBUGREG, 7, 0)).isEqualTo(0x2401);
    assertThat(call(Hypercall.GET_DEBUGREG, 5, 0)).isEqualTo(0x2401);
    assertThat(call(Hypercall.SET_DEBUGREG, 4, 0)).isZero();
    assertThat(call(Hypercall.GET_DEBUGREG, 6, 0)).isEqualTo(0xFFFF_0FF0);
    // An enabled I/O breakpoint (R/W 10) needs CR4.DE.
    assertThat(call(Hypercall.SET_DEBUGREG, 7, 0x0002_0001))
        .isEqualTo(XenErrno.EPERM.negated());
    assertThat(call(Hypercall.SET_DEBUGREG, 7, 0x0002_0000)).isZero(); // not enabled: kept
    assertThat(call(Hypercall.SET_DEBUGREG, 8, 0)).isEqualTo(XenErrno.ENODEV.negated());
    assertThat(call(Hypercall.SET_DEBUGREG, -1, 0)).isEqualTo(XenErrno.ENODEV.negated());
    assertThat(call(Hypercall.GET_DEBUGREG, 8, 0)).isEqualTo(XenErrno.ENODEV.negated());
  }

  @Test
  void setIoplAndSetIobitmapCheckTheirArguments() {
    write32(ARG, 4);
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOPL, ARG))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOPL, 0x3000_0000))
        .isEqualTo(XenErrno.EFAULT.negated());
    write32(ARG, 0xF580_0000 - 8192);
    write32(ARG + 4, 65536);
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOBITMAP, ARG)).isZero();
    write32(ARG, 0xF580_0000 - 8191);
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOBITMAP, ARG))
        .isEqualTo(XenErrno.EINVAL.negated());
    write32(ARG, BITMAP);
    write32(ARG + 4, 65537);
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOBITMAP, ARG))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOBITMAP, 0x3000_0000))
        .isEqualTo(XenErrno.EFAULT.negated());
    assertThat(call(Hypercall.PHYSDEV_OP, 99, ARG)).isEqualTo(XenErrno.ENOSYS.negated());
  }

  @Test
  void theIoBitmapAdmitsPortsWithClearBitsBelowItsLimit() {
    // Bitmap at VA 0x10000 (pfn 16); all ports denied, then 0x3F8..0x3FF allowed.
    for (int i = 0; i < 4096; i += 4) {
      write32(BITMAP + i, -1);
    }
    write32(BITMAP + (0x3F8 >>> 3), 0xFFFF_FF00);
    write32(ARG, BITMAP);
    write32(ARG + 4, 0x400);
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOBITMAP, ARG)).isZero();
    assertThat(pv.ioOkay(0x3F8, 1)).isTrue();
    assertThat(pv.ioOkay(0x3FC, 4)).isTrue();
    assertThat(pv.ioOkay(0x3FE, 4)).isFalse(); // past the limit
    assertThat(pv.ioOkay(0x3F6, 4)).isFalse(); // 0x3F6, 0x3F7 denied
    assertThat(pv.ioOkay(0x80, 1)).isFalse();
    // Bytes of the bitmap that are not mapped read as all ones (pfn 32 is not mapped).
    write32(ARG, 0x20000 - 1 - (0x3F8 >>> 3));
    write32(ARG + 4, 65536);
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOBITMAP, ARG)).isZero();
    assertThat(pv.mmu().copyToGuest(0x20000 - 1, new byte[1])).isTrue();
    assertThat(pv.ioOkay(0x3F8, 1)).isTrue();
    assertThat(pv.ioOkay(0x3FF, 2)).isFalse(); // port 0x400's byte is unmapped
    // IOPL 1 admits ring 1 whatever the bitmap; ring 3 needs IOPL 3.
    write32(ARG, BITMAP);
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOBITMAP, ARG)).isZero();
    write32(ARG, 1);
    assertThat(call(Hypercall.PHYSDEV_OP, PvHypercalls.PHYSDEVOP_SET_IOPL, ARG)).isZero();
    assertThat(pv.ioOkay(0x80, 1)).isTrue();
    assertThat(cpu.returnToRing(PvGdt.FLAT_RING3_CS, 0x6000, PvGdt.FLAT_RING3_DS, 0x7000,
        0x202)).isNegative();
    assertThat(cpu.cpl()).isEqualTo(3);
    assertThat(pv.ioOkay(0x80, 1)).isFalse();
    pv.setIopl(3);
    assertThat(pv.ioOkay(0x80, 1)).isTrue();
  }
}
