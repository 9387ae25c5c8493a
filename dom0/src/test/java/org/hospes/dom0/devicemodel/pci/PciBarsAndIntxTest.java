package org.hospes.dom0.devicemodel.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoMoreInteractions;

import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.devicemodel.PlatformInterrupts;
import org.hospes.x86.IoBus;
import org.hospes.x86.MmioDevice;
import org.hospes.x86.PortDevice;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

/**
 * A PCI device's BARs decoded by the host bridge, its INTx through the slot's link, the PIIX3's
 * PIRQ routes reaching the platform, and the firmware defaults for a kernel booted without a
 * BIOS.
 */
class PciBarsAndIntxTest {
  private final PlatformInterrupts irqs = mock(PlatformInterrupts.class);
  private final List<String> accesses = new ArrayList<>();
  private PciHostBridge bridge;
  private PciFunction nic;

  @BeforeEach
  void wire() {
    bridge = I440fx.hostBridge(irqs);
    PortDevice io = new PortDevice() {
      @Override
      public int in(int port, int size) {
        accesses.add("in " + port + "/" + size);
        return 0x1234;
      }

      @Override
      public void out(int port, int size, int value) {
        accesses.add("out " + port + "/" + size + "=" + Integer.toHexString(value));
      }
    };
    MmioDevice mem = new MmioDevice() {
      @Override
      public int read(long offset, int size) {
        accesses.add("read " + offset + "/" + size);
        return 0x5678;
      }

      @Override
      public void write(long offset, int size, int value) {
        accesses.add("write " + offset + "/" + size + "=" + Integer.toHexString(value));
      }
    };
    nic = new PciFunction("nic", 0x8086, 0x100E, 3, 0x02_00_00, 0)
        .memoryBar(0, 0x20000, false, mem)
        .ioBar(1, 0x40, io)
        .interruptPin(1);
    bridge.attach(3, 0, nic);
  }

  @Test
  void barsDecodeOnlyWhereProgrammedAndWhileTheCommandRegisterEnablesThem() {
    nic.write(PciFunction.BAR0, 4, 0xFEB0_0000);
    nic.write(PciFunction.BAR0 + 4, 4, 0xC040);
    assertThat(bridge.claimsMemory(0xFEB0_0000L)).as("memory decoding off").isFalse();
    assertThat(bridge.claimsIo(0xC040)).as("I/O decoding off").isFalse();
    nic.write(PciFunction.COMMAND, 2, PciFunction.COMMAND_IO | PciFunction.COMMAND_MEMORY);
    assertThat(bridge.claimsMemory(0xFEB0_0000L)).isTrue();
    assertThat(bridge.claimsMemory(0xFEB1_FFFFL)).isTrue();
    assertThat(bridge.claimsMemory(0xFEB2_0000L)).isFalse();
    assertThat(bridge.claimsIo(0xC07F)).isTrue();
    assertThat(bridge.claimsIo(0xC080)).isFalse();
    assertThat(bridge.claimsIo(0xC03F)).isFalse();
    assertThat(bridge.memoryRead(0xFEB0_0010L, 4)).isEqualTo(0x5678);
    bridge.memoryWrite(0xFEB1_0000L, 2, 0xBEEF);
    assertThat(bridge.ioIn(0xC044, 2)).isEqualTo(0x1234);
    bridge.ioOut(0xC040, 4, 0xCAFE);
    assertThat(accesses).containsExactly("read 16/4", "write 65536/2=beef", "in 4/2",
        "out 0/4=cafe");
    assertThat(bridge.ioIn(0xD000, 2)).as("nobody there").isEqualTo(0xFFFF);
    assertThat(bridge.memoryRead(0xE000_0000L, 4)).isEqualTo(-1);
  }

  @Test
  void sizingABarGivesItsSizeAndTypeBits() {
    nic.write(PciFunction.BAR0, 4, -1);
    assertThat(nic.read(PciFunction.BAR0, 4)).isEqualTo(0xFFFE_0000);
    nic.write(PciFunction.BAR0 + 4, 4, -1);
    assertThat(nic.read(PciFunction.BAR0 + 4, 4)).isEqualTo(0xFFFF_FFC1);
    assertThat(nic.barSize(0)).isEqualTo(0x20000);
    assertThat(nic.barSize(1)).isEqualTo(0x40);
    assertThat(nic.barSize(2)).isZero();
    PciFunction prefetch = new PciFunction("p", 0x5853, 1, 1, 0xFF_80_00, 0)
        .memoryBar(1, 1 << 24, true, mock(MmioDevice.class));
    assertThat(prefetch.read(PciFunction.BAR0 + 4, 4)).as("prefetchable").isEqualTo(0x08);
  }

  @Test
  void intxFollowsTheDeviceAndTheInterruptDisableBitAndShowsInStatus() {
    nic.setIrq(true);
    nic.setIrq(true);
    assertThat(nic.read(PciFunction.STATUS, 2) & PciFunction.STATUS_INTERRUPT).isNotZero();
    nic.write(PciFunction.COMMAND, 2, PciFunction.COMMAND_INTX_DISABLE);
    assertThat(nic.read(PciFunction.STATUS, 2) & PciFunction.STATUS_INTERRUPT)
        .as("status shows the device's level even while masked").isNotZero();
    nic.write(PciFunction.COMMAND, 2, 0);
    nic.setIrq(false);
    InOrder order = inOrder(irqs);
    order.verify(irqs).setPciIntxLevel(3, 0, true);
    order.verify(irqs).setPciIntxLevel(3, 0, false);
    order.verify(irqs).setPciIntxLevel(3, 0, true);
    order.verify(irqs).setPciIntxLevel(3, 0, false);
    verifyNoMoreInteractions(irqs);
    assertThat(nic.read(PciFunction.STATUS, 2) & PciFunction.STATUS_INTERRUPT).isZero();
  }

  @Test
  void piix3PirqRouteWritesBecomeLinkRoutesAndReservedOrDisabledRoutesGoNowhere() {
    PciFunction piix3 = bridge.function(1, 0);
    piix3.write(I440fx.PIRQRC, 4, 0x0B0B_0A0A);
    piix3.write(I440fx.PIRQRC + 2, 1, 0x80 | 11);
    piix3.write(I440fx.PIRQRC + 3, 1, 13);
    InOrder order = inOrder(irqs);
    order.verify(irqs).setPciLinkRoute(0, 10);
    order.verify(irqs).setPciLinkRoute(1, 10);
    order.verify(irqs).setPciLinkRoute(2, 11);
    order.verify(irqs).setPciLinkRoute(3, 11);
    order.verify(irqs).setPciLinkRoute(2, 0);
    order.verify(irqs).setPciLinkRoute(3, 0);
    assertThat(I440fx.linkIrq(0x05)).isEqualTo(5);
    assertThat(I440fx.linkIrq(0x02)).isZero();
    assertThat(I440fx.linkIrq(0x08)).isZero();
  }

  @Test
  void firmwareRoutesLinksSetsElcrInterruptLinesAndAssignsAlignedBars() {
    PciFunction other = new PciFunction("disk", 0x1AF4, 0x1001, 0, 0x01_00_00, 0)
        .ioBar(0, 0x100, mock(PortDevice.class))
        .memoryBar(1, 0x1000, false, mock(MmioDevice.class))
        .interruptPin(2);
    bridge.attach(4, 0, other);
    IoBus platform = new IoBus();
    int[] elcr = new int[2];
    platform.register(0x4D0, 2, new PortDevice() {
      @Override
      public int in(int port, int size) {
        return elcr[port - 0x4D0];
      }

      @Override
      public void out(int port, int size, int value) {
        elcr[port - 0x4D0] = value;
      }
    });
    PciFirmware.program(bridge, platform);
    verify(irqs).setPciLinkRoute(0, 10);
    verify(irqs).setPciLinkRoute(3, 11);
    assertThat(elcr).as("IRQ 10 and 11 level-triggered").containsExactly(0x00, 0x0C);
    // Device 3 INTA: link 3 -> IRQ 11. Device 4 INTB: link (4 + 1) & 3 = 1 -> IRQ 10.
    assertThat(nic.read(PciFunction.INTERRUPT_LINE, 1)).isEqualTo(11);
    assertThat(other.read(PciFunction.INTERRUPT_LINE, 1)).isEqualTo(10);
    assertThat(nic.barAddress(0)).as("largest memory BAR first").isEqualTo(0xF000_0000L);
    assertThat(other.barAddress(1)).isEqualTo(0xF002_0000L);
    assertThat(other.barAddress(0)).as("largest I/O BAR first").isEqualTo(0xC000L);
    assertThat(nic.barAddress(1)).isEqualTo(0xC100L);
    assertThat(nic.read(PciFunction.COMMAND, 2) & 3).isEqualTo(3);
    assertThat(bridge.claimsIo(0xC13F)).isTrue();
    assertThat(bridge.claimsMemory(0xF002_0FFFL)).isTrue();
  }
}
