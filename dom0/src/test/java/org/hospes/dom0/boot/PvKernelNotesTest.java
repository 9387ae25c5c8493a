package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;

/** Xen's PV ELF notes read and checked as libelf does, for a PAE x86_32 domU. */
class PvKernelNotesTest {
  private static byte[] str(String s) {
    return (s + "\0").getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] num(long v) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
  }

  private static ElfImageBuilder miniOs() {
    return new ElfImageBuilder().entry(0x1000)
        .segment(0xC000_0000L, 0x0, new byte[] {(byte) 0xF4}, 0x4000)
        .note("Xen", XenElfNotes.GUEST_OS, str("Mini-OS"))
        .note("Xen", XenElfNotes.LOADER, str("generic"))
        .note("Xen", XenElfNotes.XEN_VERSION, str("xen-3.0"))
        .note("Xen", XenElfNotes.VIRT_BASE, num(0xC000_0000L))
        .note("Xen", XenElfNotes.PADDR_OFFSET, num(0))
        .note("Xen", XenElfNotes.ENTRY, num(0xC000_0000L))
        .note("Xen", XenElfNotes.HYPERCALL_PAGE, num(0xC000_2000L))
        .note("Xen", XenElfNotes.PAE_MODE, str("yes"));
  }

  private static PvKernelNotes parse(ElfImageBuilder b) throws BootException {
    byte[] image = b.build();
    ElfFile elf = ElfFile.parse(image);
    return PvKernelNotes.of(XenElfNotes.read(image, elf), elf.header().entry());
  }

  @Test
  void aMiniOsStyleKernelGivesItsLayout() throws BootException {
    PvKernelNotes n = parse(miniOs().note("Xen", XenElfNotes.FEATURES,
        str("pae_pgdir_above_4gb|mmu_pt_update_preserve_ad|writable_page_tables")));
    assertThat(n.guestOs()).isEqualTo("Mini-OS");
    assertThat(n.virtBase()).isEqualTo(0xC000_0000L);
    assertThat(n.entry()).isEqualTo(0xC000_0000L);
    assertThat(n.hypercallPage()).isEqualTo(0xC000_2000L);
    assertThat(n.virtualOf(0x1000)).isEqualTo(0xC000_1000L);
    // Optional features Hospes lacks are left out; the supported ones are kept.
    assertThat(n.features()).containsExactlyInAnyOrder("pae_pgdir_above_4gb",
        "mmu_pt_update_preserve_ad");
    n.checkWithin(0xC000_0000L, 0xC000_4000L);
  }

  @Test
  void requiredFeaturesThatAreNotOfferedAreRefusedByName() {
    assertThatThrownBy(() -> parse(miniOs().note("Xen", XenElfNotes.FEATURES,
        str("pae_pgdir_above_4gb|!writable_page_tables"))))
        .isInstanceOf(BootException.class)
        .hasMessage("PV kernel requires feature writable_page_tables, which Hospes does not offer");
    assertThatThrownBy(() -> parse(miniOs().note("Xen", XenElfNotes.FEATURES, str("!frobnicate"))))
        .hasMessageContaining("frobnicate").hasMessageContaining("not a Xen feature name");
  }

  @Test
  void nonPaeKernelsOtherLoadersAndOtherAbisAreRefused() {
    ElfImageBuilder nonPae = new ElfImageBuilder().entry(0x1000)
        .segment(0x1000, new byte[1], 0x1000)
        .note("Xen", XenElfNotes.LOADER, str("generic"))
        .note("Xen", XenElfNotes.XEN_VERSION, str("xen-3.0"));
    assertThatThrownBy(() -> parse(nonPae)).hasMessageContaining("PAE_MODE note is \"(none)\"");
    ElfImageBuilder other = new ElfImageBuilder().entry(0x1000)
        .segment(0x1000, new byte[1], 0x1000)
        .note("Xen", XenElfNotes.GUEST_OS, str("Plan9"))
        .note("Xen", XenElfNotes.XEN_VERSION, str("xen-3.0"));
    assertThatThrownBy(() -> parse(other)).hasMessageContaining("only the generic loader");
    ElfImageBuilder pvh = new ElfImageBuilder().entry(0x100000)
        .segment(0x100000, new byte[1], 0x1000)
        .note("Xen", XenElfNotes.PHYS32_ENTRY, num(0x100000));
    assertThatThrownBy(() -> parse(pvh)).hasMessageStartingWith("a PVH kernel (Xen PHYS32_ENTRY"
        + " note), not a classic PV one").hasMessageContaining("rebuild it");
    ElfImageBuilder oldAbi = new ElfImageBuilder().entry(0x1000)
        .segment(0x1000, new byte[1], 0x1000)
        .note("Xen", XenElfNotes.LOADER, str("generic"))
        .note("Xen", XenElfNotes.XEN_VERSION, str("xen-2.0"));
    assertThatThrownBy(() -> parse(oldAbi)).hasMessageContaining("not xen-3.0");
    ElfImageBuilder none = new ElfImageBuilder().entry(0x1000).segment(0x1000, new byte[1], 0x1000);
    assertThatThrownBy(() -> parse(none)).hasMessage("not a Xen PV kernel (no Xen ELF notes)");
  }

  @Test
  void theEntryAndHypercallPageMustLieInTheKernel() throws BootException {
    PvKernelNotes n = parse(miniOs());
    assertThatThrownBy(() -> n.checkWithin(0xC000_0000L, 0xC000_2000L))
        .hasMessageContaining("HYPERCALL_PAGE 0xc0002000 is outside the kernel");
    assertThatThrownBy(() -> n.checkWithin(0xC000_1000L, 0xC000_4000L))
        .hasMessageContaining("ENTRY 0xc0000000 is outside");
  }

  @Test
  void defaultsFollowLibelfPaddrOffsetIsVirtBaseAndEntryIsTheElfEntry() throws BootException {
    PvKernelNotes n = parse(new ElfImageBuilder().entry(0xC010_0000L)
        .segment(0xC010_0000L, 0x10_0000, new byte[1], 0x1000)
        .note("Xen", XenElfNotes.GUEST_OS, str("linux"))
        .note("Xen", XenElfNotes.XEN_VERSION, str("xen-3.0"))
        .note("Xen", XenElfNotes.VIRT_BASE, num(0xC000_0000L))
        .note("Xen", XenElfNotes.PAE_MODE, str("yes[extended-cr3]")));
    assertThat(n.paddrOffset()).isEqualTo(0xC000_0000L);
    assertThat(n.entry()).isEqualTo(0xC010_0000L);
    assertThat(n.hypercallPage()).isEqualTo(-1);
  }
}
