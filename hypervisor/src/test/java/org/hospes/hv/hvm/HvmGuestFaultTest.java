package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.hv.hvm.GuestCode.le;
import static org.hospes.hv.hvm.GuestCode.write;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.ioreq.Ioreq;
import org.hospes.hv.ioreq.IoreqServer;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What an HVM guest sees from instructions the exit paths once got wrong, with EPT and with
 * shadow paging: a guest with a #GP handler that records the error code and the faulting EIP,
 * then halts (interrupts off, so the domain shuts down "halted").
 */
class HvmGuestFaultTest {
  private static final int CODE = 0x1000;
  private static final int GP_HANDLER = 0x1800;
  /** The #GP handler writes 14 (vector + 1) here, the error code and the EIP after it. */
  private static final int FAULT = 0x6000;
  private static final int RESULT = 0x6100;

  private Hypervisor hv;

  private Domain guest(DomainMode mode, String code) {
    return guest(mode, code, 0x5000);
  }

  /** As {@link #guest(DomainMode, String)}, with a 32-bit TSS at {@code tss} as selector 0x28. */
  private Domain guest(DomainMode mode, String code, int tss) {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("g", mode, 2);
    var m = d.memory();
    // GDT (null, flat code 0x08, flat data 0x10, 0x18 and 0x20 unused, the TSS 0x28) at
    // 0x3010, its descriptor at 0x3000; the IDT
    // (32 gates, only #GP's used) at 0x2000, its descriptor at 0x3008.
    m.write32(0x3018, 0x0000_FFFF);
    m.write32(0x301C, 0x00CF_9A00);
    m.write32(0x3020, 0x0000_FFFF);
    m.write32(0x3024, 0x00CF_9200);
    m.write32(0x3038, tss << 16 | 0x67);
    m.write32(0x303C, tss & 0xFF00_0000 | 0x8900 | tss >>> 16 & 0xFF);
    m.write16(0x3000, 0x2F);
    m.write32(0x3002, 0x3010);
    m.write16(0x3008, 32 * 8 - 1);
    m.write32(0x300A, 0x2000);
    m.write32(0x2000 + 13 * 8, 0x0008_0000 | GP_HANDLER);
    m.write32(0x2000 + 13 * 8 + 4, 0x8E00);
    // mov dword [FAULT], 14 ; pop dword [FAULT + 4] ; pop dword [FAULT + 8] ; hlt
    write(d, GP_HANDLER, "c705006000000e000000 8f0504600000 8f0508600000 f4");
    // lgdt [0x3000] ; lidt [0x3008] ; cli ; the test's code.
    write(d, CODE, "0f011500300000 0f011d08300000 fa " + code);
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.setEip(CODE);
    cpu.setReg(Cpu.ESP, 0x8000);
    hv.unpause(d);
    return d;
  }

  private void runToHalt(Domain d) {
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.endReason()).isEqualTo("halted");
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void anInstructionMakingMoreDeviceAccessesThanAreReplayedGetsGp0(DomainMode mode) {
    // FNSAVE of 108 bytes to the local APIC's page: 27 doubleword writes, more than the
    // hypervisor replays. Xen's emulator gives up on such an access and injects #GP(0); the
    // hypervisor once threw IllegalStateException out of its exit handling instead.
    int fnsave = CODE + 15;
    Domain d = guest(mode, "dd35" + le(0xFEE0_0000) + " f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("#GP").isEqualTo(14);
    assertThat(d.memory().read32(FAULT + 4)).as("error code").isZero();
    assertThat(d.memory().read32(FAULT + 8)).as("at the FNSAVE").isEqualTo(fnsave);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void aMoveBetweenTwoUnbackedPagesThatMeetModulo16Completes(DomainMode mode) {
    // MOVSD from gpa 0x10000000 to 0x20000000, neither backed: page numbers 0x10000 and
    // 0x20000 share the shadow MMIO translations' slot; each evicted the other at every
    // restart and the vCPU never got past the instruction.
    Domain d = guest(mode, "be" + le(0x1000_0000) + " bf" + le(0x2000_0000) + " a5"
        + " 8935" + le(RESULT) + " 893d" + le(RESULT + 4) + " f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("no fault").isZero();
    assertThat(d.memory().read32(RESULT)).isEqualTo(0x1000_0004);
    assertThat(d.memory().read32(RESULT + 4)).isEqualTo(0x2000_0004);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void movToCr0IgnoresItsReservedBits(DomainMode mode) {
    // PE, NE and WP with every reserved bit of CR0 set (bits 6-15, 17, 19-28): the reserved
    // bits are ignored and read as 0 (SDM vol. 3, 2.5; Xen's HVM_CR0_GUEST_RESERVED_BITS).
    // WP is the shadow pager's, so that under shadow paging the write exits to it.
    int reserved = 0x1FFA_FFC0;
    int defined = Cpu.CR0_PE | Cpu.CR0_NE | Cpu.CR0_WP;
    Domain d = guest(mode, "b8" + le(defined | reserved) + " 0f22c0 0f20c0"
        + " a3" + le(RESULT) + " f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("no fault").isZero();
    assertThat(d.memory().read32(RESULT)).isEqualTo(defined | Cpu.CR0_ET);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void aTaskSwitchToATssWithNoRamBehindItCrashesTheDomainWithAReason(DomainMode mode) {
    // A TSS descriptor (selector 0x28) whose base is in the HPET's page past its registers.
    // The task switch reads the TSS for the hypervisor, which cannot complete device accesses
    // there: as Xen's hvm_task_switch, the domain is crashed. With EPT the walk once threw a
    // NullPointerException out of the exit handling (the VMCS is detached meanwhile).
    Domain d = guest(mode, "ea00000000 2800 f4", 0xFED0_0800);
    hv.run(100_000_000L);
    assertThat(d.state()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).contains("task switch");
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void aTaskSwitchToACr3WithReservedPdpteBitsIsGp0InTheNewTask(DomainMode mode) {
    // PAE paging on an identity map of the first 2 MiB; then a task switch (JMP to the TSS
    // at 0x5000) whose CR3 names a PDPT with a reserved bit set. Loading it is #GP(0), as for
    // MOV to CR3 (Xen's hvm_task_switch injects #GP(0) when hvm_set_cr3 fails), raised in the
    // new task. The shadow pager once threw IllegalStateException out of the exit handling.
    Domain d = guest(mode, "b8" + le(0xA000) + " 0f22d8"        // cr3 = good PDPT
        + " 0f20e0 83c820 0f22e0"                               // cr4.PAE = 1
        + " 0f20c0 0d00000080 0f22c0"                           // cr0.PG = 1
        + " ea00000000 2800 f4", 0x5000);
    var m = d.memory();
    for (int pdpt : new int[] {0xA000, 0xA020}) {
      m.write32(pdpt, 0xB000 | 1);                              // PDPTE 0 -> PD at 0xB000
    }
    m.write32(0xA020, 0xB000 | 1 | 1 << 1);                     // bit 1 is reserved
    m.write32(0xB000, 0xC000 | 3);                              // PDE 0 -> PT at 0xC000
    for (int i = 0; i < 512; i++) {
      m.write32(0xC000 + 8 * i, i << 12 | 3);
    }
    // The new task: CR3 = the bad PDPT, EIP = its HLT, flat segments, a stack.
    int tss = 0x5000;
    m.write32(tss + 0x1C, 0xA020);
    m.write32(tss + 0x20, CODE + 0x7F0);
    m.write32(tss + 0x24, 2);
    m.write32(tss + 0x38, 0x7000);
    for (int seg = 0; seg < 6; seg++) {
      m.write32(tss + 0x48 + 4 * seg, seg == 1 ? 0x08 : 0x10);
    }
    m.write32(tss + 0x64, 0x68 << 16);
    d.memory().write8(CODE + 0x7F0, 0xF4);
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("#GP").isEqualTo(14);
    assertThat(d.memory().read32(FAULT + 4)).as("error code").isZero();
  }

  @ParameterizedTest
  @CsvSource({"HVM_EPT, 8", "HVM_EPT, 64", "HVM_SHADOW, 8", "HVM_SHADOW, 64"})
  void settingCr4DeOrMceThatCpuidDoesNotReportIsGp0(DomainMode mode, int bit) {
    // CR4.DE (8) and CR4.MCE (64) with the guest's CPUID.1:EDX reporting neither DE nor MCE
    // (nor MCA): #GP(0) at the MOV, as Xen's hvm_cr4_guest_valid_bits decides from the
    // guest's CPUID; CR4 keeps its value. Both once stuck.
    int mov = CODE + 15 + 5;
    Domain d = guest(mode, "b8" + le(bit) + " 0f22e0 f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("#GP").isEqualTo(14);
    assertThat(d.memory().read32(FAULT + 4)).as("error code").isZero();
    assertThat(d.memory().read32(FAULT + 8)).as("at the MOV").isEqualTo(mov);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void cr4BitsOfReportedFeaturesStick(DomainMode mode) {
    // TSD, PSE, PGE, PCE, OSFXSR and OSXMMEXCPT: CPUID reports TSC, PSE, PGE, FXSR and SSE.
    int bits = Cpu.CR4_TSD | Cpu.CR4_PSE | Cpu.CR4_PGE | Cpu.CR4_PCE | Cpu.CR4_OSFXSR
        | Cpu.CR4_OSXMMEXCPT;
    Domain d = guest(mode, "b8" + le(bits) + " 0f22e0 0f20e0 a3" + le(RESULT) + " f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("no fault").isZero();
    assertThat(d.memory().read32(RESULT)).isEqualTo(bits);
  }

  // ------------------------------------------------------------------ string I/O, memory side

  /** A port nothing claims in these domains: it reads all ones and drops writes. */
  private static final int NO_PORT = 0xE0;
  /** Guest-physical addresses with nothing behind them (the domain has 2 MiB of RAM). */
  private static final int UNBACKED = 0x1000_0000;
  private static final int DM_PAGE = 0xF000_0000;

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void repInsIntoAnAddressWithNothingBehindItCompletesAndDropsTheData(DomainMode mode) {
    // REP INSB of 8 bytes to gpa 0x10000000: as Xen's emulator, the writes are dropped and
    // the instruction retires with ECX = 0 and EDI past the buffer. The hypervisor once
    // crashed the domain ("fault during string I/O emulation") with EPT.
    Domain d = guest(mode, "b908000000 bf" + le(UNBACKED) + " ba" + le(NO_PORT) + " f36c"
        + " 890d" + le(RESULT) + " 893d" + le(RESULT + 4) + " f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("no fault").isZero();
    assertThat(d.memory().read32(RESULT)).as("ECX").isZero();
    assertThat(d.memory().read32(RESULT + 4)).as("EDI").isEqualTo(UNBACKED + 8);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void repOutsFromAnAddressWithNothingBehindItSendsAllOnes(DomainMode mode) {
    // The PIC's mask register is cleared, then REP OUTSB sends it 8 bytes read from gpa
    // 0x10000000: each reads all ones, so the mask ends 0xFF; ESI moves past the buffer.
    Domain d = guest(mode, "b000 e621 b908000000 be" + le(UNBACKED) + " ba21000000 f36e"
        + " e421 a2" + le(RESULT) + " 8935" + le(RESULT + 4) + " 890d" + le(RESULT + 8)
        + " f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("no fault").isZero();
    assertThat(d.memory().read8(RESULT)).as("PIC mask").isEqualTo(0xFF);
    assertThat(d.memory().read32(RESULT + 4)).as("ESI").isEqualTo(UNBACKED + 8);
    assertThat(d.memory().read32(RESULT + 8)).as("ECX").isZero();
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void insIntoTheLocalApicGoesToTheLocalApic(DomainMode mode) {
    // INSD (no REP) from a port that reads all ones into the TPR (0xFEE00080): the local
    // APIC, emulated in the hypervisor, takes the doubleword; the TPR reads back 0xFF.
    Domain d = guest(mode, "bf" + le(0xFEE0_0080) + " ba" + le(NO_PORT) + " 6d"
        + " a1" + le(0xFEE0_0080) + " a3" + le(RESULT) + " 893d" + le(RESULT + 4) + " f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("no fault").isZero();
    assertThat(d.memory().read32(RESULT)).as("TPR").isEqualTo(0xFF);
    assertThat(d.memory().read32(RESULT + 4)).as("EDI").isEqualTo(0xFEE0_0084);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void outsFromTheLocalApicReadsTheLocalApic(DomainMode mode) {
    // OUTSB from the local APIC's version register to the PIC's mask register: the mask is
    // the version's low byte, as a MOV from the register reads it.
    Domain d = guest(mode, "b000 e621 be" + le(0xFEE0_0030) + " ba21000000 6e"
        + " e421 a2" + le(RESULT) + " a1" + le(0xFEE0_0030) + " a3" + le(RESULT + 4) + " f4");
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("no fault").isZero();
    int version = d.memory().read32(RESULT + 4) & 0xFF;
    assertThat(version).as("the version register is not empty").isNotZero();
    assertThat(d.memory().read8(RESULT)).as("PIC mask").isEqualTo(version);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void repStringIoWithAPageOfTheDeviceModelReachesTheDeviceModel(DomainMode mode) {
    // REP INSW of 3 words from a device-model port into a device-model MMIO page, then REP
    // OUTSW of those 3 words back to the port: every element reaches the device model, in
    // order, as Xen hands such elements to the ioreq server.
    List<String> seen = new ArrayList<>();
    int[] next = {0x1111};
    Domain d = guest(mode, "b903000000 bf" + le(DM_PAGE + 0x10) + " ba" + le(0x3000)
        + " f3666d"
        + " b903000000 be" + le(DM_PAGE + 0x10) + " f3666f"
        + " 893d" + le(RESULT) + " 8935" + le(RESULT + 4) + " f4");
    hv.control().serveIoreqs(d.domid(), new IoreqServer() {
      @Override
      public long handle(int domid, Ioreq req) {
        seen.add(String.format("%s %s %x/%d %x", req.type(), req.write() ? "w" : "r",
            req.address(), req.size(), req.write() ? req.data() : 0));
        if (req.write()) {
          return 0;
        }
        if (req.type() == Ioreq.Type.PIO) {
          int v = next[0];
          next[0] += 0x1111;
          return v;
        }
        // The page holds what was written to it (one word per offset here).
        for (int i = seen.size() - 1; i >= 0; i--) {
          String w = seen.get(i);
          if (w.startsWith(String.format("MMIO w %x/", req.address()))) {
            return Long.parseLong(w.substring(w.lastIndexOf(' ') + 1), 16);
          }
        }
        return 0xFFFF;
      }

      @Override
      public boolean claimsPort(int port) {
        return port == 0x3000;
      }

      @Override
      public boolean claimsMmio(long gpa) {
        return gpa >= 0xF000_0000L && gpa < 0xF000_1000L;
      }
    });
    runToHalt(d);
    assertThat(d.memory().read32(FAULT)).as("no fault").isZero();
    assertThat(seen).containsExactly(
        "PIO r 3000/2 0", String.format("MMIO w %x/2 1111", DM_PAGE + 0x10),
        "PIO r 3000/2 0", String.format("MMIO w %x/2 2222", DM_PAGE + 0x12),
        "PIO r 3000/2 0", String.format("MMIO w %x/2 3333", DM_PAGE + 0x14),
        String.format("MMIO r %x/2 0", DM_PAGE + 0x10), "PIO w 3000/2 1111",
        String.format("MMIO r %x/2 0", DM_PAGE + 0x12), "PIO w 3000/2 2222",
        String.format("MMIO r %x/2 0", DM_PAGE + 0x14), "PIO w 3000/2 3333");
    assertThat(d.memory().read32(RESULT)).as("EDI").isEqualTo(DM_PAGE + 0x16);
    assertThat(d.memory().read32(RESULT + 4)).as("ESI").isEqualTo(DM_PAGE + 0x16);
  }
}
