package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * SGDT and SIDT store the whole 32-bit base with a 16-bit operand size as with a 32-bit one
 * (SDM vol. 2B, SGDT/SIDT: "Full 32-bit base address stored"; the 386 manual says the same).
 * Only LGDT and LIDT with a 16-bit operand drop the base's top byte. QEMU's TCG masks the
 * stored base to 24 bits, so the differential kernels cannot check this (their tables sit
 * below 16 MiB anyway). The descriptor-table register is loaded from 0x5000 with a base above
 * 16 MiB (no segment is loaded or interrupt taken while it is there), stored to 0x5100, and
 * the fixture's register loaded back before HLT.
 */
class DescriptorTableStoreTest {
  private final SystemFixture m = new SystemFixture();

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      // load (0f01 /2 or /3 [0x5000]), store (0f01 /0 or /1 [0x5100]), reload the fixture's
      "sgdt 32-bit,  0f011500500000,   0f010500510000,   0f0115001f0000, 0x12345678",
      "sgdt 16-bit,  0f011500500000,   660f010500510000, 0f0115001f0000, 0x12345678",
      "sidt 32-bit,  0f011d00500000,   0f010d00510000,   0f011d081f0000, 0x12345678",
      "sidt 16-bit,  0f011d00500000,   660f010d00510000, 0f011d081f0000, 0x12345678",
      "lgdt 16-bit,  660f011500500000, 0f010500510000,   0f0115001f0000, 0x00345678",
      "lidt 16-bit,  660f011d00500000, 0f010d00510000,   0f011d081f0000, 0x00345678",
  })
  void storesTheBaseTheRegisterHolds(String form, String load, String store, String reload,
      String stored) {
    m.mem.write32(0x5000, 0x5678_0123);         // limit 0x0123, base 0x12345678
    m.mem.write32(0x5004, 0x1234);
    m.mem.write32(0x5100, 0xAAAA_AAAA);
    m.mem.write32(0x5104, 0xAAAA_AAAA);
    m.code(SystemFixture.RING0, load + store + reload + "f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.mem.read32(0x5100) & 0xFFFF).as("limit").isEqualTo(0x0123);
    int base = (m.mem.read32(0x5100) >>> 16) | (m.mem.read32(0x5104) << 16);
    assertThat(base).as("base").isEqualTo(Integer.decode(stored));
    assertThat(m.mem.read32(0x5104) >>> 16).as("past the six bytes").isEqualTo(0xAAAA);
  }
}
