package org.hospes.dom0.boot;

import org.hospes.x86.IoBus;
import org.hospes.x86.MmioDevice;

/**
 * What a PC's firmware leaves programmed when it hands over to a boot loader, for kernels
 * loaded as if by one (Multiboot): SeaBIOS's state under QEMU, measured with the
 * {@code biosstate} kernel. The 8259A pair is initialised (edge-triggered, cascaded, 8086 mode)
 * with IRQ 0-7 at vectors 0x08-0x0F and IRQ 8-15 at 0x70-0x77, the masks SeaBIOS leaves (master
 * 0xB8: IRQ 0, 1, 2 and 6 open; slave 0x8E: IRQ 8, 12, 13 and 14 open), and PIT channel 0 counts
 * in mode 2 (SeaBIOS's rate generator; IBM's BIOS used mode 3) with count 0, i.e. 65536: IRQ 0 at
 * 18.2 Hz. A real-mode {@code sti; hlt} therefore gets IRQ 0, and so does a protected-mode one,
 * at vector 8. The state is programmed through the devices' own ports, as firmware does. In an
 * HVM domain the bootstrap processor's local APIC is also left as SeaBIOS leaves it
 * ({@link #applyLocalApic}).
 */
public final class BiosLeftState {
  /** SeaBIOS's LINT0: ExtINT, level-triggered, unmasked (the PIC in virtual-wire mode). */
  public static final int LINT0 = 0x8700;
  /** SeaBIOS's LINT1: NMI, level-triggered. */
  public static final int LINT1 = 0x8400;
  private static final int SVR = 0xF0;
  private static final int LVT_LINT0 = 0x350;
  private static final int LVT_LINT1 = 0x360;
  private static final int SVR_ENABLE = 0x100;
  public static final int MASTER_VECTOR_BASE = 0x08;
  public static final int SLAVE_VECTOR_BASE = 0x70;
  public static final int MASTER_MASK = 0xB8;
  public static final int SLAVE_MASK = 0x8E;

  private BiosLeftState() {}

  /**
   * Programs the bootstrap processor's local APIC as SeaBIOS's smp_setup leaves it: software
   * enabled (SVR bit 8 added to what it read), LINT0 ExtINT and LINT1 NMI, both level-triggered
   * and unmasked. That is virtual-wire mode through the local APIC, which is what wires the
   * PIC's INTR to the processor in an HVM domain (Xen's vlapic_accept_pic_intr; on Xen,
   * hvmloader does the same job through the I/O APIC's pin 0).
   */
  public static void applyLocalApic(MmioDevice bspApic) {
    bspApic.write(SVR, 4, bspApic.read(SVR, 4) | SVR_ENABLE);
    bspApic.write(LVT_LINT0, 4, LINT0);
    bspApic.write(LVT_LINT1, 4, LINT1);
  }

  /** Programs the PIC pair and PIT behind {@code ports}. */
  public static void apply(IoBus ports) {
    // ICW1 (edge, cascade, ICW4 needed), ICW2 (vector base), ICW3 (cascade on IRQ 2 / slave
    // ID 2), ICW4 (8086 mode), then OCW1 (the mask).
    ports.out(0x20, 1, 0x11);
    ports.out(0x21, 1, MASTER_VECTOR_BASE);
    ports.out(0x21, 1, 0x04);
    ports.out(0x21, 1, 0x01);
    ports.out(0x21, 1, MASTER_MASK);
    ports.out(0xA0, 1, 0x11);
    ports.out(0xA1, 1, SLAVE_VECTOR_BASE);
    ports.out(0xA1, 1, 0x02);
    ports.out(0xA1, 1, 0x01);
    ports.out(0xA1, 1, SLAVE_MASK);
    // Channel 0, low byte then high byte, mode 2, binary; count 0 = 65536.
    ports.out(0x43, 1, 0x34);
    ports.out(0x40, 1, 0x00);
    ports.out(0x40, 1, 0x00);
  }
}
