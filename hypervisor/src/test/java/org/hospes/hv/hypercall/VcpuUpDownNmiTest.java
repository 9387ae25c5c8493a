package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.hospes.abi.Hypercall;
import org.hospes.abi.VcpuOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.pv.PvTraps;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * VCPUOP_initialise, up, down and send_nmi as Xen 4.17's compat_vcpu_op, common_vcpu_op,
 * arch_set_info_hvm_guest and arch_do_vcpu_op answer them, in their order of checks, for HVM,
 * PVH and PV guests. All four answered -ENOSYS: a PVH kernel could not start its secondary
 * processors the Xen way, and a guest could not take one down or send it an NMI.
 */
class VcpuUpDownNmiTest {
  private static final int CTX = 0x9000;
  private static final int EINVAL = XenErrno.EINVAL.negated();
  private static final int ENOENT = XenErrno.ENOENT.negated();
  private static final int EFAULT = XenErrno.EFAULT.negated();
  private static final int EEXIST = XenErrno.EEXIST.negated();

  private Hypervisor hv;
  private Hypercalls hc;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
  }

  /** A domain of 4 MiB on a hypervisor of its own (the tests that try every HVM mode). */
  private Domain freshDomain(String name, DomainMode mode, int vcpus) {
    setUp();
    return hv.createHvmDomain(name + "-" + mode.cliName(), mode, 4, vcpus);
  }

  /**
   * A flat GDT at 0x3800 (0x08 code, 0x10 data) and its LGDT operand at 0x3F00; the LIDT
   * operand at 0x3F10 for an IDT at 0x3000 of {@code idtLimit} bytes less one.
   */
  private static void flatGdt(Domain d, int idtLimit) {
    d.memory().write64(0x3808, 0x00CF9A000000FFFFL);
    d.memory().write64(0x3810, 0x00CF92000000FFFFL);
    code(d, 0x3F00, "1700 00380000");
    code(d, 0x3F10, String.format("%02x%02x 00300000", idtLimit & 0xFF, idtLimit >>> 8));
  }

  private Domain hvm(DomainMode mode) {
    Domain d = hv.createHvmDomain("g-" + mode.cliName(), mode, 4, 2);
    hv.unpause(d);
    return d;
  }

  private int vcpuOp(Domain d, int cmd, int vcpu, int arg) {
    return hc.dispatch(d.vcpus().get(0), Hypercall.VCPU_OP.number(), cmd, vcpu, arg, 0, 0);
  }

  /** A flat 32-bit ring-0 context (FreeBSD's and Xen's test suite's): EIP 0x1000, no paging. */
  private static ByteBuffer flat() {
    ByteBuffer b = ByteBuffer.allocate(VcpuOp.HVM_CTX_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(VcpuOp.HVM_CTX_REGS, 0x1111); // eax
    b.putInt(VcpuOp.HVM_CTX_REGS + 16, 0x8000); // esp
    b.putInt(VcpuOp.HVM32_EIP, 0x1000);
    b.putInt(VcpuOp.HVM32_EFLAGS, 0x2);
    b.putInt(VcpuOp.HVM32_CR0, Cpu.CR0_PE | Cpu.CR0_ET);
    for (int s = 0; s < 5; s++) {
      b.putInt(VcpuOp.HVM32_LIMITS + 4 * s, s == VcpuOp.SEG_TR ? 0x67 : -1);
    }
    b.putShort(VcpuOp.HVM32_ARS + 2 * VcpuOp.SEG_CS, (short) 0xC9B);
    b.putShort(VcpuOp.HVM32_ARS + 2 * VcpuOp.SEG_DS, (short) 0xC93);
    b.putShort(VcpuOp.HVM32_ARS + 2 * VcpuOp.SEG_SS, (short) 0xC93);
    b.putShort(VcpuOp.HVM32_ARS + 2 * VcpuOp.SEG_ES, (short) 0xC93);
    b.putShort(VcpuOp.HVM32_ARS + 2 * VcpuOp.SEG_TR, (short) 0x8B);
    return b;
  }

  private static void put(Domain d, ByteBuffer ctx) {
    d.memory().write(CTX, ctx.array(), 0, ctx.capacity());
  }

  private static ByteBuffer with(Consumer<ByteBuffer> change) {
    ByteBuffer b = flat();
    change.accept(b);
    return b;
  }

  private static Consumer<ByteBuffer> ar(int seg, int value) {
    return b -> b.putShort(VcpuOp.HVM32_ARS + 2 * seg, (short) value);
  }

  private static void code(Domain d, int at, String hex) {
    byte[] b = java.util.HexFormat.of().parseHex(hex.replace(" ", ""));
    d.memory().write(at, b, 0, b.length);
  }

  /**
   * The way a PVH kernel starts a secondary processor without the local APIC: vCPU 0 makes
   * VCPUOP_initialise then VCPUOP_up for vCPU 1 from its own code (VMCALL), and vCPU 1 runs
   * from the context's EIP, writes its mark and takes itself down; vCPU 0, seeing the mark,
   * takes itself down too, and the last vCPU down powers the domain off.
   */
  @Test
  void aGuestStartsItsSecondVcpuWithInitialiseAndUp() {
    for (DomainMode mode : new DomainMode[] {DomainMode.PVH, DomainMode.HVM_EPT,
        DomainMode.HVM_SHADOW}) {
      Domain d = freshDomain("smp", mode, 2);
      put(d, with(b -> b.putInt(VcpuOp.HVM32_EIP, 0x4000)));
      // mov eax, 24 ; mov ebx, INITIALISE ; mov ecx, 1 ; mov edx, CTX ; vmcall ;
      // mov eax, 24 ; mov ebx, UP ; mov ecx, 1 ; vmcall ; mov [0x6004], eax ;
      // spin: cmp dword [0x6000], 0x1234 ; jne spin ;
      // mov eax, 24 ; mov ebx, DOWN ; mov ecx, 0 ; vmcall ; jmp $
      code(d, 0x1000, "b818000000 bb00000000 b901000000 ba00900000 0f01c1"
          + " b818000000 bb01000000 b901000000 0f01c1 a304600000"
          + " 813d0060000034120000 75f4"
          + " b818000000 bb02000000 b900000000 0f01c1 ebfe");
      // vCPU 1: mov dword [0x6000], 0x1234 ; mov eax, 24 ; mov ebx, DOWN ; mov ecx, 1 ;
      // vmcall ; jmp $
      code(d, 0x4000, "c7050060000034120000 b818000000 bb02000000 b901000000 0f01c1 ebfe");
      d.memory().write32(0x6004, 0xEEEE);
      Cpu cpu = d.vcpus().get(0).cpu();
      cpu.setEip(0x1000);
      cpu.setReg(Cpu.ESP, 0x7000);
      hv.unpause(d);
      hv.run(200_000_000L);
      assertThat(d.memory().read32(0x6000)).as(mode.cliName() + ": " + d.endReason())
          .isEqualTo(0x1234);
      assertThat(d.memory().read32(0x6004)).isZero(); // VCPUOP_up's result
      assertThat(d.state()).as(mode.cliName()).isEqualTo(DomainState.SHUTDOWN);
      assertThat(d.exitStatus()).isZero();
      assertThat(d.vcpus().get(1).counters().hypercallCount[Hypercall.VCPU_OP.number()])
          .isEqualTo(1);
    }
  }

  @Test
  void anUnknownVcpuIsEnoentBeforeAnythingElse() {
    Domain d = hvm(DomainMode.PVH);
    for (int cmd : new int[] {VcpuOp.INITIALISE, VcpuOp.UP, VcpuOp.DOWN, VcpuOp.SEND_NMI}) {
      for (int id : new int[] {2, -1, 0x7FFF_FFFF}) {
        assertThat(vcpuOp(d, cmd, id, 0x7FF_F000)).as("cmd %d vcpu %d", cmd, id)
            .isEqualTo(ENOENT);
      }
    }
  }

  /**
   * The order of VCPUOP_initialise: the context is copied in (-EFAULT) before the vCPU is found
   * initialised (-EEXIST); then arch_set_info_hvm_guest's checks, each -EINVAL, which leave the
   * vCPU as it was; a good context initialises it, but down: it waits for VCPUOP_up.
   */
  @Test
  void initialiseChecksInXensOrderThenLeavesTheVcpuInitialisedButDown() {
    for (DomainMode mode : new DomainMode[] {DomainMode.PVH, DomainMode.HVM_EPT,
        DomainMode.HVM_SHADOW}) {
      Domain d = hvm(mode);
      Vcpu ap = d.vcpus().get(1);
      put(d, flat());
      assertThat(vcpuOp(d, VcpuOp.INITIALISE, 0, 0x7FF_FFC0)).as(mode.cliName())
          .isEqualTo(EFAULT);
      assertThat(vcpuOp(d, VcpuOp.INITIALISE, 0, CTX)).isEqualTo(EEXIST);
      assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, 0x7FF_FFC0)).isEqualTo(EFAULT);
      // Not initialised: it cannot come up.
      assertThat(vcpuOp(d, VcpuOp.UP, 1, 0)).isEqualTo(EINVAL);

      java.util.List<Consumer<ByteBuffer>> bad = java.util.List.of(
          b -> b.putInt(VcpuOp.HVM_CTX_PAD, 1),
          b -> b.putInt(VcpuOp.HVM_CTX_MODE, VcpuOp.HVM_MODE_64B),
          b -> b.putInt(VcpuOp.HVM_CTX_MODE, 2),
          b -> b.putInt(VcpuOp.HVM32_PAD1, 1),
          b -> b.putShort(VcpuOp.HVM32_PAD2 + 4, (short) 1),
          ar(VcpuOp.SEG_CS, 0x1C9B),           // bits 12-15
          ar(VcpuOp.SEG_CS, 0),                // a null CS
          ar(VcpuOp.SEG_SS, 0),                // a null SS
          ar(VcpuOp.SEG_TR, 0),                // a null TR
          ar(VcpuOp.SEG_TR, 0x81),             // a 16-bit TSS
          ar(VcpuOp.SEG_TR, 0x9B),             // a code segment for TR
          ar(VcpuOp.SEG_CS, 0xC8B),            // a system segment for CS
          ar(VcpuOp.SEG_CS, 0xC1B),            // not present
          ar(VcpuOp.SEG_CS, 0xC93),            // data for CS
          ar(VcpuOp.SEG_SS, 0xC91),            // read-only SS
          ar(VcpuOp.SEG_SS, 0xC9B),            // code for SS
          ar(VcpuOp.SEG_DS, 0xC99),            // execute-only code for DS
          ar(VcpuOp.SEG_SS, 0xCF3),            // SS.DPL 3, CS.DPL 0
          ar(VcpuOp.SEG_ES, 0xCF3),            // ES more privileged... less: DPL 3 > 0
          b -> {                               // EIP past a byte-granular CS limit
            b.putShort(VcpuOp.HVM32_ARS, (short) 0x49B);
            b.putInt(VcpuOp.HVM32_LIMITS, 0xFFF);
          },
          b -> b.putLong(VcpuOp.HVM32_EFER, 1L << 10),     // LMA without LME
          b -> b.putLong(VcpuOp.HVM32_EFER, 1L << 8),      // LME: no long mode here
          b -> b.putLong(VcpuOp.HVM32_EFER, 1L),           // SCE: no SYSCALL here
          b -> b.putInt(VcpuOp.HVM32_CR4, 1 << 13));       // VMXE
      for (int i = 0; i < bad.size(); i++) {
        put(d, with(bad.get(i)));
        assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, CTX)).as("%s bad context %d",
            mode.cliName(), i).isEqualTo(EINVAL);
        assertThat(ap.waitingForSipi()).isTrue();
      }

      // A null DS and ES are allowed, and a page-granular CS limit covers EIP.
      put(d, with(b -> {
        b.putShort(VcpuOp.HVM32_ARS + 2 * VcpuOp.SEG_DS, (short) 0);
        b.putShort(VcpuOp.HVM32_ARS + 2 * VcpuOp.SEG_ES, (short) 0);
        b.putInt(VcpuOp.HVM32_LIMITS, 0xFFF);
        b.putLong(VcpuOp.HVM32_EFER, Cpu.EFER_NXE);
      }));
      assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, CTX)).as(mode.cliName()).isZero();
      assertThat(ap.waitingForSipi()).isFalse();
      assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
      assertThat(vcpuOp(d, VcpuOp.IS_UP, 1, 0)).isZero();
      Cpu c = ap.cpu();
      assertThat(c.eip()).isEqualTo(0x1000);
      assertThat(c.reg(Cpu.EAX)).isEqualTo(0x1111);
      assertThat(c.reg(Cpu.ESP)).isEqualTo(0x8000);
      assertThat(c.cpl()).isZero();
      assertThat(c.segmentLimit(Cpu.CS)).isEqualTo(0xFFF);
      assertThat(c.segmentSelector(Cpu.CS)).isZero();
      assertThat(c.efer()).isEqualTo(Cpu.EFER_NXE);
      // Initialised once: again is -EEXIST, whatever the context.
      put(d, with(b -> b.putInt(VcpuOp.HVM_CTX_PAD, 1)));
      assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, CTX)).isEqualTo(EEXIST);
    }
  }

  @Test
  void upRunsAnInitialisedVcpuAndDownStopsItUntilTheLastOneDownPowersOff() {
    Domain d = hvm(DomainMode.PVH);
    Vcpu ap = d.vcpus().get(1);
    put(d, flat());
    assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, CTX)).isZero();
    assertThat(vcpuOp(d, VcpuOp.UP, 1, 0)).isZero();
    assertThat(ap.state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(vcpuOp(d, VcpuOp.IS_UP, 1, 0)).isEqualTo(1);
    assertThat(vcpuOp(d, VcpuOp.UP, 1, 0)).isZero(); // already up: nothing changes
    assertThat(vcpuOp(d, VcpuOp.UP, 0, 0)).isZero();

    // Down with another vCPU up: the target stops, keeping its state; up brings it back.
    assertThat(vcpuOp(d, VcpuOp.DOWN, 1, 0)).isZero();
    assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(ap.waitingForSipi()).isFalse();
    assertThat(ap.cpu().eip()).isEqualTo(0x1000);
    assertThat(vcpuOp(d, VcpuOp.DOWN, 1, 0)).isZero(); // down again, vCPU 0 still up
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);
    assertThat(vcpuOp(d, VcpuOp.UP, 1, 0)).isZero();
    assertThat(ap.state()).isEqualTo(VcpuState.RUNNABLE);
    // vCPU 0 down while vCPU 1 runs: only vCPU 0 stops.
    assertThat(vcpuOp(d, VcpuOp.DOWN, 0, 0)).isZero();
    assertThat(d.vcpus().get(0).state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);
    // The last one up going down powers the domain off.
    assertThat(hc.dispatch(ap, Hypercall.VCPU_OP.number(), VcpuOp.DOWN, 1, 0, 0, 0)).isZero();
    assertThat(d.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.exitStatus()).isZero();

    // Down naming a vCPU that is already down, with no other up: the domain powers off too.
    Domain e = hvm(DomainMode.HVM_EPT);
    assertThat(vcpuOp(e, VcpuOp.DOWN, 1, 0)).isZero();
    assertThat(e.state()).isEqualTo(DomainState.RUNNING);
    assertThat(e.vcpus().get(0).state()).isNotEqualTo(VcpuState.OFFLINE);
  }

  @Test
  void sendNmiWantsANullArgumentAndRaisesTheTargetsNmi() {
    for (DomainMode mode : new DomainMode[] {DomainMode.PVH, DomainMode.HVM_EPT}) {
      Domain d = hvm(mode);
      Vcpu ap = d.vcpus().get(1);
      assertThat(vcpuOp(d, VcpuOp.SEND_NMI, 1, CTX)).as(mode.cliName()).isEqualTo(EINVAL);
      assertThat(hv.platform(d).interruptPending(ap)).isFalse();
      assertThat(vcpuOp(d, VcpuOp.SEND_NMI, 1, 0)).isZero();
      assertThat(hv.platform(d).interruptPending(ap)).isTrue();
      assertThat(vcpuOp(d, VcpuOp.SEND_NMI, 0, 0)).isZero();
      assertThat(hv.platform(d).interruptPending(d.vcpus().get(0))).isTrue();
    }
  }

  /**
   * HVM and PVH: an NMI sent while the guest handles one does not nest. The handler of the first
   * NMI sends a second to its own vCPU and reads the NMI count after the hypercall: still 1,
   * since the first NMI blocks NMIs until its IRET (SDM 6.7.1). The second one is taken right
   * after that IRET (through the NMI-window exit), before the main code's next instruction.
   */
  @Test
  void anNmiSentDuringTheNmiHandlerWaitsForItsIret() {
    for (DomainMode mode : new DomainMode[] {DomainMode.PVH, DomainMode.HVM_EPT,
        DomainMode.HVM_SHADOW}) {
      Domain d = freshDomain("nmi", mode, 2);
      // The IDT has vector 2 only.
      flatGdt(d, 0x17);
      d.memory().write64(0x3010, 0x1100 | 8L << 16 | 0x8E00L << 32);
      String sendNmi = "b818000000 bb0b000000 b900000000 ba00000000 0f01c1";
      // lgdt [0x3f00] ; lidt [0x3f10] ; jmp 0x08:0x1015 ; send_nmi(0) ;
      // mov eax, [0x6000] ; mov [0x6008], eax ; VCPUOP_down(0) ; jmp $
      code(d, 0x1000, "0f0115003f0000 0f011d103f0000 ea15100000 0800 " + sendNmi
          + " a100600000 a308600000 b818000000 bb02000000 b900000000 0f01c1 ebfe");
      // inc dword [0x6000] ; cmp dword [0x6000], 1 ; jne done ; send_nmi(0) ;
      // mov eax, [0x6000] ; mov [0x6004], eax ; done: iret
      code(d, 0x1100, "ff0500600000 833d0060000001 7521 " + sendNmi
          + " a100600000 a304600000 cf");
      Cpu cpu = d.vcpus().get(0).cpu();
      cpu.setEip(0x1000);
      cpu.setReg(Cpu.ESP, 0x7000);
      hv.unpause(d);
      hv.run(200_000_000L);
      assertThat(d.state()).as(mode.cliName() + ": " + d.endReason())
          .isEqualTo(DomainState.SHUTDOWN);
      assertThat(d.memory().read32(0x6004)).as(mode.cliName() + ": count in the handler")
          .isEqualTo(1);
      assertThat(d.memory().read32(0x6000)).as(mode.cliName()).isEqualTo(2);
      assertThat(d.memory().read32(0x6008)).as(mode.cliName() + ": count after the IRET")
          .isEqualTo(2);
    }
  }

  /**
   * A maskable interrupt waits behind an NMI that is pending but blocked, as in Xen's
   * vmx_intr_assist (the NMI is the highest-priority source; blocked, only its window is asked
   * for). The first NMI's handler sends a second NMI to its own vCPU (blocked until the IRET),
   * then a self-IPI of vector 0x40, sets IF and reads how often the 0x40 handler has run: 0,
   * where a processor left to itself would have taken the interrupt there. After the IRET the
   * second NMI comes first, then vector 0x40; the main code finds both.
   */
  @Test
  void aMaskableInterruptWaitsBehindABlockedNmi() {
    for (DomainMode mode : new DomainMode[] {DomainMode.PVH, DomainMode.HVM_EPT,
        DomainMode.HVM_SHADOW}) {
      Domain d = freshDomain("nmi-irq", mode, 1);
      // The IDT: vector 2 to 0x1100, vector 0x40 to 0x1200 (interrupt gates).
      flatGdt(d, 0x20F);
      d.memory().write64(0x3010, 0x1100 | 8L << 16 | 0x8E00L << 32);
      d.memory().write64(0x3200, 0x1200 | 8L << 16 | 0x8E00L << 32);
      String sendNmi = "b818000000 bb0b000000 b900000000 ba00000000 0f01c1";
      // lgdt ; lidt ; jmp 0x08:0x1015 ; APIC SVR = 0x1FF (software enable) ; sti ;
      // send_nmi(0) ; [0x6008] = NMI count ; [0x600C] = vector 0x40 count ; VCPUOP_down(0) ;
      // jmp $
      code(d, 0x1000, "0f0115003f0000 0f011d103f0000 ea15100000 0800"
          + " c705" + imm(0xFEE0_00F0) + imm(0x1FF) + " fb" + sendNmi
          + " a100600000 a308600000 a114600000 a30c600000"
          + " b818000000 bb02000000 b900000000 0f01c1 ebfe");
      // NMI: inc [0x6000] ; cmp [0x6000], 1 ; jne done ; send_nmi(0) ;
      // ICR = self, fixed, vector 0x40 ; sti ; 4 nops ; [0x6004] = [0x6014] ; done: iret
      code(d, 0x1100, "ff0500600000 833d0060000001 7530 " + sendNmi
          + " c705" + imm(0xFEE0_0300) + imm(0x0004_0040) + " fb 90909090"
          + " a114600000 a304600000 cf");
      // vector 0x40: inc [0x6014] ; EOI ; iret
      code(d, 0x1200, "ff0514600000 c705" + imm(0xFEE0_00B0) + imm(0) + " cf");
      Cpu cpu = d.vcpus().get(0).cpu();
      cpu.setEip(0x1000);
      cpu.setReg(Cpu.ESP, 0x7000);
      hv.unpause(d);
      hv.run(200_000_000L);
      assertThat(d.state()).as(mode.cliName() + ": " + d.endReason())
          .isEqualTo(DomainState.SHUTDOWN);
      assertThat(d.memory().read32(0x6004))
          .as(mode.cliName() + ": vector 0x40 inside the first NMI's handler").isZero();
      assertThat(d.memory().read32(0x6008)).as(mode.cliName() + ": NMIs").isEqualTo(2);
      assertThat(d.memory().read32(0x600C)).as(mode.cliName() + ": vector 0x40 after")
          .isEqualTo(1);
    }
  }

  /**
   * An NMI held back by blocking by NMI does not count as something the vCPU could take: a
   * halted vCPU executes no IRET, so HLT blocks and the NMI does not wake it (Xen's
   * hvm_interrupt_blocked: hvm_intblk_nmi_iret). Once unblocked, it does.
   */
  @Test
  void aBlockedNmiDoesNotKeepHltFromBlocking() {
    Domain d = hvm(DomainMode.HVM_EPT);
    Vcpu ap = d.vcpus().get(1);
    ap.vmcs().write(org.hospes.x86.vmx.VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_NMI);
    assertThat(vcpuOp(d, VcpuOp.SEND_NMI, 1, 0)).isZero();
    assertThat(hv.platform(d).interruptPending(ap)).isFalse();
    assertThat(hv.platform(d).nmiDeliverable(ap)).isFalse();
    ap.vmcs().write(org.hospes.x86.vmx.VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    assertThat(hv.platform(d).interruptPending(ap)).isTrue();
  }

  /** mov dword [0xFEE00310], dest << 24 ; mov dword [0xFEE00300], icr */
  private static String ipi(int dest, int icr) {
    return "c705" + imm(0xFEE0_0310) + imm(dest << 24) + "c705" + imm(0xFEE0_0300) + imm(icr);
  }

  /**
   * A vCPU brought up with VCPUOP_initialise and VCPUOP_up answers its local APIC as any other:
   * INIT resets it (it waits for SIPI, as vlapic_init_sipi_one's vcpu_reset leaves it), and a
   * start-up IPI then starts it in real mode at vector × 4096. A SIPI before the INIT, while it
   * runs, is ignored (hvm_vcpu_reset_state does nothing to an initialised vCPU).
   */
  @Test
  void initThenSipiRestartsAVcpuBroughtUpWithVcpuop() {
    for (DomainMode mode : new DomainMode[] {DomainMode.PVH, DomainMode.HVM_EPT,
        DomainMode.HVM_SHADOW}) {
      Domain d = freshDomain("sipi", mode, 2);
      put(d, with(b -> b.putInt(VcpuOp.HVM32_EIP, 0x4000)));
      // initialise(1) ; up(1) ; wait (pause) for [0x6000] = 0x1234 ; SIPI(1, 0x0A) ; wait for vCPU 1's
      // count at [0x6010] to reach 10 (it still runs its loop) ; INIT(1) ;
      // mov dword [0x6004], 0x5678 ; SIPI(1, 0x08) ; jmp $
      code(d, 0x1000, "b818000000 bb00000000 b901000000 ba00900000 0f01c1"
          + " b818000000 bb01000000 b901000000 0f01c1"
          + " 813d0060000034120000 f390 75f2"
          + ipi(1, 0x460A)
          + " 813d106000000a000000 f390 72f2"
          + ipi(1, 0x4500)
          + " c70504600000 78560000"
          + ipi(1, 0x4608)
          + " ebfe");
      // vCPU 1: mov dword [0x6000], 0x1234 ; loop: inc dword [0x6010] ; pause ; jmp loop
      // (PAUSE yields to vCPU 0 in an SMP domain)
      code(d, 0x4000, "c7050060000034120000 ff0510600000 f390 ebf6");
      // Started by the SIPI in real mode at 0x8000: mov byte [0x6020], 0x55 ; jmp $
      code(d, 0x8000, "c606206055 ebfe");
      // Where SIPI 0x0A would start it: mov byte [0x6021], 0x66 ; jmp $
      code(d, 0xA000, "c606216066 ebfe");
      Cpu cpu = d.vcpus().get(0).cpu();
      cpu.setEip(0x1000);
      cpu.setReg(Cpu.ESP, 0x7000);
      hv.unpause(d);
      hv.run(30_000_000L);
      assertThat(d.state()).as(mode.cliName() + ": " + d.endReason())
          .isEqualTo(DomainState.RUNNING);
      assertThat(d.memory().read32(0x6004)).as(mode.cliName()).isEqualTo(0x5678);
      assertThat(d.memory().read8(0x6021)).as(mode.cliName() + ": SIPI while running").isZero();
      assertThat(d.memory().read8(0x6020)).as(mode.cliName() + ": SIPI after INIT")
          .isEqualTo(0x55);
      Vcpu ap = d.vcpus().get(1);
      assertThat(ap.state()).isNotEqualTo(VcpuState.OFFLINE);
      assertThat(ap.cpu().eip()).as(mode.cliName()).isEqualTo(5); // real mode: its jmp $
      assertThat(ap.cpu().segmentSelector(Cpu.CS)).isEqualTo(0x800);
    }
  }

  /** vCPU {@code from}'s local APIC sends {@code icr} to APIC {@code dest}. */
  private void sendIpi(Domain d, int from, int dest, int icr) {
    var apic = hv.platform(d).lapic(from);
    apic.write(org.hospes.hv.platform.LocalApic.ICR_HIGH, 4, dest << 24);
    apic.write(org.hospes.hv.platform.LocalApic.ICR_LOW, 4, icr);
  }

  /**
   * vlapic_init_sipi_one's INIT: a vCPU that already waits for a start-up IPI is left alone,
   * its local APIC too; an initialised one (here loaded by VCPUOP_initialise, up or not) is
   * reset with its APIC and waits for SIPI; a start-up IPI to an initialised vCPU, even one
   * still down, does nothing (hvm_vcpu_reset_state).
   */
  @Test
  void initLeavesAWaitingVcpuAloneAndResetsAnInitialisedOne() {
    Domain d = hvm(DomainMode.HVM_EPT);
    Vcpu ap = d.vcpus().get(1);
    var apic = hv.platform(d).lapic(1);
    apic.write(org.hospes.hv.platform.LocalApic.LDR, 4, 0x02 << 24);
    sendIpi(d, 0, 1, 0x4500); // INIT: it waits for SIPI already
    assertThat(apic.read(org.hospes.hv.platform.LocalApic.LDR, 4)).isEqualTo(0x02 << 24);
    assertThat(ap.waitingForSipi()).isTrue();

    put(d, flat());
    assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, CTX)).isZero();
    sendIpi(d, 0, 1, 0x4608); // SIPI: initialised, if down; ignored
    assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(ap.cpu().eip()).isEqualTo(0x1000);
    assertThat(vcpuOp(d, VcpuOp.UP, 1, 0)).isZero();
    sendIpi(d, 0, 1, 0x4608); // SIPI: up and running; ignored
    assertThat(ap.state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(ap.cpu().eip()).isEqualTo(0x1000);

    sendIpi(d, 0, 1, 0x4500); // INIT: reset, APIC too, waiting for SIPI
    assertThat(ap.waitingForSipi()).isTrue();
    assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(apic.read(org.hospes.hv.platform.LocalApic.LDR, 4)).isZero();
    assertThat(vcpuOp(d, VcpuOp.IS_UP, 1, 0)).isZero();
    sendIpi(d, 0, 1, 0x4608);
    assertThat(ap.state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(ap.cpu().segmentSelector(Cpu.CS)).isEqualTo(0x800);
    assertThat(ap.cpu().eip()).isZero();
    // Started by SIPI, it is initialised: VCPUOP_initialise is -EEXIST.
    assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, CTX)).isEqualTo(EEXIST);
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);
  }

  /**
   * vlapic_ipi takes any shorthand with INIT and start-up: a vCPU INITs itself by the self
   * shorthand and waits for a SIPI, which another vCPU then sends it.
   */
  @Test
  void aVcpuInitsItselfByTheSelfShorthand() {
    Domain d = hvm(DomainMode.HVM_EPT);
    sendIpi(d, 0, 1, 0x4500);
    sendIpi(d, 0, 1, 0x4608); // vCPU 1 up, in real mode at 0x8000
    Vcpu bsp = d.vcpus().get(0);
    sendIpi(d, 0, 0, 1 << 18 | 0x4500);
    assertThat(bsp.waitingForSipi()).isTrue();
    assertThat(bsp.state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);
    sendIpi(d, 1, 0, 0x4609);
    assertThat(bsp.state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(bsp.cpu().segmentSelector(Cpu.CS)).isEqualTo(0x900);
  }

  /**
   * vlapic_accept_irq: an ExtINT IPI is an "unsupported delivery mode", and Xen crashes the
   * domain.
   */
  @Test
  void anExtIntIpiCrashesTheDomain() {
    Domain d = hvm(DomainMode.HVM_EPT);
    sendIpi(d, 0, 1, 0x700);
    assertThat(d.state()).isEqualTo(DomainState.CRASHED);
  }

  /** hvm_vcpu_down: an INIT that leaves no vCPU of the domain up powers it off. */
  @Test
  void anInitThatTakesTheLastVcpuDownPowersTheDomainOff() {
    Domain d = hvm(DomainMode.HVM_EPT);
    // INIT to all including self (shorthand 10b): vCPU 1 waits for SIPI already, vCPU 0 is
    // the last one up.
    sendIpi(d, 0, 0, 0x8_4500);
    assertThat(d.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.exitStatus()).isZero();
  }

  /**
   * vlapic_accept_irq: an NMI IPI (not one already pending) brings an initialised vCPU that is
   * down back up, where it stopped; a vCPU waiting for SIPI stays down. VCPUOP_send_nmi does not
   * (common_vcpu_op only kicks).
   */
  @Test
  void anNmiIpiBringsADownedVcpuBackUp() {
    Domain d = hvm(DomainMode.PVH);
    Vcpu ap = d.vcpus().get(1);
    sendIpi(d, 0, 1, 0x4400);
    assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(hv.platform(d).lapic(1).nmiPending()).isTrue();

    Domain e = hvm(DomainMode.PVH);
    Vcpu bp = e.vcpus().get(1);
    put(e, flat());
    assertThat(vcpuOp(e, VcpuOp.INITIALISE, 1, CTX)).isZero();
    assertThat(vcpuOp(e, VcpuOp.SEND_NMI, 1, 0)).isZero();
    assertThat(bp.state()).isEqualTo(VcpuState.OFFLINE);
    // Already pending: this NMI changes nothing.
    sendIpi(e, 0, 1, 0x4400);
    assertThat(bp.state()).isEqualTo(VcpuState.OFFLINE);
    hv.platform(e).lapic(1).clearNmi();
    sendIpi(e, 0, 1, 0x4400);
    assertThat(bp.state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(bp.cpu().eip()).isEqualTo(0x1000);
    assertThat(vcpuOp(e, VcpuOp.IS_UP, 1, 0)).isEqualTo(1);
  }

  /**
   * INIT with an NMI pending, as Xen's vlapic_init_sipi_one does it: for an initialised vCPU,
   * vcpu_reset clears async_exception_state, of which x86's nmi_pending is a part (asm/domain.h:
   * nmi_pending is nmi_state.pending, nmi_state is async_exception_state(VCPU_TRAP_NMI)), so
   * the NMI is gone, and the SIPI that starts the vCPU again injects none; for a vCPU already
   * waiting for SIPI ("Nothing to do if the VCPU is already reset") nothing is reset, the NMI
   * stays latched, and the first entry after the SIPI injects it.
   */
  @Test
  void initDropsThePendingNmiOfAnInitialisedVcpuOnly() {
    Domain d = hvm(DomainMode.HVM_EPT);
    Vcpu ap = d.vcpus().get(1);
    put(d, flat());
    assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, CTX)).isZero();
    assertThat(vcpuOp(d, VcpuOp.SEND_NMI, 1, 0)).isZero();
    assertThat(hv.platform(d).lapic(1).nmiPending()).isTrue();
    sendIpi(d, 0, 1, 0x4500);
    assertThat(ap.waitingForSipi()).isTrue();
    assertThat(hv.platform(d).lapic(1).nmiPending()).isFalse();
    sendIpi(d, 0, 1, 0x4608);
    assertThat(ap.state()).isEqualTo(VcpuState.RUNNABLE);
    hv.platform(d).prepareEntry(ap, 0);
    assertThat(ap.vmcs().read32(org.hospes.x86.vmx.VmcsField.VM_ENTRY_INTR_INFO_FIELD)
        & org.hospes.x86.vmx.VmxControls.INTR_INFO_VALID).isZero();

    Domain e = hvm(DomainMode.HVM_EPT);
    Vcpu bp = e.vcpus().get(1);
    // Never started: it waits for SIPI; the NMI IPI is latched and does not wake it.
    sendIpi(e, 0, 1, 0x4400);
    sendIpi(e, 0, 1, 0x4500);
    assertThat(hv.platform(e).lapic(1).nmiPending()).isTrue();
    sendIpi(e, 0, 1, 0x4608);
    assertThat(bp.state()).isEqualTo(VcpuState.RUNNABLE);
    hv.platform(e).prepareEntry(bp, 0);
    assertThat(bp.vmcs().read32(org.hospes.x86.vmx.VmcsField.VM_ENTRY_INTR_INFO_FIELD))
        .isEqualTo(org.hospes.x86.vmx.VmxControls.intrInfo(2,
            org.hospes.x86.vmx.VmxControls.INTR_TYPE_NMI, false));
  }

  /** PV: one vCPU, built initialised; its NMI goes to the NMI callback at the next return. */
  @Test
  void aPvGuestsOneVcpuIsInitialisedAndItsNmiReachesTheNmiCallback() {
    Domain pv = PvTestDomains.create(hv, "pv");
    hv.unpause(pv);
    int ctx = 0x8000; // pfns 8 and 9 are the guest's, mapped writable: 2800 bytes fit
    assertThat(pvOp(pv, VcpuOp.INITIALISE, 0, ctx)).isEqualTo(EEXIST);
    assertThat(pvOp(pv, VcpuOp.INITIALISE, 0, 0x3_0000)).isEqualTo(EFAULT);
    assertThat(pvOp(pv, VcpuOp.INITIALISE, 1, ctx)).isEqualTo(ENOENT);
    assertThat(pvOp(pv, VcpuOp.UP, 0, 0)).isZero();
    assertThat(pvOp(pv, VcpuOp.SEND_NMI, 0, ctx)).isEqualTo(EINVAL);
    assertThat(pv.pv().nmiPending()).isFalse();
    assertThat(pvOp(pv, VcpuOp.SEND_NMI, 0, 0)).isZero();
    assertThat(pv.pv().nmiPending()).isTrue();
    // With an NMI callback registered it is delivered there, once, and masked until iret.
    byte[] reg = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 4)
        .putShort((short) 0).putInt(org.hospes.hv.pv.PvGdt.FLAT_RING1_CS).putInt(0x5300)
        .array();
    assertThat(pv.pv().mmu().copyToGuest(0xA000, reg)).isTrue();
    assertThat(pv.pv().traps().callbackOp(0, 0xA000)).isZero();
    assertThat(pv.pv().takeNmi()).isTrue();
    assertThat(pv.pv().traps().bounceNmi(pv.pv().captureRegs())).isTrue();
    pv.pv().setNmiMasked(true);
    assertThat(pvOp(pv, VcpuOp.SEND_NMI, 0, 0)).isZero();
    assertThat(pv.pv().takeNmi()).isFalse();
    pv.pv().setNmiMasked(false);
    assertThat(pv.pv().takeNmi()).isTrue();
    // Its one vCPU going down powers it off.
    assertThat(pvOp(pv, VcpuOp.DOWN, 0, 0)).isZero();
    assertThat(pv.state()).isEqualTo(DomainState.SHUTDOWN);
  }

  /** x86-32 little-endian immediate, as hex. */
  private static String imm(int v) {
    return String.format("%02x%02x%02x%02x", v & 0xFF, v >>> 8 & 0xFF, v >>> 16 & 0xFF,
        v >>> 24);
  }

  /** mov eax, nr ; mov ebx, a1 ; mov ecx, a2 ; mov edx, a3 ; int 0x82 */
  private static String int82(Hypercall nr, int a1, int a2, int a3) {
    return "b8" + imm(nr.number()) + "bb" + imm(a1) + "b9" + imm(a2) + "ba" + imm(a3) + "cd82";
  }

  /**
   * An NMI handler that appends {@code id} to the log at 0x9100 (its length at 0x9000) and
   * returns with the iret hypercall, the way Linux's stub does (push EAX; iret).
   */
  private static String nmiHandler(int id) {
    return "a1" + imm(0x9000) + "c680" + imm(0x9100) + String.format("%02x", id)
        + "ff05" + imm(0x9000) + "50" + "b8" + imm(Hypercall.IRET.number()) + "cd82";
  }

  private static void poke(Domain pv, int va, String hex) {
    byte[] b = java.util.HexFormat.of().parseHex(hex);
    assertThat(pv.pv().mmu().copyToGuest(va, b)).isTrue();
  }

  /**
   * A PV kernel's NMIs, each sent to itself with VCPUOP_send_nmi, go to whatever set vector 2
   * last: set_trap_table's entry, CALLBACKOP_register's NMI callback, set_trap_table again,
   * nmi_op's XENNMI_register_callback; after CALLBACKOP_unregister the NMI is lost; a last
   * set_trap_table makes them arrive again. Each handler logs its letter and returns by iret.
   */
  @Test
  void aPvNmiGoesToWhicheverOfTrapTableAndNmiCallbackWasSetLast() {
    Domain pv = PvTestDomains.create(hv, "pv-nmi");
    long logMa = (PvTestDomains.mfn(pv, 9) << 12) + 0x100; // read after the domain is down
    int send = VcpuOp.SEND_NMI;
    // The trap table: vector 2 to handler A, then the terminator.
    poke(pv, 0xA000, "0200" + "19e0" + imm(0x5200) + "0000000000000000");
    // callback_register {type nmi, flags 0, cs 0, eip handler B}; nmi callback {C, pad}.
    poke(pv, 0xA100, "0400" + "0000" + imm(0) + imm(0x5300));
    poke(pv, 0xA200, imm(0x5400) + imm(0));
    // callback_unregister {type nmi, unused}.
    poke(pv, 0xA300, "04000000");
    String code = int82(Hypercall.SET_TRAP_TABLE, 0xA000, 0, 0)
        + int82(Hypercall.VCPU_OP, send, 0, 0)                     // -> A
        + int82(Hypercall.CALLBACK_OP, PvTraps.CALLBACKOP_REGISTER, 0xA100, 0)
        + int82(Hypercall.VCPU_OP, send, 0, 0)                     // -> B
        + int82(Hypercall.SET_TRAP_TABLE, 0xA000, 0, 0)
        + int82(Hypercall.VCPU_OP, send, 0, 0)                     // -> A
        + int82(Hypercall.NMI_OP, PvTraps.XENNMI_REGISTER_CALLBACK, 0xA200, 0)
        + int82(Hypercall.VCPU_OP, send, 0, 0)                     // -> C
        + int82(Hypercall.CALLBACK_OP, PvTraps.CALLBACKOP_UNREGISTER, 0xA300, 0)
        + int82(Hypercall.VCPU_OP, send, 0, 0)                     // lost
        + int82(Hypercall.SET_TRAP_TABLE, 0xA000, 0, 0)
        + int82(Hypercall.VCPU_OP, send, 0, 0)                     // -> A
        + int82(Hypercall.VCPU_OP, VcpuOp.DOWN, 0, 0) + "ebfe";
    poke(pv, PvTestDomains.ENTRY, code);
    poke(pv, 0x5200, nmiHandler('A'));
    poke(pv, 0x5300, nmiHandler('B'));
    poke(pv, 0x5400, nmiHandler('C'));
    hv.unpause(pv);
    hv.run(50_000_000L);
    assertThat(pv.state()).as(String.valueOf(pv.endReason())).isEqualTo(DomainState.SHUTDOWN);
    byte[] log = new byte[8];
    for (int i = 0; i < log.length; i++) {
      log[i] = (byte) hv.machineMemory().read8(logMa + i);
    }
    assertThat(new String(log, 0, 5, java.nio.charset.StandardCharsets.US_ASCII))
        .isEqualTo("ABACA");
    assertThat(log[5]).isZero();
    assertThat(pv.vcpus().get(0).counters().hypercallCount[Hypercall.IRET.number()])
        .isEqualTo(5);
  }

  /**
   * PV: an NMI sent while the guest handles one waits for the handler's iret hypercall and is
   * then delivered at once, before the interrupted code's next instruction. Xen re-raises
   * nothing itself: compat_iret's async_exception_cleanup restores the NMI mask, and the
   * hypercall's exit path (compat_test_all_events) finds nmi_pending and bounces it. (The other
   * re-raise Xen has, in register_guest_nmi_callback for vCPU 0 when the shared nmi_reason is
   * non-zero, is for the hardware domain only, which is the only one nmi_hwdom_report gives a
   * reason: it has no counterpart here.) The handler counts at 0x9000, records the count after
   * sending itself a second NMI at 0x9004; the main code records it after the first NMI at 0x9008.
   */
  @Test
  void aPvNmiSentDuringItsHandlerArrivesRightAfterTheIretHypercall() {
    Domain pv = PvTestDomains.create(hv, "pv-nmi-nest");
    long data = PvTestDomains.mfn(pv, 9) << 12; // read after the domain is down
    poke(pv, 0xA000, "0200" + "19e0" + imm(0x5200) + "0000000000000000");
    String send = int82(Hypercall.VCPU_OP, VcpuOp.SEND_NMI, 0, 0);
    // inc dword [0x9000] ; cmp dword [0x9000], 1 ; jne done ; send_nmi ;
    // mov eax, [0x9000] ; mov [0x9004], eax ; done: push eax ; iret hypercall
    poke(pv, 0x5200, "ff05" + imm(0x9000) + "833d" + imm(0x9000) + "01" + "7520" + send
        + "a1" + imm(0x9000) + "a3" + imm(0x9004)
        + "50" + "b8" + imm(Hypercall.IRET.number()) + "cd82");
    poke(pv, PvTestDomains.ENTRY, int82(Hypercall.SET_TRAP_TABLE, 0xA000, 0, 0) + send
        + "a1" + imm(0x9000) + "a3" + imm(0x9008)
        + int82(Hypercall.VCPU_OP, VcpuOp.DOWN, 0, 0) + "ebfe");
    hv.unpause(pv);
    hv.run(50_000_000L);
    assertThat(pv.state()).as(String.valueOf(pv.endReason())).isEqualTo(DomainState.SHUTDOWN);
    var m = hv.machineMemory();
    assertThat(m.read32(data + 4)).as("count in the handler").isEqualTo(1);
    assertThat(m.read32(data)).isEqualTo(2);
    assertThat(m.read32(data + 8)).as("count when the main code resumes").isEqualTo(2);
    assertThat(pv.vcpus().get(0).counters().hypercallCount[Hypercall.IRET.number()])
        .isEqualTo(2);
  }

  private int pvOp(Domain pv, int cmd, int vcpu, int arg) {
    return hc.dispatch(pv.vcpus().get(0), Hypercall.VCPU_OP.number(), cmd, vcpu, arg, 0, 0);
  }

  /**
   * Paging contexts: PAE roots without reserved bits are taken (under EPT and under the shadow
   * pager); roots the processor cannot load crash the domain, as a failed VM entry does in Xen,
   * and never the hypervisor.
   */
  @Test
  void aPagingContextIsTakenAndOneWithBadPaeRootsCrashesOnlyTheDomain() {
    for (DomainMode mode : new DomainMode[] {DomainMode.PVH, DomainMode.HVM_EPT,
        DomainMode.HVM_SHADOW}) {
      Domain d = hvm(mode);
      int pdpt = 0x20000;
      d.memory().write(pdpt, new byte[32], 0, 32); // four not-present PDPTEs
      put(d, with(b -> {
        b.putInt(VcpuOp.HVM32_CR0, Cpu.CR0_PE | Cpu.CR0_ET | Cpu.CR0_PG);
        b.putInt(VcpuOp.HVM32_CR4, Cpu.CR4_PAE);
        b.putInt(VcpuOp.HVM32_CR3, pdpt);
      }));
      assertThat(vcpuOp(d, VcpuOp.INITIALISE, 1, CTX)).as(mode.cliName()).isZero();
      assertThat(d.state()).isEqualTo(DomainState.RUNNING);
      assertThat(vcpuOp(d, VcpuOp.UP, 1, 0)).isZero();

      Domain e = hvm(mode);
      e.memory().write64(pdpt, 0x3); // P with RW: reserved in a PDPTE
      put(e, with(b -> {
        b.putInt(VcpuOp.HVM32_CR0, Cpu.CR0_PE | Cpu.CR0_ET | Cpu.CR0_PG);
        b.putInt(VcpuOp.HVM32_CR4, Cpu.CR4_PAE);
        b.putInt(VcpuOp.HVM32_CR3, pdpt);
      }));
      vcpuOp(e, VcpuOp.INITIALISE, 1, CTX);
      assertThat(e.state()).as(mode.cliName()).isEqualTo(DomainState.CRASHED);

      Domain f = hvm(mode);
      put(f, with(b -> b.putInt(VcpuOp.HVM32_CR0, Cpu.CR0_PG | Cpu.CR0_ET)));
      vcpuOp(f, VcpuOp.INITIALISE, 1, CTX);
      assertThat(f.state()).as(mode.cliName()).isEqualTo(DomainState.CRASHED);
    }
  }
}
