package org.hospes.dom0.boot;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The parameters of a classic PV kernel from its Xen ELF notes, checked as Xen's libelf does
 * (elf_xen_parse_note, elf_xen_note_check, elf_xen_addr_calc_check), for a PAE x86_32 domU.
 *
 * @param guestOs GUEST_OS ("linux", "Mini-OS", ...)
 * @param loader LOADER ("generic")
 * @param xenVersion XEN_VERSION ("xen-3.0")
 * @param virtBase VIRT_BASE: virtual address of the kernel's pseudo-physical 0 (default 0)
 * @param paddrOffset PADDR_OFFSET: subtracted from ELF physical addresses (default virtBase)
 * @param entry ENTRY: virtual entry point (default the ELF header's)
 * @param hypercallPage HYPERCALL_PAGE: virtual address the builder fills, or -1
 * @param features FEATURES the kernel asks for (without '!'), all supported here
 */
public record PvKernelNotes(String guestOs, String loader, String xenVersion, long virtBase,
    long paddrOffset, long entry, long hypercallPage, Set<String> features) {

  /**
   * Feature names of public/features.h that a Hospes PV domU offers: PAE directories anywhere
   * (machine memory is below 4 GiB anyway) and MMU_PT_UPDATE_PRESERVE_AD.
   */
  public static final Set<String> SUPPORTED = Set.of("pae_pgdir_above_4gb",
      "mmu_pt_update_preserve_ad");
  /** Every feature name public/features.h defines, for telling unknown from unsupported. */
  private static final List<String> KNOWN = List.of("writable_page_tables",
      "writable_descriptor_tables", "auto_translated_physmap", "supervisor_mode_kernel",
      "pae_pgdir_above_4gb", "mmu_pt_update_preserve_ad", "highmem_assist",
      "gnttab_map_avail_bits", "hvm_callback_vector", "hvm_safe_pvclock", "hvm_pirqs", "dom0",
      "grant_map_identity", "memory_op_vnode_supported", "ARM_SMCCC_supported",
      "linux_rsdp_unrestricted", "not_direct_mapped", "direct_mapped");

  /** Reads and checks the notes; a BootException names the note or feature that is refused. */
  public static PvKernelNotes of(XenElfNotes notes, long elfEntry) throws BootException {
    if (notes.isEmpty()) {
      throw new BootException("not a Xen PV kernel (no Xen ELF notes)");
    }
    if (notes.has(XenElfNotes.PHYS32_ENTRY) && !notes.has(XenElfNotes.GUEST_OS)
        && !notes.has(XenElfNotes.LOADER)) {
      // A PVH image (the SDK's default build): say so, not that its empty LOADER is wrong.
      throw new BootException("a PVH kernel (Xen PHYS32_ENTRY note), not a classic PV one (no"
          + " GUEST_OS or LOADER note): boot it with --mode pvh; an image the guest SDK builds"
          + " today has the PV notes too (rebuild it)");
    }
    String guestOs = notes.string(XenElfNotes.GUEST_OS);
    String loader = notes.string(XenElfNotes.LOADER);
    String xenVersion = notes.string(XenElfNotes.XEN_VERSION);
    if (!loader.startsWith("generic") && !guestOs.startsWith("linux")) {
      throw BootException.format("PV kernel: LOADER note is \"%s\" and GUEST_OS \"%s\"; only the"
          + " generic loader or Linux images can be loaded", loader, guestOs);
    }
    if (!xenVersion.startsWith("xen-3.0")) {
      throw BootException.format("PV kernel: XEN_VERSION note is \"%s\", not xen-3.0",
          xenVersion);
    }
    String pae = notes.string(XenElfNotes.PAE_MODE);
    if (!pae.startsWith("yes") && !pae.equals("bimodal")) {
      throw BootException.format("PV kernel: PAE_MODE note is \"%s\"; Hospes runs PAE (x86_32p)"
          + " PV guests only", pae.isEmpty() ? "(none)" : pae);
    }
    long virtBase = notes.number(XenElfNotes.VIRT_BASE, 0);
    long paddrOffset = notes.number(XenElfNotes.PADDR_OFFSET, virtBase);
    long entry = notes.number(XenElfNotes.ENTRY, elfEntry);
    long hypercallPage = notes.number(XenElfNotes.HYPERCALL_PAGE, -1);
    Set<String> features = new LinkedHashSet<>();
    for (String f : notes.string(XenElfNotes.FEATURES).split("\\|")) {
      boolean required = f.startsWith("!");
      String name = required ? f.substring(1) : f;
      if (name.isEmpty()) {
        continue;
      }
      if (SUPPORTED.contains(name)) {
        features.add(name);
      } else if (required) {
        throw BootException.format("PV kernel requires feature %s, which Hospes does not offer%s",
            name, KNOWN.contains(name) ? "" : " (not a Xen feature name)");
      }
    }
    return new PvKernelNotes(guestOs, loader, xenVersion, virtBase, paddrOffset, entry,
        hypercallPage, Set.copyOf(features));
  }

  /** Where ELF physical address {@code paddr} lands in the guest's virtual space. */
  public long virtualOf(long paddr) {
    return paddr - paddrOffset + virtBase;
  }

  /**
   * elf_xen_addr_calc_check: the entry and the hypercall page must lie inside the kernel's
   * virtual range {@code [kstart, kend)}.
   */
  public void checkWithin(long kstart, long kend) throws BootException {
    if (entry < kstart || entry >= kend) {
      throw BootException.format("PV kernel: ENTRY 0x%x is outside the kernel (0x%x-0x%x)",
          entry, kstart, kend);
    }
    if (hypercallPage != -1 && (hypercallPage < kstart || hypercallPage >= kend)) {
      throw BootException.format(
          "PV kernel: HYPERCALL_PAGE 0x%x is outside the kernel (0x%x-0x%x)", hypercallPage,
          kstart, kend);
    }
  }
}
