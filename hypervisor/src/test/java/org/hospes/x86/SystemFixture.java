package org.hospes.x86;

import java.util.HexFormat;

/**
 * A small protected-mode machine for system-level processor tests, built by hand as a kernel
 * would: a GDT (0x08/0x10 ring-0 flat code/data, 0x1B/0x23 ring-3 flat code/data, 0x28 a TSS
 * with ESP0 0x9000, 0x30..0x48 free for the test), an IDT whose vector 0x80 is a DPL-3
 * interrupt gate to 0x08:{@link #HANDLER}, and 2-level paging: the page directory at
 * {@link #PD}, an identity page table for the first 4 MiB at {@link #PT} (every page user,
 * writable). Setup code at 0x1000 loads all of it, turns paging on and jumps to {@link #RING0}.
 * Exceptions leave {@link Cpu#run} (exit mask -1), so a test reads the vector and error code.
 */
final class SystemFixture {
  static final int SETUP = 0x1000;
  static final int RING0 = 0x2000;
  static final int HANDLER = 0x3000;
  static final int USER = 0x4000;
  static final int USER_ESP = 0x7000;
  static final int PD = 0x10000;
  static final int PT = 0x11000;
  static final int GDT = 0x20000;
  static final int TSS = 0x21000;
  static final int IDT = 0x22000;

  /**
   * ds = es = 0x23 (ring-0 data would be nulled by the IRET) ; push 0x23 ; push USER_ESP ;
   * push 2 (EFLAGS) ; push 0x1b ; push USER ; iret.
   */
  static final String IRET_TO_USER = "66b82300 8ed8 8ec0 6a23 6800700000 6a02 6a1b 6800400000 cf";

  /**
   * lgdt [0x1f00] ; lidt [0x1f08] ; ltr 0x28 ; ds = es = ss = 0x10 ; esp = 0x6000 ;
   * cr3 = PD ; cr0.PG = 1 ; jmp 0x08:RING0.
   */
  private static final String SETUP_CODE = "0f0115001f0000 0f011d081f0000 66b82800 0f00d8"
      + " 66b81000 8ed8 8ec0 8ed0 bc00600000 b800000100 0f22d8 0f20c0 0d00000080 0f22c0"
      + " ea00200000 0800";

  final MemoryBus mem;
  final Cpu cpu;

  SystemFixture() {
    mem = new MemoryBus(1 << 24);
    cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    cpu.setReg(Cpu.ESP, 0x6000);
    int[] gdt = {0, 0, 0xFFFF, 0x00CF9A00, 0xFFFF, 0x00CF9200, 0xFFFF, 0x00CFFA00, 0xFFFF,
        0x00CFF200, (TSS << 16) | 0x67, 0x8900 | (TSS >>> 16)};
    for (int i = 0; i < gdt.length; i++) {
      mem.write32(GDT + 4L * i, gdt[i]);
    }
    mem.write32(TSS + 4, 0x9000);
    mem.write32(TSS + 8, 0x10);
    mem.write32(TSS + 0x64, 0x68 << 16);
    gate(0x80, HANDLER, 3);
    mem.write32(0x1F00, (GDT << 16) | 0x4F);
    mem.write32(0x1F04, GDT >>> 16);
    mem.write32(0x1F08, (IDT << 16) | 0x7FF);
    mem.write32(0x1F0C, IDT >>> 16);
    for (int i = 0; i < 1024; i++) {
      mem.write32(PT + 4L * i, (i << 12) | 0x7);
    }
    mem.write32(PD, PT | 0x7);
    code(SETUP, SETUP_CODE);
    cpu.setEip(SETUP);
  }

  /** A 32-bit interrupt gate for {@code vector} to 0x08:{@code target} with {@code dpl}. */
  void gate(int vector, int target, int dpl) {
    mem.write32(IDT + 8L * vector, (0x08 << 16) | (target & 0xFFFF));
    mem.write32(IDT + 8L * vector + 4, (target & 0xFFFF_0000) | 0x8E00 | (dpl << 13));
  }

  /** Writes machine code given as hex (spaces allowed) at {@code addr}. */
  void code(int addr, String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(addr, b, 0, b.length);
  }

  /** Runs until the processor leaves {@link Cpu#run} (at most 1000 instructions). */
  int run() {
    return cpu.run(1000);
  }
}
