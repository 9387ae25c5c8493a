package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;

class ElfFileTest {

  private static ElfImageBuilder oneSegment() {
    return new ElfImageBuilder().entry(0x100000).segment(0x100000, new byte[] {1, 2, 3}, 0x10);
  }

  @Test
  void parsesHeaderAndLoadSegments() throws BootException {
    ElfFile elf = ElfFile.parse(new ElfImageBuilder()
        .entry(0x100004)
        .segment(0xC0100000L, 0x100000, new byte[8], 0x2000)
        .segment(0x200000, new byte[4], 4)
        .build());
    assertThat(elf.header().entry()).isEqualTo(0x100004);
    assertThat(elf.header().machine()).isEqualTo(ElfHeader.EM_386);
    assertThat(elf.loadSegments()).hasSize(2);
    ProgramHeader first = elf.loadSegments().get(0);
    assertThat(first.vaddr()).as("unsigned").isEqualTo(0xC0100000L);
    assertThat(first.paddr()).isEqualTo(0x100000);
    assertThat(first.filesz()).isEqualTo(8);
    assertThat(first.memsz()).isEqualTo(0x2000);
  }

  @Test
  void rejectsAFileWithoutTheMagic() {
    assertThatThrownBy(() -> ElfFile.parse("#!/bin/sh\necho hi\n".getBytes()))
        .isInstanceOf(BootException.class).hasMessageStartingWith("not an ELF file");
  }

  @Test
  void rejectsAnEmptyFile() {
    assertThatThrownBy(() -> ElfFile.parse(new byte[0]))
        .hasMessageStartingWith("not an ELF file");
  }

  @Test
  void rejects64BitElf() {
    assertThatThrownBy(() -> ElfFile.parse(oneSegment().elfClass(2).build()))
        .hasMessageContaining("not a 32-bit ELF file").hasMessageContaining("-m32");
  }

  @Test
  void rejectsBigEndianElf() {
    assertThatThrownBy(() -> ElfFile.parse(oneSegment().dataEncoding(2).build()))
        .hasMessage("not a little-endian ELF file");
  }

  @Test
  void rejectsOtherMachines() {
    assertThatThrownBy(() -> ElfFile.parse(oneSegment().machine(62).build()))
        .hasMessageStartingWith("not an x86 ELF file").hasMessageContaining("x86-64");
    assertThatThrownBy(() -> ElfFile.parse(oneSegment().machine(40).build()))
        .hasMessageContaining("e_machine 40");
  }

  @Test
  void rejectsPositionIndependentExecutables() {
    assertThatThrownBy(() -> ElfFile.parse(oneSegment().type(3).build()))
        .hasMessageStartingWith("not an executable ELF file").hasMessageContaining("ET_DYN");
  }

  @Test
  void rejectsATruncatedHeader() {
    byte[] image = Arrays.copyOf(oneSegment().build(), 40);
    assertThatThrownBy(() -> ElfFile.parse(image))
        .hasMessageStartingWith("truncated").hasMessageContaining("ELF header");
  }

  @Test
  void rejectsTruncatedProgramHeaders() {
    byte[] image = Arrays.copyOf(oneSegment().build(), 60);
    assertThatThrownBy(() -> ElfFile.parse(image))
        .hasMessageStartingWith("truncated: program headers");
  }

  @Test
  void rejectsASegmentPastTheEndOfTheFile() {
    ElfImageBuilder builder = oneSegment();
    byte[] image = Arrays.copyOf(builder.build(), builder.dataOffset(0) + 2);
    assertThatThrownBy(() -> ElfFile.parse(image))
        .hasMessageStartingWith("truncated: segment 0");
  }

  @Test
  void rejectsASegmentWhoseFileSizeExceedsItsMemorySize() {
    byte[] image = new ElfImageBuilder().segment(0x100000, new byte[16], 8).build();
    assertThatThrownBy(() -> ElfFile.parse(image))
        .hasMessageContaining("file size 0x10 exceeds memory size 0x8");
  }
}
