package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.hv.hvm.GuestCode.le;
import static org.hospes.hv.hvm.GuestCode.write;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Events while the hypervisor's emulator runs a shadow-paged guest in protected mode, between
 * the MOV to CR0 that set PE and the far jump that reloads CS: real mode left CS with a selector
 * whose RPL is 1 (0x00FF), which VM entry would refuse, so Xen's loop goes on emulating until
 * CS's and SS's RPLs are both 0. Xen's vmx_realmode takes the queued event out of the VM-entry
 * field, but
 * delivers it itself only in real mode (through the IVT); in protected mode it holds it and
 * writes it back, and the VM entry that follows the far jump injects it through the IDT. An
 * exception the emulated instruction raises there crashes the domain.
 */
class ProtectedModeEmulationEventTest {
  private static final int CODE = 0x1000;
  private static final int GDT = 0x2000;
  private static final int DESCRIPTORS = 0x2100;
  private static final int IDT = 0x3000;
  private static final int IRQ0_HANDLER = 0x4000;
  private static final int GP_HANDLER = 0x4100;
  private static final int PM32 = 0x5000;
  private static final int MARK = 0x6000;

  private Hypervisor hv;

  /**
   * A guest that sets up the PIC (vector base 0x20) and the local APIC as the first test of
   * {@link RealModeEventCheckTest} does, loads a GDT (flat 32-bit code at 0x08) and an IDT
   * (vector 0x20 and #GP to 32-bit handlers), runs {@code beforePe} and sets CR0.PE with
   * interrupts off, and then, with CS still real mode's ({@code cs}: 0x0100, or 0x00FF by a far
   * jump first, the same code at a selector whose RPL is 1), runs {@code stale}; then a far
   * jump to 0008:PM32, which stores 0xEE
   * at MARK + 8 and halts. The handlers store the interrupted EIP and CS at MARK and MARK + 4
   * (IRQ 0) or MARK + 12 and MARK + 16 (#GP) and halt with interrupts off.
   */
  private Domain staleSegmentGuest(String stale) {
    return staleSegmentGuest(0xFF, "", stale);
  }

  /** Where {@code stale} begins, as an offset from CODE. */
  private int staleAt;

  private Domain staleSegmentGuest(int cs, String beforePe, String stale) {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("g", DomainMode.HVM_SHADOW, 2);
    // Null, then flat 32-bit code (0x08) and data (0x10).
    write(d, GDT, "0000000000000000 ffff0000009acf00 ffff00000092cf00");
    // The pseudo-descriptors: the GDTR's, then the IDTR's (vectors 0 to 0x20).
    write(d, DESCRIPTORS, "1700" + le(GDT) + " 0701" + le(IDT));
    gate(d, 0x20, IRQ0_HANDLER);
    gate(d, 13, GP_HANDLER);
    // mov eax, [esp] ; mov [MARK], eax ; mov eax, [esp+4] ; mov [MARK+4], eax ; hlt
    write(d, IRQ0_HANDLER, "8b0424 a3" + le(MARK) + " 8b442404 a3" + le(MARK + 4) + " f4");
    // The same below #GP's error code.
    write(d, GP_HANDLER, "8b442404 a3" + le(MARK + 12) + " 8b442408 a3" + le(MARK + 16)
        + " f4");
    // mov dword [MARK+8], 0xEE ; cli ; hlt
    write(d, PM32, "c705" + le(MARK + 8) + le(0xEE) + " fa f4");
    String code = "fa"
        // Through FS's 4 GiB: the local APIC software-enabled and LINT0 as ExtINT
        + " 646667c705f000e0feff010000 646667c7055003e0fe00070000"
        // ICW1-4 and OCW1: edge, cascade, vector base 0x20, 8086 mode, nothing masked
        + " b011 e620 b020 e621 b004 e621 b001 e621 b000 e621"
        // mov ax, [IDT] ; push ax ; pop ax: the IDT's and the stack's pages have their
        // shadow entries before protected mode, so that no shadow fault cuts short the
        // delivery of an exception through the IDT (which would be handed back anyway)
        + String.format(" a1%02x%02x", IDT & 0xFF, IDT >>> 8) + " 50 58"
        // lgdt [DESCRIPTORS] ; lidt [DESCRIPTORS+6]
        + " 0f0116" + String.format("%02x%02x", DESCRIPTORS & 0xFF, DESCRIPTORS >>> 8)
        + " 0f011e" + String.format("%02x%02x", (DESCRIPTORS + 6) & 0xFF, DESCRIPTORS >>> 8)
        + " " + beforePe
        // mov eax, cr0 ; or al, 1 ; mov cr0, eax
        + " 0f20c0 0c01 0f22c0";
    if (cs != CODE >>> 4) {
      // jmp cs:(the next instruction), CODE's next byte at that selector
      int next = CODE + 5 - (cs << 4);
      code = String.format("ea%02x%02x%02x%02x ", next & 0xFF, next >>> 8, cs & 0xFF, cs >>> 8)
          + code;
    }
    staleAt = code.replace(" ", "").length() / 2;
    // jmp dword 0008:PM32
    write(d, CODE, code + " " + stale + " 66ea" + le(PM32) + "0800");
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.startupIpi(CODE >>> 12);
    cpu.setReg(Cpu.ESP, 0x8000);
    cpu.loadSegmentState(Cpu.FS, 0, 0, -1, cpu.segmentAttributes(Cpu.FS));
    hv.unpause(d);
    return d;
  }

  /** A 32-bit interrupt gate for {@code vector} to 0008:{@code handler}. */
  private static void gate(Domain d, int vector, int handler) {
    write(d, IDT + vector * 8, String.format("%02x%02x 0800 008e %02x%02x", handler & 0xFF,
        (handler >>> 8) & 0xFF, (handler >>> 16) & 0xFF, handler >>> 24));
  }

  /**
   * STI, then the PIT's channel 0 in mode 0 with a count of 2, and 2000 LOOP iterations: its
   * IRQ 0 comes during them, a softirq that ends the emulator's loop, and vmx_intr_assist
   * queues vector 0x20. The emulator holds it; it goes in at the VM entry after the far jump,
   * so the handler's frame names 0008:PM32, not the LOOP at CS 0x0100.
   */
  @Test
  void anInterruptQueuedWithStaleSegmentsWaitsForTheEntryAfterTheFarJump() {
    Domain d = staleSegmentGuest("fb b030 e643 b002 e640 b000 e640 b9d007 e2fe");
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.vcpus().get(0).counters().injectedInterrupts).isEqualTo(1);
    assertThat(d.memory().read32(MARK + 4)).as("CS of the frame").isEqualTo(0x08);
    assertThat(d.memory().read32(MARK)).as("EIP of the frame").isEqualTo(PM32);
    assertThat(d.memory().read32(MARK + 8)).as("PM32 ran before the interrupt").isZero();
  }

  /**
   * An exception in the emulated protected mode cannot be delivered by the emulator, and Xen
   * crashes the domain ("exception in protected mode"): one an exit handler queues (RDMSR of an
   * MSR no one has: the MSR exit's #GP) and one the instruction raises (a selector past the
   * GDT's limit: #GP; UD2: #UD), which the processor would have delivered through the IDT.
   */
  @ParameterizedTest
  @CsvSource({"66b978563412 0f32, 0d", "b82800 8ed8, 0d", "0f0b, 06"})
  void anExceptionRaisedWithStaleSegmentsCrashesTheDomain(String code, String vector) {
    Domain d = staleSegmentGuest(code);
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).startsWith("exception " + vector + " in protected mode");
    assertThat(d.memory().read32(MARK + 16)).as("no #GP handler ran").isZero();
  }

  /**
   * Xen's rule for when the emulation of protected mode ends: after each emulated instruction,
   * once CS's and SS's selector RPLs are both 0, whether or not the guest reloaded them. Real
   * mode left CS 0x0100 and SS 0, so the loop ends at the MOV to CR0 itself: the next
   * instruction runs in the guest, with real mode's CS, and its #GP (a selector past the GDT's
   * limit) goes through the guest's IDT rather than crashing the domain; and ES, whose selector
   * real mode left with RPL 3 (0x0003), gets DPL 3 (Xen's "DPL == RPL" for DS, ES, FS and GS,
   * which VM entry needs).
   */
  @Test
  void withCsAndSsRplZeroTheEmulationEndsAtTheMovToCr0() {
    Domain d = staleSegmentGuest(0x100, "b80300 8ec0", "b82800 8ed8");
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.memory().read32(MARK + 16)).as("CS of the #GP frame").isEqualTo(0x0100);
    assertThat(d.memory().read32(MARK + 12)).as("EIP of the #GP frame")
        .isEqualTo(CODE + staleAt + 3 - 0x1000);
    Cpu cpu = d.vcpus().get(0).cpu();
    assertThat(cpu.segmentSelector(Cpu.ES)).isEqualTo(3);
    assertThat((cpu.segmentAttributes(Cpu.ES) >>> 5) & 3).as("ES's DPL").isEqualTo(3);
  }

  /**
   * INT n in the emulated protected mode: Xen's emulator makes it a software event for VM entry
   * to inject, and its vmx_realmode_emulate_one crashes the domain for it as for any exception
   * there; the guest's IDT (which has a gate for 0x20 here) is not used. EIP names the INT.
   */
  @Test
  void aSoftwareInterruptWithStaleSegmentsCrashesTheDomain() {
    Domain d = staleSegmentGuest("cd20");
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).isEqualTo(String.format("exception 20 in protected mode (real-mode"
        + " emulation) at eip=0x%08x", CODE + staleAt - (0xFF << 4)));
    assertThat(d.memory().read32(MARK + 4)).as("no handler ran through the IDT").isZero();
  }
}
