package org.hospes.hv.hvm;

import java.util.function.IntUnaryOperator;
import org.hospes.hv.memory.GuestMemory;

/**
 * The descriptor tables the hand-assembled HVM test guests load: a GDT of null, flat 32-bit code
 * (0x08) and flat data (0x10), and an IDT of 32-bit interrupt gates (DPL 0) through 0x08, with
 * the pseudo-descriptors LGDT and LIDT read.
 */
final class FlatDescriptorTables {
  private FlatDescriptorTables() {}

  /**
   * Writes the GDT at {@code gdt} and its pseudo-descriptor at {@code gdtr}, gates 0 to
   * {@code gates - 1} at {@code idt} (gate g to {@code handler.applyAsInt(g)}) and the IDT's
   * pseudo-descriptor at {@code idtr}.
   */
  static void write(GuestMemory m, int gdt, int gdtr, int idt, int idtr, int gates,
      IntUnaryOperator handler) {
    m.write32(gdt + 8, 0x0000_FFFF);
    m.write32(gdt + 12, 0x00CF_9A00);
    m.write32(gdt + 16, 0x0000_FFFF);
    m.write32(gdt + 20, 0x00CF_9200);
    m.write16(gdtr, 0x17);
    m.write32(gdtr + 2, gdt);
    m.write16(idtr, gates * 8 - 1);
    m.write32(idtr + 2, idt);
    for (int g = 0; g < gates; g++) {
      m.write32(idt + g * 8, 0x0008_0000 | handler.applyAsInt(g));
      m.write32(idt + g * 8 + 4, 0x8E00);
    }
  }
}
