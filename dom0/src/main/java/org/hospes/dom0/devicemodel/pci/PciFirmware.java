package org.hospes.dom0.devicemodel.pci;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.hospes.x86.IoBus;

/**
 * What a PC's firmware leaves programmed on the PCI bus when no BIOS runs (a kernel loaded
 * directly, as hvmloader and SeaBIOS would have left it): the PIIX3 routes PIRQA#-PIRQD# to
 * IRQ 10, 10, 11 and 11 (SeaBIOS's choice), those IRQs are level-triggered in the ELCR, each
 * function's interrupt line register names the IRQ its pin reaches, and every BAR holds an
 * address: I/O from 0xC000 and memory from 0xF0000000 (hvmloader's windows), largest first,
 * naturally aligned, with I/O and memory decoding enabled for functions that have such BARs.
 */
public final class PciFirmware {
  public static final int[] LINK_IRQS = {10, 10, 11, 11};
  public static final int IO_BASE = 0xC000;
  public static final int IO_LIMIT = 0x10000;
  public static final long MEMORY_BASE = 0xF000_0000L;
  public static final long MEMORY_LIMIT = 0xFC00_0000L;

  private PciFirmware() {}

  /**
   * Programs {@code bridge}'s functions, and the ELCR through {@code platformPorts} (the PIC
   * pair's 0x4D0/0x4D1). IllegalStateException if the BARs do not fit the windows.
   */
  public static void program(PciHostBridge bridge, IoBus platformPorts) {
    PciFunction piix3 = bridge.function(1, 0);
    int elcr = 0;
    for (int link = 0; link < 4; link++) {
      if (piix3 != null) {
        piix3.write(I440fx.PIRQRC + link, 1, LINK_IRQS[link]);
      }
      elcr |= 1 << LINK_IRQS[link];
    }
    if (platformPorts.claims(0x4D0)) {
      platformPorts.out(0x4D0, 1, platformPorts.in(0x4D0, 1) | (elcr & 0xFF));
      platformPorts.out(0x4D1, 1, platformPorts.in(0x4D1, 1) | (elcr >>> 8));
    }
    record Bar(PciFunction f, int index, int size, boolean io) {}
    List<Bar> bars = new ArrayList<>();
    for (Map.Entry<Integer, PciFunction> e : bridge.functions().entrySet()) {
      PciFunction f = e.getValue();
      int pin = f.read(PciFunction.INTERRUPT_PIN, 1);
      if (pin != 0) {
        int device = e.getKey() >>> 3;
        f.write(PciFunction.INTERRUPT_LINE, 1, LINK_IRQS[(device + pin - 1) & 3]);
      }
      for (int i = 0; i < 6; i++) {
        if (f.barSize(i) != 0) {
          bars.add(new Bar(f, i, f.barSize(i), f.barIsIo(i)));
        }
      }
    }
    bars.sort(Comparator.comparingInt(Bar::size).reversed());
    long io = IO_BASE;
    long memory = MEMORY_BASE;
    for (Bar b : bars) {
      long at = b.io() ? align(io, b.size()) : align(memory, b.size());
      if (at + b.size() > (b.io() ? IO_LIMIT : MEMORY_LIMIT)) {
        throw new IllegalStateException(String.format("PCI %s BAR %d (%d bytes) does not fit"
            + " the %s window", b.f().name(), b.index(), b.size(), b.io() ? "I/O" : "memory"));
      }
      b.f().write(PciFunction.BAR0 + 4 * b.index(), 4, (int) at);
      int command = b.f().read(PciFunction.COMMAND, 2);
      b.f().write(PciFunction.COMMAND, 2,
          command | (b.io() ? PciFunction.COMMAND_IO : PciFunction.COMMAND_MEMORY));
      if (b.io()) {
        io = at + b.size();
      } else {
        memory = at + b.size();
      }
    }
  }

  private static long align(long v, int size) {
    return (v + size - 1) & -(long) size;
  }
}
