package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.abi.Hypercall;
import org.hospes.abi.SharedInfo;
import org.hospes.abi.VcpuOp;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What Xen's compat_create_bounce_frame does with a frame it cannot deliver, seen from running
 * PV guests: a fault writing the frame on the guest's stack crashes the domain
 * (compat_crash_page_fault, domain_crash_sync) whatever was being delivered (an exception, an
 * NMI, the event upcall); a handler whose code selector is null (0 to 3) crashes it after the
 * frame is written (compat_bounce_null_selector). Another domain running beside the one that
 * crashes is never affected.
 */
class PvBounceFrameTest {
  /** Above the 32 pages PvTestDomains maps: nothing is mapped at or below it for a frame. */
  private static final int UNMAPPED_STACK = 0x30_0000;
  /** The lowest word of a three-word frame {EIP, CS, EFLAGS} pushed from ring 1 below it. */
  private static final String FRAME_AT = "002ffff4";

  private Hypervisor hv;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
  }

  /** x86-32 little-endian immediate, as hex. */
  private static String imm(int v) {
    return String.format("%02x%02x%02x%02x", v & 0xFF, v >>> 8 & 0xFF, v >>> 16 & 0xFF,
        v >>> 24);
  }

  /** mov eax, nr ; mov ebx, a1 ; mov ecx, a2 ; mov edx, a3 ; mov esi, a4 ; int 0x82 */
  private static String int82(Hypercall nr, int a1, int a2, int a3, int a4) {
    return "b8" + imm(nr.number()) + "bb" + imm(a1) + "b9" + imm(a2) + "ba" + imm(a3)
        + "be" + imm(a4) + "cd82";
  }

  private static String int82(Hypercall nr, int a1, int a2, int a3) {
    return int82(nr, a1, a2, a3, 0);
  }

  /** VCPUOP_down for vCPU 0, then a spin: the domain powers off. */
  private static final String DOWN = int82(Hypercall.VCPU_OP, VcpuOp.DOWN, 0, 0) + "ebfe";

  /** mov esp, imm */
  private static String movEsp(int esp) {
    return "bc" + imm(esp);
  }

  private static void poke(Domain d, int va, String hex) {
    byte[] b = java.util.HexFormat.of().parseHex(hex);
    assertThat(d.pv().mmu().copyToGuest(va, b)).isTrue();
  }

  /** A trap table at 0xA000 with one entry {vector, flags 0, cs, address} and its terminator. */
  private static void trapTable(Domain d, int vector, int cs, int address) {
    poke(d, 0xA000, String.format("%02x00%02x%02x", vector, cs & 0xFF, cs >>> 8 & 0xFF)
        + imm(address) + "0000000000000000");
  }

  /** A second domain that does some hypercalls and powers off: it must never notice. */
  private Domain bystander() {
    Domain b = PvTestDomains.create(hv, "bystander");
    trapTable(b, 6, 0xE019, 0x5200);
    poke(b, PvTestDomains.ENTRY, int82(Hypercall.SET_TRAP_TABLE, 0xA000, 0, 0)
        + int82(Hypercall.VCPU_OP, VcpuOp.SEND_NMI, 0, 0) + DOWN);
    hv.unpause(b);
    return b;
  }

  private void runBoth(Domain victim, Domain other) {
    hv.unpause(victim);
    hv.run(50_000_000L);
    assertThat(other.state()).as("%s", other.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(other.endReason()).isEqualTo("poweroff");
  }

  /**
   * An NMI whose handler is set but whose frame cannot be written: Hospes dropped it and the
   * guest went on; Xen's compat_process_nmi goes through compat_create_bounce_frame, whose
   * fault crashes the domain.
   */
  @Test
  void anNmiWhoseFrameCannotBeWrittenCrashesTheDomain() {
    Domain other = bystander();
    Domain d = PvTestDomains.create(hv, "pv-nmi");
    trapTable(d, 2, 0xE019, 0x5200);
    poke(d, 0x5200, DOWN); // never reached
    poke(d, PvTestDomains.ENTRY, int82(Hypercall.SET_TRAP_TABLE, 0xA000, 0, 0)
        + movEsp(UNMAPPED_STACK) + int82(Hypercall.VCPU_OP, VcpuOp.SEND_NMI, 0, 0) + DOWN);
    runBoth(d, other);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason())
        .isEqualTo("NMI: fault writing the bounce frame on the guest's stack at " + FRAME_AT);
  }

  /** Without a handler the NMI is still dropped, frame or no frame (set_guest_nmi_trapbounce). */
  @Test
  void anNmiWithoutAHandlerIsDroppedEvenOnABadStack() {
    Domain d = PvTestDomains.create(hv, "pv-nmi");
    poke(d, PvTestDomains.ENTRY, movEsp(UNMAPPED_STACK)
        + int82(Hypercall.VCPU_OP, VcpuOp.SEND_NMI, 0, 0) + DOWN);
    hv.unpause(d);
    hv.run(50_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
  }

  /**
   * A pending event whose callback's frame cannot be written: Hospes left the event pending and
   * the guest went on; Xen's compat_test_guest_events bounces to the callback and crashes the
   * domain on the fault. The guest registers its callbacks and a ring-1 stack that is not
   * mapped, then goes to ring 3 with the iret hypercall, whose EFLAGS.IF unmasks events: the
   * upcall's frame {EIP, CS, EFLAGS, ESP, SS} would go 20 bytes below that stack.
   */
  @Test
  void anEventUpcallWhoseFrameCannotBeWrittenCrashesTheDomain() {
    Domain other = bystander();
    Domain d = PvTestDomains.create(hv, "pv-event");
    hv.machineMemory().write8((d.sharedInfoMfn() << 12) + SharedInfo.VI_UPCALL_PENDING, 1);
    poke(d, 0x5300, DOWN); // never reached
    poke(d, 0x5400, "ebfe"); // ring 3: never reached either
    // push FLAT_RING3_DS ; push 0x7000 ; push IF ; push FLAT_RING3_CS ; push 0x5400 ; push eax
    String iretToRing3 = "68" + imm(0xE033) + "68" + imm(0x7000) + "68" + imm(0x202)
        + "68" + imm(0xE02B) + "68" + imm(0x5400) + "50"
        + "b8" + imm(Hypercall.IRET.number()) + "cd82";
    poke(d, PvTestDomains.ENTRY, int82(Hypercall.SET_CALLBACKS, 0xE019, 0x5300, 0xE019, 0x5300)
        + int82(Hypercall.STACK_SWITCH, 0xE021, UNMAPPED_STACK, 0) + iretToRing3);
    runBoth(d, other);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).isEqualTo(
        "event callback: fault writing the bounce frame on the guest's stack at 002fffec");
  }

  /** An exception with a handler but an unwritable stack: the crash says why. */
  @Test
  void anExceptionWhoseFrameCannotBeWrittenCrashesTheDomainSayingWhy() {
    Domain other = bystander();
    Domain d = PvTestDomains.create(hv, "pv-ud");
    trapTable(d, 6, 0xE019, 0x5200);
    poke(d, 0x5200, DOWN); // never reached
    poke(d, PvTestDomains.ENTRY, int82(Hypercall.SET_TRAP_TABLE, 0xA000, 0, 0)
        + movEsp(UNMAPPED_STACK) + "0f0b");
    runBoth(d, other);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).isEqualTo(
        "trap 6: fault writing the bounce frame on the guest's stack at " + FRAME_AT);
  }

  /**
   * A #UD entry whose code selector is null (set_trap_table makes 0 into 1): Hospes entered the
   * handler, the return to the guest faulted on the selector and the failsafe callback ran;
   * Xen's compat_create_bounce_frame refuses the null selector and crashes the domain.
   */
  @Test
  void aHandlerWithANullSelectorCrashesInsteadOfReachingTheFailsafeCallback() {
    Domain other = bystander();
    Domain d = PvTestDomains.create(hv, "pv-null-cs");
    trapTable(d, 6, 0x0000, 0x5200);
    poke(d, 0x5200, DOWN); // never reached
    poke(d, 0x5400, DOWN); // the failsafe callback: never reached either
    poke(d, PvTestDomains.ENTRY, int82(Hypercall.SET_TRAP_TABLE, 0xA000, 0, 0)
        + int82(Hypercall.SET_CALLBACKS, 0xE019, 0x5300, 0xE019, 0x5400) + "0f0b");
    runBoth(d, other);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).startsWith("unhandled trap 6 ");
  }

  /**
   * No #UD handler and an unwritable stack: Xen writes the frame before it looks at the
   * selector, so the crash is the frame's fault, not "unhandled".
   */
  @Test
  void noHandlerAndAnUnwritableStackIsTheFramesFaultFirst() {
    Domain d = PvTestDomains.create(hv, "pv-no-ud");
    poke(d, PvTestDomains.ENTRY, movEsp(UNMAPPED_STACK) + "0f0b");
    hv.unpause(d);
    hv.run(50_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).isEqualTo(
        "trap 6: fault writing the bounce frame on the guest's stack at " + FRAME_AT);
  }

  /**
   * Events unmasked and pending with no event callback registered: Hospes left the event
   * pending and the guest ran on; Xen's compat_test_guest_events bounces to the callback's
   * selector as it is (0) and compat_create_bounce_frame crashes the domain for it.
   */
  @Test
  void anUnmaskedPendingEventWithNoCallbackCrashesTheDomain() {
    Domain other = bystander();
    Domain d = PvTestDomains.create(hv, "pv-no-callback");
    hv.machineMemory().write8((d.sharedInfoMfn() << 12) + SharedInfo.VI_UPCALL_PENDING, 1);
    d.pv().setUpcallMask(0);
    poke(d, PvTestDomains.ENTRY, int82(Hypercall.STACK_SWITCH, 0xE021, 0x7000, 0) + DOWN);
    runBoth(d, other);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).isEqualTo(
        "event upcall with a null callback selector 0000 (no event callback registered)");
  }
}
