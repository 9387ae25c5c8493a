package org.hospes.dom0.devicemodel.pci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The MSI-X capability as PCI 3.0 (6.8.2) lays it out and as a driver programs it: the
 * capability list, the table in a memory BAR with every vector masked at reset, pending bits
 * while masked, delivery on unmask, and no message without MSI-X enable or bus mastering.
 */
class PciMsixTest {
  private final List<long[]> sent = new ArrayList<>();
  private PciFunction f;
  private PciMsix msix;

  @BeforeEach
  void setUp() {
    f = new PciFunction("test", 0x1AF4, 0x1001, 0, 0x010000, 0).interruptPin(1);
    msix = new PciMsix(f, 0x40, 3, 1, (address, data) -> sent.add(new long[] {address, data}));
  }

  private void enable(int control) {
    f.write(PciFunction.COMMAND, 2, PciFunction.COMMAND_MEMORY | PciFunction.COMMAND_MASTER);
    f.write(0x40 + PciMsix.CONTROL, 2, control);
  }

  private void program(int vector, long address, int data, boolean masked) {
    int e = vector * PciMsix.ENTRY_SIZE;
    msix.write(e + PciMsix.ENTRY_ADDRESS, 4, (int) address);
    msix.write(e + PciMsix.ENTRY_UPPER_ADDRESS, 4, (int) (address >>> 32));
    msix.write(e + PciMsix.ENTRY_DATA, 4, data);
    msix.write(e + PciMsix.ENTRY_VECTOR_CONTROL, 4, masked ? 1 : 0);
  }

  @Test
  void theCapabilityIsInTheListWithItsTableAndPbaInBarOne() {
    assertThat(f.read(PciFunction.STATUS, 2) & PciFunction.STATUS_CAPABILITIES).isNotZero();
    assertThat(f.read(PciFunction.CAPABILITIES_POINTER, 1)).isEqualTo(0x40);
    assertThat(f.read(0x40, 1)).isEqualTo(0x11);
    assertThat(f.read(0x41, 1)).as("last capability").isZero();
    assertThat(f.read(0x42, 2)).as("table size - 1, disabled, unmasked").isEqualTo(2);
    assertThat(f.read(0x44, 4)).as("table at 0 in BAR 1").isEqualTo(1);
    assertThat(f.read(0x48, 4)).as("PBA at 0x800 in BAR 1").isEqualTo(0x801);
    assertThat(f.barIsIo(1)).isFalse();
    assertThat(f.barSize(1)).isEqualTo(4096);
    // The table size is read-only; enable and function mask are writable.
    f.write(0x42, 2, 0xFFFF);
    assertThat(f.read(0x42, 2)).isEqualTo(0xC002);
    for (int v = 0; v < 3; v++) {
      assertThat(msix.read(v * 16 + 12, 4)).as("vector %d masked at reset", v).isEqualTo(1);
    }
  }

  @Test
  void whileDisabledTheDeviceUsesIntxAndNothingIsSent() {
    program(0, 0xFEE0_0000L, 0x41, false);
    assertThat(msix.signal(0)).isFalse();
    assertThat(sent).isEmpty();
  }

  @Test
  void anUnmaskedVectorSendsItsEntrysAddressAndData() {
    enable(PciMsix.CONTROL_ENABLE);
    program(2, 0xFEE0_1000L, 0x4062, false);
    assertThat(msix.read(2 * 16, 4)).isEqualTo(0xFEE0_1000);
    assertThat(msix.read(2 * 16 + 8, 2)).isEqualTo(0x4062);
    assertThat(msix.signal(2)).isTrue();
    assertThat(sent).containsExactly(new long[] {0xFEE0_1000L, 0x4062});
    assertThat(msix.messages()).isEqualTo(1);
  }

  @Test
  void aMaskedVectorIsPendingInThePbaUntilUnmasked() {
    enable(PciMsix.CONTROL_ENABLE);
    program(1, 0xFEE0_0000L, 0x51, true);
    assertThat(msix.signal(1)).isTrue();
    assertThat(sent).isEmpty();
    assertThat(msix.isPending(1)).isTrue();
    assertThat(msix.read(PciMsix.PBA_OFFSET, 4)).isEqualTo(1 << 1);
    // Writes to the PBA are ignored.
    msix.write(PciMsix.PBA_OFFSET, 4, 0);
    assertThat(msix.read(PciMsix.PBA_OFFSET, 4)).isEqualTo(1 << 1);
    msix.write(16 + 12, 4, 0);
    assertThat(sent).containsExactly(new long[] {0xFEE0_0000L, 0x51});
    assertThat(msix.read(PciMsix.PBA_OFFSET, 4)).isZero();
  }

  @Test
  void theFunctionMaskHoldsEveryVectorUntilCleared() {
    enable(PciMsix.CONTROL_ENABLE | PciMsix.CONTROL_FUNCTION_MASK);
    program(0, 0xFEE0_0000L, 0x41, false);
    program(2, 0xFEE0_1000L, 0x42, false);
    msix.signal(2);
    msix.signal(0);
    assertThat(sent).isEmpty();
    f.write(0x42, 2, PciMsix.CONTROL_ENABLE);
    assertThat(sent).containsExactly(new long[] {0xFEE0_0000L, 0x41},
        new long[] {0xFEE0_1000L, 0x42});
  }

  @Test
  void withoutBusMasteringNoMessageLeavesTheFunction() {
    f.write(0x42, 2, PciMsix.CONTROL_ENABLE);
    program(0, 0xFEE0_0000L, 0x41, false);
    assertThat(msix.signal(0)).isTrue();
    assertThat(sent).isEmpty();
    assertThat(msix.blocked()).isEqualTo(1);
  }

  @Test
  void partialWritesMergeAndTheAddressIsDwordAligned() {
    enable(PciMsix.CONTROL_ENABLE);
    program(0, 0xFEE0_0003L, 0x41, true);
    assertThat(msix.read(0, 4)).isEqualTo(0xFEE0_0000);
    msix.write(9, 1, 0x12);
    assertThat(msix.read(8, 4)).isEqualTo(0x1241);
    // Vector control: only the mask bit is writable.
    msix.write(12, 4, -2);
    assertThat(msix.read(12, 4)).isZero();
    // Outside the table and the PBA: reserved, zero, writes ignored.
    msix.write(3 * 16, 4, -1);
    assertThat(msix.read(3 * 16, 4)).isZero();
  }
}
