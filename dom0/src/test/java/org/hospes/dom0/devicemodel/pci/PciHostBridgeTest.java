package org.hospes.dom0.devicemodel.pci;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.IoBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Configuration mechanism #1 on the i440FX, driven through its ports as firmware and Linux do. */
class PciHostBridgeTest {
  private final IoBus io = new IoBus();
  private PciHostBridge bridge;

  @BeforeEach
  void wire() {
    bridge = I440fx.hostBridge();
    io.register(0xCF8, 8, bridge);
  }

  private static int address(int device, int function, int reg) {
    return 0x8000_0000 | device << 11 | function << 8 | reg;
  }

  private int config(int device, int function, int reg, int size) {
    io.out(0xCF8, 4, address(device, function, reg & 0xFC));
    return io.in(0xCFC + (reg & 3), size);
  }

  private void setConfig(int device, int function, int reg, int size, int value) {
    io.out(0xCF8, 4, address(device, function, reg & 0xFC));
    io.out(0xCFC + (reg & 3), size, value);
  }

  @Test
  void theHostBridgeAndThePiix3IsaBridgeAreOnBusZero() {
    assertThat(config(0, 0, 0, 4)).isEqualTo(0x1237_8086);
    assertThat(config(0, 0, 8, 4)).as("class 06 00 00, revision 02").isEqualTo(0x0600_0002);
    assertThat(config(0, 0, 0x0E, 1)).isZero();
    assertThat(config(1, 0, 0, 4)).isEqualTo(0x7000_8086);
    assertThat(config(1, 0, 0x0A, 2)).as("ISA bridge").isEqualTo(0x0601);
    assertThat(config(1, 0, 0x0E, 1)).as("multi-function").isEqualTo(0x80);
    assertThat(config(1, 0, 0x60, 4)).as("PIRQs unrouted").isEqualTo(0x8080_8080);
  }

  @Test
  void emptySlotsOtherBusesAndADisabledAddressReadAllOnes() {
    assertThat(config(2, 0, 0, 4)).isEqualTo(-1);
    assertThat(config(1, 1, 0, 2)).isEqualTo(0xFFFF);
    io.out(0xCF8, 4, 0x8001_0000);
    assertThat(io.in(0xCFC, 4)).as("bus 1").isEqualTo(-1);
    io.out(0xCF8, 4, 0x0000_0000);
    assertThat(io.in(0xCFC, 4)).as("enable bit clear").isEqualTo(-1);
  }

  @Test
  void configAddressKeepsOnlyItsDefinedBitsAndTakesOnlyDoublewords() {
    io.out(0xCF8, 4, 0xFFFF_FFFF);
    assertThat(io.in(0xCF8, 4)).isEqualTo(0x80FF_FFFC);
    // Linux's probe for mechanism #1: a byte to 0xCFB must not disturb CONFIG_ADDRESS.
    io.out(0xCF8, 4, 0x8000_0000);
    io.out(0xCFB, 1, 0x01);
    assertThat(io.in(0xCF8, 4)).isEqualTo(0x8000_0000);
    assertThat(io.in(0xCF8, 2)).as("a word at 0xCF8 goes to ISA").isEqualTo(0xFFFF);
    io.out(0xCF9, 1, 0xFF);
    assertThat(io.in(0xCF9, 1)).as("PIIX3 reset control").isEqualTo(0x06);
  }

  @Test
  void onlyWritableBitsChangeAndByteAndWordAccessesReachEveryOffset() {
    setConfig(0, 0, 0, 4, 0);
    assertThat(config(0, 0, 0, 4)).as("IDs are read-only").isEqualTo(0x1237_8086);
    setConfig(0, 0, 4, 2, 0xFFFF);
    assertThat(config(0, 0, 4, 2)).as("I/O, memory, master, parity, SERR, INTx disable").isEqualTo(0x0547);
    setConfig(1, 0, 0x3C, 1, 0x0B);
    assertThat(config(1, 0, 0x3C, 1)).isEqualTo(0x0B);
    setConfig(1, 0, 0x61, 1, 0x0A);
    assertThat(config(1, 0, 0x60, 4)).as("PIRQB to IRQ 10").isEqualTo(0x8080_0A80);
    setConfig(0, 0, 0x5A, 2, 0x3333);
    assertThat(config(0, 0, 0x59, 4)).isEqualTo(0x0033_3300);
  }

  @Test
  void aBarIsSizedByWritingAllOnesAndThenTakesItsAddress() {
    PciFunction nic = new PciFunction("test", 0x1234, 0x5678, 0, 0x02_00_00, 0)
        .bar(0, 0x2_0000, false).bar(1, 0x40, true);
    bridge.attach(3, 0, nic);
    setConfig(3, 0, 0x10, 4, -1);
    assertThat(config(3, 0, 0x10, 4)).as("128 KiB memory").isEqualTo(0xFFFE_0000);
    setConfig(3, 0, 0x14, 4, -1);
    assertThat(config(3, 0, 0x14, 4)).as("64 bytes of I/O").isEqualTo(0xFFFF_FFC1);
    setConfig(3, 0, 0x10, 4, 0xFEB1_2345);
    assertThat(nic.barAddress(0)).isEqualTo(0xFEB0_0000L);
    setConfig(3, 0, 0x14, 4, 0xC000);
    assertThat(nic.barAddress(1)).isEqualTo(0xC000L);
    assertThat(config(3, 0, 0x18, 4)).as("an unimplemented BAR").isZero();
  }
}
