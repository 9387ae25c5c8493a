package org.hospes.hv.sched;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.memory.GuestMemory;
import org.hospes.hv.platform.LocalApic;
import org.hospes.x86.Cpu;

/** Tiny hand-assembled guests for scheduler tests. */
final class Guests {
  static final int CODE = 0x1000;
  /** Where the timer guest's interrupt handler counts its interrupts. */
  static final int TICKS = 0x4000;

  private Guests() {}

  /**
   * A CPU-bound domain: {@code cpuid; jmp $-4} forever. Each iteration is a CPUID exit of about
   * 1,100 modelled cycles, so a virtual second costs about a million emulated instructions
   * instead of a billion. Paused until unpaused.
   */
  static Domain spinner(Hypervisor hv, String name) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 1);
    load(d, CODE, 0x0F, 0xA2, 0xEB, 0xFC);
    return d;
  }

  /**
   * A CPU-bound domain that makes no exits: {@code inc dword [COUNT]; rdtsc; mov [COUNT+4],
   * eax; jmp} forever, a modelled cycle per instruction plus RDTSC's charge inside the block,
   * so its slices end at block boundaries, not at exits, and the TSC it last read is in memory.
   * Paused until unpaused.
   */
  static Domain counter(Hypervisor hv, String name) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 1);
    int tsc = COUNT + 4;
    load(d, CODE,
        0xFF, 0x05, COUNT & 0xFF, (COUNT >> 8) & 0xFF, 0x00, 0x00, // inc dword [COUNT]
        0x0F, 0x31, // rdtsc
        0xA3, tsc & 0xFF, (tsc >> 8) & 0xFF, 0x00, 0x00, // mov [COUNT+4], eax
        0xEB, 0xF1); // jmp back to the inc
    return d;
  }

  /** Where the counter guest counts. */
  static final int COUNT = 0x5000;

  /**
   * A domain that programs the PIT for a {@code hz} interrupt rate on IRQ0 (PIC remapped to
   * vector 0x20, every other line masked), then HLTs forever; each interrupt increments the
   * dword at {@link #TICKS}.
   */
  static Domain timerSleeper(Hypervisor hv, String name, int hz) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 1);
    virtualWire(hv, d);
    GuestMemory m = d.memory();
    flatGdtAndIdt(m);
    int handler = 0x1100;
    int gate = 0x2000 + 0x20 * 8;
    m.write32(gate, 0x00080000 | (handler & 0xFFFF));
    m.write32(gate + 4, (handler & 0xFFFF0000) | 0x8E00);
    int divisor = 1_193_182 / hz;
    load(d, CODE, tablesAndPic(0xFE, // only IRQ0
        0xB0, 0x34, 0xE6, 0x43, // PIT channel 0, lo/hi, mode 2
        0xB0, divisor & 0xFF, 0xE6, 0x40,
        0xB0, (divisor >> 8) & 0xFF, 0xE6, 0x40,
        0xFB, // sti
        0xF4, 0xEB, 0xFD)); // hlt; jmp $-3
    load(d, handler,
        0xFF, 0x05, TICKS & 0xFF, (TICKS >> 8) & 0xFF, 0x00, 0x00, // inc dword [TICKS]
        0x50, 0xB0, 0x20, 0xE6, 0x20, 0x58, // push eax; EOI; pop eax
        0xCF); // iret
    return d;
  }

  /** Where the keyboard guest's handler copies {@link #COUNT} when its interrupt comes. */
  static final int SEEN = 0x4004;

  /**
   * A domain that takes IRQ1 (PIC remapped to vector 0x20, every other line masked) and,
   * with interrupts on, counts in a loop with no exits: {@code inc dword [COUNT]; jmp}. Its
   * handler copies the count to {@link #SEEN} (how far the loop got before the interrupt came
   * in), increments {@link #TICKS} and sends the PIC an EOI. Paused until unpaused.
   */
  static Domain keyboardCounter(Hypervisor hv, String name) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 1);
    virtualWire(hv, d);
    GuestMemory m = d.memory();
    flatGdtAndIdt(m);
    int handler = 0x1100;
    int gate = 0x2000 + 0x21 * 8;
    m.write32(gate, 0x00080000 | (handler & 0xFFFF));
    m.write32(gate + 4, (handler & 0xFFFF0000) | 0x8E00);
    load(d, CODE, tablesAndPic(0xFD, // only IRQ1
        0xFB, // sti
        0xFF, 0x05, COUNT & 0xFF, (COUNT >> 8) & 0xFF, 0x00, 0x00, // inc dword [COUNT]
        0xEB, 0xF8)); // jmp back to the inc
    load(d, handler,
        0x50, // push eax
        0xA1, COUNT & 0xFF, (COUNT >> 8) & 0xFF, 0x00, 0x00, // mov eax, [COUNT]
        0xA3, SEEN & 0xFF, (SEEN >> 8) & 0xFF, 0x00, 0x00, // mov [SEEN], eax
        0xFF, 0x05, TICKS & 0xFF, (TICKS >> 8) & 0xFF, 0x00, 0x00, // inc dword [TICKS]
        0xB0, 0x20, 0xE6, 0x20, 0x58, // EOI; pop eax
        0xCF); // iret
    return d;
  }

  /**
   * GDT at 0x3010 (null, flat code 0x08, flat data 0x10), its pseudo-descriptor at 0x3000, and
   * the IDT's at 0x3008 (the IDT at 0x2000, vectors 0..0x2F).
   */
  private static void flatGdtAndIdt(GuestMemory m) {
    m.write32(0x3010, 0);
    m.write32(0x3014, 0);
    m.write32(0x3018, 0x0000FFFF);
    m.write32(0x301C, 0x00CF9A00);
    m.write32(0x3020, 0x0000FFFF);
    m.write32(0x3024, 0x00CF9200);
    m.write16(0x3000, 23);
    m.write32(0x3002, 0x3010);
    m.write16(0x3008, 0x30 * 8 - 1);
    m.write32(0x300A, 0x2000);
  }

  /**
   * lgdt and lidt of the tables at 0x3000, the PIC remapped to vector base 0x20 with interrupt
   * mask {@code mask}, then {@code rest}.
   */
  private static int[] tablesAndPic(int mask, int... rest) {
    int[] head = {
        0x0F, 0x01, 0x15, 0x00, 0x30, 0x00, 0x00, // lgdt [0x3000]
        0x0F, 0x01, 0x1D, 0x08, 0x30, 0x00, 0x00, // lidt [0x3008]
        0xB0, 0x11, 0xE6, 0x20, // ICW1
        0xB0, 0x20, 0xE6, 0x21, // ICW2: vector base 0x20
        0xB0, 0x04, 0xE6, 0x21, // ICW3
        0xB0, 0x01, 0xE6, 0x21, // ICW4: 8086 mode
        0xB0, mask, 0xE6, 0x21}; // OCW1
    int[] all = java.util.Arrays.copyOf(head, head.length + rest.length);
    System.arraycopy(rest, 0, all, head.length, rest.length);
    return all;
  }

  /**
   * What firmware leaves for a guest that takes PIC interrupts (SeaBIOS's smp_setup): the
   * bootstrap processor's local APIC software-enabled with LINT0 as ExtINT, so that the PIC's
   * INTR reaches vCPU 0 (Xen's vlapic_accept_pic_intr).
   */
  static void virtualWire(Hypervisor hv, Domain d) {
    LocalApic apic = hv.platform(d).lapic(0);
    apic.write(LocalApic.SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
    apic.write(LocalApic.LVT_LINT0, 4, 0x700);
  }

  private static void load(Domain d, int at, int... bytes) {
    for (int i = 0; i < bytes.length; i++) {
      d.memory().write8(at + i, bytes[i]);
    }
    if (at == CODE) {
      Cpu cpu = d.vcpus().get(0).cpu();
      cpu.setEip(CODE);
      cpu.setReg(Cpu.ESP, 0x8000);
    }
  }

  static long cycles(Domain d) {
    long n = 0;
    for (Vcpu v : d.vcpus()) {
      n += v.counters().cycles;
    }
    return n;
  }
}
