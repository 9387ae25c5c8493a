package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.memory.GuestMemory;
import org.hospes.hv.platform.Hpet;
import org.hospes.hv.platform.IoApic;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A hostile HVM guest against the exit paths: generated machine code that runs, one after the
 * other, random IN and OUT to random ports, RDMSR and WRMSR of architectural and random MSRs,
 * MOV to CR0, CR3 and CR4 with random values, CPUID with random leaves and subleaves, INVLPG,
 * REP INS and REP OUTS through RAM, and MMIO of every size to the local APIC, I/O APIC and HPET pages, across their ends and to
 * guest-physical addresses with nothing behind them, including instructions that make many
 * accesses at once (FXSAVE, FNSAVE, CMPXCHG8B, REP MOVSD). Interrupts stay off; an IDT whose
 * handlers record the vector and error code of any exception and resume after the instruction
 * lets the test see what the guest saw.
 *
 * <p>Invariants: no Java exception comes out of the hypervisor; the guest runs to its final HLT
 * (or, in the triple-fault variant, is crashed with that reason) within its cycle budget; a
 * second domain running alongside finishes its own work with its memory untouched. The
 * architectural outcome is checked where the Intel SDM (or Xen, where Xen decides) fixes it:
 * RDMSR and WRMSR of an MSR this processor does not have raise #GP(0); MOV to CR4 with a
 * reserved bit raises #GP(0), without one it sticks; MOV to CR0 with PG=1 and PE=0, or NW=1
 * and CD=0, raises #GP(0), otherwise it sticks with its reserved bits ignored (they read as 0)
 * and ET set; CR3 sticks; an unclaimed port reads all ones and an address with nothing behind
 * it reads all ones, the register's other bytes kept; CPUID never faults and answers Xen's
 * leaves; IN, OUT and INVLPG never fault at CPL 0.
 */
class HvmExitFuzzTest {
  private static final int CASES = 3000;
  private static final int RAM_MIB = 4;
  private static final long RAM_END = RAM_MIB << 20;

  // Guest memory layout.
  private static final int IDT = 0x2000;
  private static final int GDTR = 0x3000;
  private static final int IDTR = 0x3008;
  private static final int GDT = 0x3010;
  private static final int HANDLERS = 0x4000;
  private static final int CUR_SLOT = 0x6000;
  private static final int CUR_RESUME = 0x6004;
  private static final int NMI_COUNT = 0x6008;
  private static final int ZERO_IDTR = 0x6010;
  private static final int SCRATCH = 0x7000;
  private static final int RAM_BUFFER = 0x8000;
  private static final int LOG = 0x10000;
  private static final int SLOT = 32;
  private static final int STACK = 0x90000;
  private static final int CODE = 0x100000;

  /** The register value loaded before each operation, to see which bytes it changed. */
  private static final int MARK = 0x5A5A_5A5A;

  private static final int CR0_DEFINED = Cpu.CR0_PE | Cpu.CR0_MP | Cpu.CR0_EM | Cpu.CR0_TS
      | Cpu.CR0_ET | Cpu.CR0_NE | Cpu.CR0_WP | Cpu.CR0_AM | Cpu.CR0_NW | Cpu.CR0_CD
      | Cpu.CR0_PG;
  /**
   * The CR4 bits this processor supports (SDM 2.5; CPUID.1 says which): those of the features
   * its CPUID.1:EDX reports (TSC, PSE, PAE, PGE, FXSR, SSE) and PCE. Not DE or MCE: it
   * reports neither (Xen's hvm_cr4_guest_valid_bits).
   */
  private static final int CR4_VALID = Cpu.CR4_TSD | Cpu.CR4_PSE | Cpu.CR4_PAE
      | Cpu.CR4_PGE | Cpu.CR4_PCE | Cpu.CR4_OSFXSR | Cpu.CR4_OSXMMEXCPT;

  /** MSRs the guest has, for reads and for writes (any other raises #GP(0)). */
  private static final int[] MSRS_READ = {0x10, 0x17, 0x1B, 0x8B, 0xCE, 0xFE, 0x140, 0x174,
      0x175, 0x176, 0x1A0, 0x1D9, 0x250, 0x258, 0x259, 0x277, 0x2FF, 0xC000_0080,
      0x4000_0000};
  private static final int[] MSRS_WRITE = {0x10, 0x1B, 0x8B, 0x140, 0x174, 0x175, 0x176,
      0x1A0, 0x1D9, 0x277, 0x2FF, 0xC000_0080, 0x4000_0000};
  /** MSRs a guest pokes at: the ones above and architectural ones it does not have. */
  private static final int[] MSR_PROBES = {0x0, 0x1, 0x6, 0x10, 0x17, 0x1B, 0x2A, 0x34, 0x3A,
      0x3B, 0x48, 0x49, 0x79, 0x8B, 0x9B, 0xC1, 0xCE, 0xE7, 0xE8, 0xFE, 0x10A, 0x140, 0x174,
      0x175, 0x176, 0x179, 0x17A, 0x17B, 0x186, 0x198, 0x199, 0x19A, 0x1A0, 0x1B0, 0x1D9,
      0x200, 0x201, 0x20F, 0x210, 0x250, 0x258, 0x259, 0x268, 0x26F, 0x270, 0x277, 0x2FF,
      0x300, 0x345, 0x38D, 0x3F1, 0x400, 0x480, 0x48F, 0x4D0, 0x600, 0x6E0, 0x802, 0x808,
      0x80B, 0x830, 0x83F, 0x1FFF, 0x2000, 0xC000_0080, 0xC000_0081, 0xC000_0082,
      0xC000_0084, 0xC000_0100, 0xC000_0101, 0xC000_0102, 0xC000_0103, 0xC000_1FFF,
      0xC000_2000, 0xC001_0000, 0x4000_0000, 0x4000_0001, 0x4000_0200, 0x4000_0100,
      0xFFFF_FFFF, 0x8000_0000};
  private static final int[] PORT_PROBES = {0x20, 0x21, 0xA0, 0xA1, 0x40, 0x41, 0x42, 0x43,
      0x61, 0x70, 0x71, 0x4D0, 0x4D1, 0xB000, 0xB001, 0xB002, 0xB004, 0xB005, 0xB008, 0xB00A,
      0xB00B, 0x80, 0x92, 0xCF8, 0xCFC, 0xCF9, 0x3F8, 0x1F0, 0x60, 0x64, 0xFFFF, 0x0};
  private static final int[] CPUID_LEAVES = {0, 1, 2, 3, 4, 5, 6, 7, 0xA, 0xB, 0xD, 0x14,
      0x8000_0000, 0x8000_0001, 0x8000_0002, 0x8000_0004, 0x8000_0005, 0x8000_0008,
      0x8000_0009, 0x4000_0000, 0x4000_0001, 0x4000_0002, 0x4000_0003, 0x4000_0004,
      0x4000_0005, 0x4000_0100, 0x4000_00FF, 0xFFFF_FFFF, 0x8FFF_FFFF};

  static Stream<Arguments> runs() {
    return Stream.of(
        Arguments.of(DomainMode.HVM_EPT, 1L, false),
        Arguments.of(DomainMode.HVM_EPT, 0x5EEDL, true),
        Arguments.of(DomainMode.HVM_EPT, 20_261_202L, false),
        Arguments.of(DomainMode.HVM_SHADOW, 1L, true),
        Arguments.of(DomainMode.HVM_SHADOW, 0x5EEDL, false),
        Arguments.of(DomainMode.HVM_SHADOW, 20_261_202L, false));
  }

  @ParameterizedTest(name = "{0} seed {1} triple fault {2}")
  @MethodSource("runs")
  void aHostileGuestGetsArchitecturalAnswersAndHarmsNoOne(DomainMode mode, long seed,
      boolean tripleFault) {
    Run run = new Run(mode, seed, tripleFault);
    assertTimeoutPreemptively(Duration.ofSeconds(30), run::go,
        () -> "seed " + seed + " in " + mode + ": did not finish");
  }

  /** What the test knows of one generated case: its text and what the SDM says of it. */
  private record Case(int index, String what, Integer vector, Integer eax, int eaxMask) {}

  /** One fuzzing run: the hostile domain, the bystander, the generated cases. */
  private static final class Run {
    final DomainMode mode;
    final long seed;
    final boolean tripleFault;
    final Random rnd;
    final List<Case> cases = new ArrayList<>();
    final Map<String, Integer> outcomes = new TreeMap<>();
    Hypervisor hv;
    Domain guest;
    Asm asm;

    Run(DomainMode mode, long seed, boolean tripleFault) {
      this.mode = mode;
      this.seed = seed;
      this.tripleFault = tripleFault;
      this.rnd = new Random(seed);
    }

    String where(Case c) {
      return String.format("seed %d in %s, case %d: %s", seed, mode, c.index(), c.what());
    }

    void go() {
      hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
      guest = hv.createHvmDomain("hostile", mode, RAM_MIB);
      // The bystander counts in a register to a million and halts; it writes no memory.
      Domain bystander = hv.createHvmDomain("bystander", DomainMode.HVM_EPT, 1);
      byte[] loop = {0x31, (byte) 0xC0, 0x40, 0x3D, 0x40, 0x42, 0x0F, 0x00, 0x75, (byte) 0xF8,
          (byte) 0xF4};
      bystander.memory().write(0x1000, loop, 0, loop.length);
      Cpu bcpu = bystander.vcpus().get(0).cpu();
      bcpu.setEip(0x1000);
      bcpu.setReg(Cpu.ESP, 0x8000);
      byte[] bystanderBefore = snapshot(bystander.memory(), 1 << 20);

      buildGuest();
      hv.unpause(guest);
      hv.unpause(bystander);
      long budget = 4_000_000_000L;
      long used;
      try {
        used = hv.run(budget);
      } catch (RuntimeException e) {
        // Name the case the guest was in: the handlers' slot pointer says which.
        int current = (guest.memory().read32(CUR_SLOT) - LOG) / SLOT;
        throw new AssertionError(String.format("%s thrown out of the hypervisor", e),
            e instanceof RuntimeException && current >= 0 && current < cases.size()
                ? new AssertionError(where(cases.get(current)), e) : e);
      }

      int current = (guest.memory().read32(CUR_SLOT) - LOG) / SLOT;
      String end = String.format("seed %d in %s: %s (%s) in case %s at eip=0x%x", seed, mode,
          guest.state(), guest.endReason(),
          current >= 0 && current < cases.size() ? cases.get(current) : "-",
          guest.vcpus().get(0).cpu().eip());
      assertThat(used).as("%s: ran to the end within its budget", end).isLessThan(budget);
      if (tripleFault) {
        assertThat(guest.state()).as(end).isEqualTo(DomainState.CRASHED);
        assertThat(guest.endReason()).as(end).startsWith("triple fault");
      } else {
        assertThat(guest.state()).as(end).isEqualTo(DomainState.SHUTDOWN);
        assertThat(guest.endReason()).as(end).isEqualTo("halted");
      }
      assertThat(bystander.state()).isEqualTo(DomainState.SHUTDOWN);
      assertThat(bystander.vcpus().get(0).cpu().reg(Cpu.EAX)).isEqualTo(1_000_000);
      assertThat(snapshot(bystander.memory(), 1 << 20))
          .as("seed %d in %s: the bystander's memory", seed, mode).isEqualTo(bystanderBefore);
      checkCases();
      System.out.printf("HvmExitFuzzTest %s seed %d: %d cases, %s%n", mode, seed,
          cases.size(), outcomes);
    }

    static byte[] snapshot(GuestMemory m, int bytes) {
      byte[] b = new byte[bytes];
      m.read(0, b, 0, bytes);
      return b;
    }

    // ---------------------------------------------------------------- the guest

    void buildGuest() {
      GuestMemory m = guest.memory();
      // GDT: null, flat code 0x08, flat data 0x10, matching the vCPU's reset state.
      m.write32(GDT + 8, 0x0000_FFFF);
      m.write32(GDT + 12, 0x00CF_9A00);
      m.write32(GDT + 16, 0x0000_FFFF);
      m.write32(GDT + 20, 0x00CF_9200);
      m.write16(GDTR, 23);
      m.write32(GDTR + 2, GDT);
      m.write16(IDTR, 32 * 8 - 1);
      m.write32(IDTR + 2, IDT);
      m.write16(ZERO_IDTR, 0);
      m.write32(ZERO_IDTR + 2, 0);
      Asm h = new Asm();
      for (int v = 0; v < 32; v++) {
        int at = HANDLERS + h.size();
        m.write32(IDT + 8 * v, 0x0008_0000 | (at & 0xFFFF));
        m.write32(IDT + 8 * v + 4, (at & 0xFFFF_0000) | 0x8E00);
        handler(h, v);
      }
      h.copyTo(m, HANDLERS);

      asm = new Asm();
      asm.b(0x0F, 0x01, 0x15).d(GDTR);                   // lgdt [GDTR]
      asm.b(0x0F, 0x01, 0x1D).d(IDTR);                   // lidt [IDTR]
      asm.b(0xFA, 0xFC);                                 // cli; cld
      for (int i = 0; i < CASES; i++) {
        generate(i);
      }
      if (tripleFault) {
        // No IDT at all: #UD finds no gate, nor does the #GP that follows, nor the #DF.
        asm.b(0x0F, 0x01, 0x1D).d(ZERO_IDTR);            // lidt [ZERO_IDTR]
        asm.b(0x0F, 0x0B);                               // ud2
      }
      asm.b(0xF4);                                       // hlt, interrupts off
      assertThat(CODE + asm.size()).isLessThan(STACK + 0x200000);
      asm.copyTo(m, CODE);
      Cpu cpu = guest.vcpus().get(0).cpu();
      cpu.setEip(CODE);
      cpu.setReg(Cpu.ESP, STACK);
    }

    /**
     * Vector {@code v}'s handler: writes v + 1 and the error code (0 if none) to the current
     * case's slot and returns to the case's resume point. NMIs are counted and return.
     */
    static void handler(Asm h, int v) {
      if (v == 2) {
        h.b(0xFF, 0x05).d(NMI_COUNT);                   // inc dword [NMI_COUNT]
        h.b(0xCF);                                       // iret
        return;
      }
      boolean code = v == 8 || v >= 10 && v <= 14 || v == 17 || v == 21;
      h.b(0x50, 0x52);                                   // push eax; push edx
      h.b(0xA1).d(CUR_SLOT);                             // mov eax, [CUR_SLOT]
      h.b(0xC7, 0x00).d(v + 1);                          // mov dword [eax], v + 1
      if (code) {
        h.b(0x8B, 0x54, 0x24, 0x08);                     // mov edx, [esp + 8]
        h.b(0x89, 0x50, 0x04);                           // mov [eax + 4], edx
      } else {
        h.b(0xC7, 0x40, 0x04).d(0);                      // mov dword [eax + 4], 0
      }
      h.b(0x8B, 0x15).d(CUR_RESUME);                     // mov edx, [CUR_RESUME]
      h.b(0x89, 0x54, 0x24, code ? 0x0C : 0x08);         // mov [esp + eip], edx
      h.b(0x5A, 0x58);                                   // pop edx; pop eax
      if (code) {
        h.b(0x83, 0xC4, 0x04);                           // add esp, 4
      }
      h.b(0xCF);                                         // iret
    }

    // ---------------------------------------------------------------- generation

    int value() {
      return switch (rnd.nextInt(8)) {
        case 0 -> 0;
        case 1 -> -1;
        case 2 -> 1 << rnd.nextInt(32);
        case 3 -> rnd.nextInt(4);
        default -> rnd.nextInt();
      };
    }

    /**
     * One case: the slot and resume point for the handlers, registers loaded with markers,
     * the operation, then its results logged.
     */
    void generate(int i) {
      int slot = LOG + i * SLOT;
      Asm op = new Asm();
      int eax = MARK;
      int ecx = MARK;
      int edx = MARK;
      String what;
      Integer vector = null;
      Integer expectEax = null;
      int eaxMask = -1;
      int kind = rnd.nextInt(100);
      if (kind < 14) {
        // IN from a port: platform devices answer theirs, nobody else's reads all ones.
        int port = rnd.nextBoolean() ? PORT_PROBES[rnd.nextInt(PORT_PROBES.length)]
            : rnd.nextInt(0x10000);
        int size = 1 << rnd.nextInt(3);
        boolean viaDx = port > 0xFF || rnd.nextBoolean();
        edx = port;
        if (size == 2) {
          op.b(0x66);
        }
        if (viaDx) {
          op.b(size == 1 ? 0xEC : 0xED);
        } else {
          op.b(size == 1 ? 0xE4 : 0xE5, port);
        }
        what = String.format("in %d bytes from port 0x%x", size, port);
        vector = 0;
        if (!guest.platformPorts().claims(port)) {
          eaxMask = size == 4 ? -1 : (1 << (8 * size)) - 1;
          expectEax = MARK | eaxMask;
          eaxMask = -1;
        }
      } else if (kind < 28) {
        int port = rnd.nextBoolean() ? PORT_PROBES[rnd.nextInt(PORT_PROBES.length)]
            : rnd.nextInt(0x10000);
        int size = 1 << rnd.nextInt(3);
        eax = value();
        for (int k = 0; k < size; k++) {
          if (port + k == 0xB005) {
            // PM1_CNT.SLP_EN with S5 would switch the guest off: not this test's business.
            eax &= ~(0x20 << (8 * k));
          }
        }
        edx = port;
        if (size == 2) {
          op.b(0x66);
        }
        op.b(size == 1 ? 0xEE : 0xEF);
        what = String.format("out %d bytes 0x%x to port 0x%x", size, eax, port);
        vector = 0;
      } else if (kind < 38) {
        int msr = rnd.nextInt(3) > 0 ? MSR_PROBES[rnd.nextInt(MSR_PROBES.length)]
            : rnd.nextInt();
        ecx = msr;
        op.b(0x0F, 0x32);                                // rdmsr
        what = String.format("rdmsr 0x%x", msr);
        vector = contains(MSRS_READ, msr) || isMtrr(msr) ? 0 : 13;
      } else if (kind < 48) {
        int msr = rnd.nextInt(3) > 0 ? MSR_PROBES[rnd.nextInt(MSR_PROBES.length)]
            : rnd.nextInt();
        ecx = msr;
        eax = value();
        edx = rnd.nextInt(3) == 0 ? value() : 0;
        if (msr == 0x4000_0000 && (eax & 0xFFF) == 0 && edx == 0
            && (eax & 0xFFFF_FFFFL) < RAM_END) {
          // The hypercall page goes where the guest says: into the scratch page, not the code.
          eax = SCRATCH;
        }
        if (msr == 0x1B && rnd.nextBoolean()) {
          // The APIC base as software writes it: enabled or not, BSP or not, the window moved.
          eax = (rnd.nextBoolean() ? (int) LocalApic.BASE : 0xFED0_0000) | rnd.nextInt(2) << 8
              | rnd.nextInt(2) << 11;
          edx = 0;
        }
        if (isMtrr(msr) && rnd.nextBoolean()) {
          // A value an MTRR takes: valid types, no reserved bit.
          long v = 0x0606_0505_0404_0100L;
          eax = msr < 0x210 ? (msr & 1) == 0 ? 0x1234_5006 : 0x89AB_C800 : (int) v;
          edx = msr < 0x210 ? 0xF : (int) (v >>> 32);
        }
        op.b(0x0F, 0x30);                                // wrmsr
        what = String.format("wrmsr 0x%x <- 0x%08x_%08x", msr, edx, eax);
        long v = (eax & 0xFFFF_FFFFL) | (long) edx << 32;
        if (isMtrr(msr)) {
          vector = mtrrAccepts(msr, v) ? 0 : 13;
        } else if (!contains(MSRS_WRITE, msr)) {
          vector = 13;
        }
      } else if (kind < 56) {
        int v = value();
        switch (rnd.nextInt(4)) {
          case 0 -> v = (v | Cpu.CR0_PG) & ~Cpu.CR0_PE;
          case 1 -> v = (v | Cpu.CR0_NW | Cpu.CR0_PE) & ~Cpu.CR0_CD;
          default -> v = (v | Cpu.CR0_PE) & ~Cpu.CR0_PG;
        }
        eax = v;
        op.b(0x0F, 0x22, 0xC0);                          // mov cr0, eax
        op.b(0x0F, 0x20, 0xC0);                          // mov eax, cr0
        what = String.format("mov cr0, 0x%x", v);
        boolean gp = (v & Cpu.CR0_PG) != 0 && (v & Cpu.CR0_PE) == 0
            || (v & Cpu.CR0_NW) != 0 && (v & Cpu.CR0_CD) == 0;
        vector = gp ? 13 : 0;
        expectEax = gp ? v : (v | Cpu.CR0_ET) & CR0_DEFINED;
      } else if (kind < 63) {
        int v = rnd.nextBoolean() ? value() : rnd.nextInt() & CR4_VALID;
        eax = v;
        op.b(0x0F, 0x22, 0xE0);                          // mov cr4, eax
        op.b(0x0F, 0x20, 0xE0);                          // mov eax, cr4
        what = String.format("mov cr4, 0x%x", v);
        vector = (v & ~CR4_VALID) != 0 ? 13 : 0;
        expectEax = v;
      } else if (kind < 67) {
        int v = value();
        eax = v;
        op.b(0x0F, 0x22, 0xD8);                          // mov cr3, eax
        op.b(0x0F, 0x20, 0xD8);                          // mov eax, cr3
        what = String.format("mov cr3, 0x%x", v);
        vector = 0;
        expectEax = v;
      } else if (kind < 75) {
        eax = rnd.nextBoolean() ? CPUID_LEAVES[rnd.nextInt(CPUID_LEAVES.length)] : value();
        ecx = value();
        op.b(0x0F, 0xA2);                                // cpuid
        what = String.format("cpuid 0x%x/0x%x", eax, ecx);
        vector = 0;
        if (eax == 0x4000_0000) {
          expectEax = 0x4000_0005;
        }
      } else if (kind < 86) {
        long gpa = mmioAddress();
        int size = 1 << rnd.nextInt(3);
        if (size == 2) {
          op.b(0x66);
        }
        op.b(size == 1 ? 0xA0 : 0xA1).d((int) gpa);     // mov al/ax/eax, [gpa]
        what = String.format("read %d bytes at 0x%x", size, gpa);
        vector = 0;
        if (unbacked(gpa, size)) {
          int mask = size == 4 ? -1 : (1 << (8 * size)) - 1;
          expectEax = MARK | mask;
        }
      } else if (kind < 95) {
        long gpa = mmioAddress();
        int size = 1 << rnd.nextInt(3);
        eax = value();
        if (size == 4 && gpa == LocalApic.BASE + LocalApic.ICR_LOW) {
          // No INIT or start-up to itself: the vCPU would wait for a SIPI for ever.
          int m = (eax >>> 8) & 7;
          if (m == 5 || m == 6) {
            eax &= ~0x700;
          }
        }
        if (size == 2) {
          op.b(0x66);
        }
        op.b(size == 1 ? 0xA2 : 0xA3).d((int) gpa);     // mov [gpa], al/ax/eax
        what = String.format("write %d bytes 0x%x at 0x%x", size, eax, gpa);
        vector = 0;
      } else if (kind < 97) {
        what = manyAccesses(op);
      } else if (kind < 99) {
        // String I/O through RAM: REP INS into the buffer (its first doubleword cleared
        // first, then read back), or REP OUTS from it.
        int port = rnd.nextBoolean() ? PORT_PROBES[rnd.nextInt(PORT_PROBES.length)]
            : rnd.nextInt(0x10000);
        if (port >= 0xB000 && port <= 0xB005) {
          port = 0x80; // the PM1 blocks: a soft-off is not this test's business
        }
        int size = 1 << rnd.nextInt(3);
        int n = rnd.nextInt(9);
        boolean in = rnd.nextBoolean();
        edx = port;
        ecx = n;
        op.b(0xC7, 0x05).d(RAM_BUFFER).d(0);             // mov dword [RAM_BUFFER], 0
        op.b(in ? 0xBF : 0xBE).d(RAM_BUFFER);            // mov edi/esi, RAM_BUFFER
        op.b(0xF3);                                      // rep
        if (size == 2) {
          op.b(0x66);
        }
        op.b(in ? (size == 1 ? 0x6C : 0x6D) : (size == 1 ? 0x6E : 0x6F));
        op.b(0xA1).d(RAM_BUFFER);                        // mov eax, [RAM_BUFFER]
        what = String.format("rep %s %d x %d bytes, port 0x%x", in ? "ins" : "outs", n, size,
            port);
        vector = 0;
        if (in && !guest.platformPorts().claims(port)) {
          int bytes = Math.min(4, n * size);
          expectEax = bytes == 4 ? -1 : (1 << (8 * bytes)) - 1;
        }
      } else {
        long lin = rnd.nextBoolean() ? mmioAddress() : rnd.nextInt() & 0xFFFF_FFFFL;
        op.b(0x0F, 0x01, 0x3D).d((int) lin);             // invlpg [lin]
        what = String.format("invlpg 0x%x", lin);
        vector = 0;
      }

      int resume = CODE + asm.size();
      Asm pre = new Asm();
      pre.b(0xC7, 0x05).d(CUR_SLOT).d(slot);             // mov dword [CUR_SLOT], slot
      pre.b(0xC7, 0x05).d(CUR_RESUME).d(0);              // mov dword [CUR_RESUME], resume
      pre.b(0xB8).d(eax).b(0xB9).d(ecx).b(0xBA).d(edx);  // mov eax/ecx/edx, ...
      pre.b(0xBB).d(MARK);                               // mov ebx, MARK
      resume += pre.size() + op.size();
      pre.patch(16, resume);
      asm.append(pre).append(op);
      asm.b(0xA3).d(slot + 8);                           // mov [slot + 8], eax
      asm.b(0x89, 0x15).d(slot + 12);                    // mov [slot + 12], edx
      asm.b(0x89, 0x1D).d(slot + 16);                    // mov [slot + 16], ebx
      asm.b(0x89, 0x0D).d(slot + 20);                    // mov [slot + 20], ecx
      asm.b(0xC7, 0x05).d(slot + 24).d(1);               // mov dword [slot + 24], 1 (done)
      cases.add(new Case(i, what, vector, expectEax, eaxMask));
    }

    /** An MMIO address: a device register, near a device page's end, or nothing at all. */
    long mmioAddress() {
      return switch (rnd.nextInt(8)) {
        case 0 -> LocalApic.BASE + (rnd.nextBoolean() ? rnd.nextInt(0x40) * 0x10
            : rnd.nextInt(0x1000));
        case 1 -> IoApic.BASE + (rnd.nextBoolean() ? rnd.nextInt(2) * 0x10 + rnd.nextInt(4)
            : rnd.nextInt(0x1000));
        case 2 -> Hpet.BASE + (rnd.nextBoolean() ? rnd.nextInt(0x40) * 8 : rnd.nextInt(0x1000));
        // Across a device page's end into nothing, across RAM's end.
        case 3 -> (new long[] {LocalApic.BASE, IoApic.BASE, Hpet.BASE, 0})[rnd.nextInt(4)]
            + (rnd.nextBoolean() ? 0x1000 : RAM_END) - 1 - rnd.nextInt(3);
        case 4 -> RAM_END + rnd.nextInt(1 << 20);
        case 5 -> 0xFEB0_0000L + rnd.nextInt(0x10_0000);
        // Anywhere above RAM (below it is the test's own code and log).
        default -> Math.max(RAM_END, rnd.nextInt() & 0xFFFF_F000L) | rnd.nextInt(0xFFD);
      };
    }

    /** True if no byte of the access reaches RAM or a device. */
    static boolean unbacked(long gpa, int size) {
      for (long a = gpa; a < gpa + size; a++) {
        if (a < RAM_END || a >= LocalApic.BASE && a < LocalApic.BASE + 0x1000
            || a >= IoApic.BASE && a < IoApic.BASE + IoApic.SIZE
            || a >= Hpet.BASE && a < Hpet.BASE + Hpet.SIZE) {
          return false;
        }
      }
      return true;
    }

    /** Instructions that make several MMIO accesses at once; any outcome but a crash. */
    String manyAccesses(Asm op) {
      long gpa = mmioAddress() & ~0xFL;
      switch (rnd.nextInt(7)) {
        case 0:
          op.b(0x0F, 0xAE, 0x05).d((int) gpa);           // fxsave [gpa]
          return String.format("fxsave [0x%x]", gpa);
        case 1:
          op.b(0x0F, 0xAE, 0x0D).d((int) gpa);           // fxrstor [gpa]
          return String.format("fxrstor [0x%x]", gpa);
        case 2:
          op.b(0xDD, 0x35).d((int) gpa);                 // fnsave [gpa]
          return String.format("fnsave [0x%x]", gpa);
        case 3:
          op.b(0xD9, 0x35).d((int) gpa);                 // fnstenv [gpa]
          return String.format("fnstenv [0x%x]", gpa);
        case 4:
          op.b(0x0F, 0xC7, 0x0D).d((int) gpa);           // cmpxchg8b [gpa]
          return String.format("cmpxchg8b [0x%x]", gpa);
        case 5:
          op.b(0xFF, 0x35).d((int) gpa).b(0x58);         // push dword [gpa]; pop eax
          return String.format("push dword [0x%x]", gpa);
        default: {
          // rep movsd between a device page, nothing and RAM, a few elements.
          int n = 1 + rnd.nextInt(12);
          long other = rnd.nextBoolean() ? RAM_BUFFER : mmioAddress() & ~3L;
          boolean fromDevice = rnd.nextBoolean();
          op.b(0xBE).d((int) (fromDevice ? gpa : other));  // mov esi, ...
          op.b(0xBF).d((int) (fromDevice ? other : gpa));  // mov edi, ...
          op.b(0xB9).d(n);                                  // mov ecx, n
          op.b(0xF3, 0xA5);                                 // rep movsd
          return String.format("rep movsd %d from 0x%x to 0x%x", n, fromDevice ? gpa : other,
              fromDevice ? other : gpa);
        }
      }
    }

    /** The variable-range (8 pairs) and fixed-range MTRRs. */
    static boolean isMtrr(int msr) {
      return msr >= 0x200 && msr < 0x210 || msr == 0x250 || msr == 0x258 || msr == 0x259
          || msr >= 0x268 && msr < 0x270;
    }

    /**
     * What the SDM (vol. 3, 12.11) lets an MTRR hold: types UC, WC, WT, WP, WB; in a variable
     * range's base bits 11:8 and in its mask bits 10:0 are reserved, as are bits 63:36
     * (MAXPHYADDR 36) in both.
     */
    static boolean mtrrAccepts(int msr, long v) {
      java.util.function.IntPredicate type = t -> t == 0 || t == 1 || t == 4 || t == 5
          || t == 6;
      if (msr < 0x210) {
        boolean mask = (msr & 1) != 0;
        return (mask || type.test((int) v & 0xFF))
            && (v & (-1L << 36 | (mask ? 0x7FFL : 0xF00L))) == 0;
      }
      for (int k = 0; k < 8; k++) {
        if (!type.test((int) (v >>> (8 * k)) & 0xFF)) {
          return false;
        }
      }
      return true;
    }

    static boolean contains(int[] list, int v) {
      return Arrays.stream(list).anyMatch(x -> x == v);
    }

    // ---------------------------------------------------------------- checks

    void checkCases() {
      GuestMemory m = guest.memory();
      for (Case c : cases) {
        int slot = LOG + c.index() * SLOT;
        int vector = m.read32(slot) - 1;
        int error = m.read32(slot + 4);
        int eax = m.read32(slot + 8);
        assertThat(m.read32(slot + 24)).as("%s: reached", where(c)).isEqualTo(1);
        String kind = c.what().split(" ")[0];
        outcomes.merge(kind + (vector < 0 ? " ok" : " #" + vector), 1, Integer::sum);
        if (c.vector() != null) {
          if (c.vector() == 0) {
            assertThat(vector).as("%s: exception (error code 0x%x)", where(c), error)
                .isEqualTo(-1);
          } else {
            assertThat(vector).as("%s: exception", where(c)).isEqualTo(c.vector());
            assertThat(error).as("%s: error code", where(c)).isZero();
          }
        }
        if (c.eax() != null && (c.vector() == null || c.vector() == 0 || vector >= 0)) {
          assertThat(eax & c.eaxMask()).as("%s: EAX 0x%x", where(c), eax)
              .isEqualTo(c.eax() & c.eaxMask());
        }
        if (c.what().startsWith("rep ins") || c.what().startsWith("rep outs")) {
          assertThat(m.read32(slot + 20)).as("%s: ECX after REP", where(c)).isZero();
        }
        if (c.what().startsWith("cpuid 0x40000000/") && vector < 0) {
          byte[] sig = new byte[12];
          for (int k = 0; k < 4; k++) {
            sig[k] = (byte) m.read8(slot + 16 + k);
            sig[4 + k] = (byte) m.read8(slot + 20 + k);
            sig[8 + k] = (byte) m.read8(slot + 12 + k);
          }
          assertThat(new String(sig, java.nio.charset.StandardCharsets.US_ASCII))
              .as(where(c)).isEqualTo("XenVMMXenVMM");
        }
      }
      // The guest got somewhere: each kind ran, and the #GPs the SDM asks for were raised.
      assertThat(outcomes).as("seed %d in %s: %s", seed, mode, outcomes)
          .containsKeys("rdmsr #13", "wrmsr #13", "mov ok", "in ok", "out ok", "cpuid ok",
              "read ok", "write ok");
    }
  }

  /** A byte emitter for the few instruction forms the generator needs. */
  static final class Asm {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Asm b(int... bytes) {
      for (int x : bytes) {
        out.write(x);
      }
      return this;
    }

    Asm d(int v) {
      return b(v, v >>> 8, v >>> 16, v >>> 24);
    }

    Asm append(Asm other) {
      byte[] bytes = other.out.toByteArray();
      out.write(bytes, 0, bytes.length);
      return this;
    }

    int size() {
      return out.size();
    }

    /** Overwrites the doubleword at {@code offset}. */
    void patch(int offset, int v) {
      byte[] bytes = out.toByteArray();
      for (int k = 0; k < 4; k++) {
        bytes[offset + k] = (byte) (v >>> (8 * k));
      }
      out.reset();
      out.write(bytes, 0, bytes.length);
    }

    void copyTo(GuestMemory m, int at) {
      byte[] bytes = out.toByteArray();
      m.write(at, bytes, 0, bytes.length);
    }
  }
}
