package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hospes.dom0.testing.ElfImageBuilder.concat;
import static org.hospes.dom0.testing.ElfImageBuilder.multibootHeader;
import static org.hospes.dom0.testing.ElfImageBuilder.multibootHeaderWithAddresses;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class MultibootHeaderTest {

  @Test
  void findsAnAlignedHeaderAndReadsItsFlags() throws BootException {
    byte[] image = concat(new byte[64], multibootHeader(0x3), new byte[16]);
    MultibootHeader h = MultibootHeader.find(image).orElseThrow();
    assertThat(h.fileOffset()).isEqualTo(64);
    assertThat(h.flags()).isEqualTo(0x3);
    assertThat(h.hasAddressFields()).isFalse();
  }

  @Test
  void ignoresAMisalignedMagic() throws BootException {
    byte[] image = concat(new byte[2], multibootHeader(0), new byte[16]);
    assertThat(MultibootHeader.find(image)).isEmpty();
  }

  @Test
  void ignoresAHeaderBeyondTheFirst8KiB() throws BootException {
    byte[] image = concat(new byte[8192 - 8], multibootHeader(0), new byte[16]);
    assertThat(MultibootHeader.find(image)).isEmpty();
    byte[] inside = concat(new byte[8192 - 12], multibootHeader(0));
    assertThat(MultibootHeader.find(inside)).isPresent();
  }

  @Test
  void reportsABadChecksumWhenNoValidHeaderFollows() {
    byte[] header = multibootHeader(0x3);
    header[8] ^= 1;
    byte[] image = concat(new byte[16], header);
    assertThatThrownBy(() -> MultibootHeader.find(image))
        .isInstanceOf(BootException.class)
        .hasMessage("Multiboot header at offset 0x10 has a bad checksum");
  }

  @Test
  void skipsAStrayMagicBeforeTheRealHeader() throws BootException {
    byte[] stray = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN)
        .putInt(MultibootHeader.MAGIC).putInt(7).putInt(0).array();
    byte[] image = concat(stray, multibootHeader(0x2));
    assertThat(MultibootHeader.find(image).orElseThrow().fileOffset()).isEqualTo(12);
  }

  @Test
  void readsTheAddressFieldsWhenBit16IsSet() throws BootException {
    byte[] image = multibootHeaderWithAddresses(0, 0x100000, 0x100000, 0x101000, 0x102000,
        0x100020);
    MultibootHeader h = MultibootHeader.find(image).orElseThrow();
    assertThat(h.hasAddressFields()).isTrue();
    assertThat(h.headerAddr()).isEqualTo(0x100000);
    assertThat(h.loadAddr()).isEqualTo(0x100000);
    assertThat(h.loadEndAddr()).isEqualTo(0x101000);
    assertThat(h.bssEndAddr()).isEqualTo(0x102000);
    assertThat(h.entryAddr()).isEqualTo(0x100020);
  }

  @Test
  void rejectsAddressFieldsCutOffByTheEndOfTheFile() {
    byte[] full = multibootHeaderWithAddresses(0, 0, 0, 0, 0, 0);
    byte[] image = java.util.Arrays.copyOf(full, 20);
    assertThatThrownBy(() -> MultibootHeader.find(image))
        .hasMessageStartingWith("truncated Multiboot header");
  }
}
