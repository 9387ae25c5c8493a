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
    // A doubleword at 0xCFD has three bytes of CONFIG_DATA (0x59-0x5B); its fourth is port
    // 0xD00's, which nobody decodes.
    assertThat(config(0, 0, 0x59, 4)).isEqualTo(0xFF33_3300);
    assertThat(config(0, 0, 0x5A, 2)).isEqualTo(0x3333);
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

  /**
   * An access that starts at 0xCFD-0xCFF and is longer than what is left of CONFIG_DATA: a
   * 4-byte read at 0xCFE of register 0xFC used to read config[0xFE..0x101] and throw out of
   * the device model. The bytes past 0xCFF are not CONFIG_DATA's (a processor splits the access
   * at the doubleword): they read all ones, and a write there changes nothing beyond 0xFF.
   */
  @Test
  void anAccessRunningPastConfigDataStopsAtItsEnd() {
    io.out(0xCF8, 4, address(1, 0, 0xFC));
    assertThat(io.in(0xCFE, 4)).isEqualTo(0xFFFF_0000 | config(1, 0, 0xFE, 2));
    io.out(0xCF8, 4, address(1, 0, 0xFC));
    assertThat(io.in(0xCFF, 2)).isEqualTo(0xFF00 | config(1, 0, 0xFF, 1));
    io.out(0xCF8, 4, address(1, 0, 0x60));
    io.out(0xCFD, 4, 0x1234_5678);
    // 0x78, 0x56, 0x34 go to 0x61-0x63 (through their writable mask, 0x8F); 0x12 to nothing.
    assertThat(config(1, 0, 0x60, 4)).isEqualTo(0x0406_0880);
  }
}
