package org.hospes.dom0.devicemodel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** fw_cfg driven through its ports, as firmware drives QEMU's. */
class FwCfgTest {
  private final FwCfg dev = new FwCfg(64L << 20, 1);

  private byte[] item(int key, int len) {
    dev.out(FwCfg.SELECTOR_PORT, 2, key);
    byte[] b = new byte[len];
    for (int i = 0; i < len; i++) {
      b[i] = (byte) dev.in(FwCfg.DATA_PORT, 1);
    }
    return b;
  }

  @Test
  void signatureIdCpusAndRamAreQemus() {
    assertThat(new String(item(FwCfg.SIGNATURE, 4), StandardCharsets.US_ASCII)).isEqualTo("QEMU");
    assertThat(le(item(FwCfg.ID, 4)).getInt()).isEqualTo(FwCfg.FEATURE_TRADITIONAL);
    assertThat(le(item(FwCfg.NB_CPUS, 2)).getShort()).isEqualTo((short) 1);
    assertThat(le(item(FwCfg.MAX_CPUS, 2)).getShort()).isEqualTo((short) 1);
    assertThat(le(item(FwCfg.RAM_SIZE, 8)).getLong()).isEqualTo(64L << 20);
  }

  @Test
  void readsPastTheEndAndOfMissingItemsAreZeroAndSelectingRewinds() {
    assertThat(item(FwCfg.SIGNATURE, 6)).endsWith(0, 0);
    assertThat(item(0x3FFF, 2)).containsExactly(0, 0);
    item(FwCfg.SIGNATURE, 2);
    assertThat(item(FwCfg.SIGNATURE, 1)).containsExactly('Q');
  }

  @Test
  void onlyWordSelectorWritesAndByteDataReadsAreAccepted() {
    dev.out(FwCfg.SELECTOR_PORT, 2, FwCfg.SIGNATURE);
    dev.out(FwCfg.SELECTOR_PORT, 1, FwCfg.ID);
    assertThat(dev.in(FwCfg.DATA_PORT, 1)).isEqualTo('Q');
    assertThat(dev.in(FwCfg.DATA_PORT, 2)).isEqualTo(0xFFFF);
    assertThat(dev.in(FwCfg.DATA_PORT, 1)).isEqualTo('E');
  }

  @Test
  void theFileDirectoryIsBigEndianAndListsE820() {
    ByteBuffer dir = ByteBuffer.wrap(item(FwCfg.FILE_DIR, 4 + FwCfg.FILE_ENTRY_SIZE));
    assertThat(dir.getInt()).isEqualTo(1);
    int size = dir.getInt();
    int select = dir.getShort() & 0xFFFF;
    dir.getShort();
    byte[] name = new byte[FwCfg.FILE_NAME_SIZE];
    dir.get(name);
    assertThat(new String(name, StandardCharsets.US_ASCII)).startsWith("etc/e820\0");
    assertThat(size).isEqualTo(FwCfg.E820_ENTRY_SIZE);
    assertThat(select).isEqualTo(FwCfg.FILE_FIRST);
    ByteBuffer e820 = le(item(select, size));
    assertThat(e820.getLong()).isZero();
    assertThat(e820.getLong()).isEqualTo(64L << 20);
    assertThat(e820.getInt()).isEqualTo(FwCfg.E820_RAM);
  }

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }
}
