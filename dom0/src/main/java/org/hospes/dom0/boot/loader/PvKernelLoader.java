package org.hospes.dom0.boot.loader;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.ElfFile;
import org.hospes.dom0.boot.LoadSegment;
import org.hospes.dom0.boot.ProgramHeader;
import org.hospes.dom0.boot.PvKernelNotes;
import org.hospes.dom0.boot.XenElfNotes;

/**
 * Classic PV kernels: ELF images with Xen's PV notes (GUEST_OS, XEN_VERSION, PAE_MODE, ...;
 * {@link PvKernelNotes}), booted only in pv mode. This loader places the image in the domain's
 * pseudo-physical memory, frame {@code (va - VIRT_BASE) >> 12} for virtual address {@code va};
 * the PV domain builder ({@code org.hospes.dom0.toolstack.PvDomainBuilder}) then lays out
 * start_info, the P2M list, the rings, the page tables and the stack after it, and starts the
 * vCPU in ring 1.
 */
public final class PvKernelLoader implements KernelLoader {
  public static final String NAME = "pv";
  public static final int PRIORITY = 300;

  private static final Profile PROFILE = new Profile(NAME, PRIORITY, Set.of(BootMode.PV));

  /** A parsed PV kernel: its notes, its virtual extent and its segments (pseudo-physical). */
  public record Image(PvKernelNotes notes, long virtStart, long virtEnd,
      List<LoadSegment> segments) {}

  @Override
  public Profile profile() {
    return PROFILE;
  }

  @Override
  public boolean recognises(byte[] image) {
    try {
      parse(image);
      return true;
    } catch (BootException e) {
      return false;
    }
  }

  @Override
  public boolean wantsPvServices() {
    return true;
  }

  /**
   * Reads the notes and the PT_LOAD segments (elf_xen_parse, elf_xen_addr_calc_check): every
   * segment must lie at or above VIRT_BASE, and ENTRY and HYPERCALL_PAGE inside the image.
   */
  public static Image parse(byte[] image) throws BootException {
    ElfFile elf = ElfFile.parse(image);
    PvKernelNotes notes = PvKernelNotes.of(XenElfNotes.read(image, elf), elf.header().entry());
    long start = Long.MAX_VALUE;
    long end = 0;
    List<LoadSegment> segments = new ArrayList<>();
    for (ProgramHeader ph : elf.loadSegments()) {
      long va = notes.virtualOf(ph.paddr());
      if (va < notes.virtBase() || va + ph.memsz() > 0xF580_0000L) {
        throw BootException.format("PV kernel: segment %d at virtual 0x%x is outside 0x%x.."
            + "HYPERVISOR_VIRT_START", ph.index(), va, notes.virtBase());
      }
      if (ph.offset() + ph.filesz() > image.length) {
        throw BootException.format("PV kernel: segment %d is truncated", ph.index());
      }
      start = Math.min(start, va);
      end = Math.max(end, va + ph.memsz());
      segments.add(new LoadSegment(ph.offset(), va - notes.virtBase(), ph.filesz(),
          ph.memsz()));
    }
    if (segments.isEmpty()) {
      throw new BootException("PV kernel: no PT_LOAD segment");
    }
    notes.checkWithin(start, end);
    return new Image(notes, start, end, segments);
  }

  /**
   * Places the segments in the target's pseudo-physical memory. The vCPU is started by the PV
   * domain builder, which alone can build the page tables it runs on.
   */
  @Override
  public BootedKernel load(byte[] image, BootRequest request, BootTarget target)
      throws BootException {
    Image k = parse(image);
    for (LoadSegment s : k.segments()) {
      if (s.physicalAddress() + s.memorySize() > target.ramBytes()) {
        throw BootException.format("PV kernel does not fit in %d MiB", target.ramBytes() >> 20);
      }
    }
    LoadSegment.writeAll(k.segments(), image, target.memory());
    return new BootedKernel(NAME, k.notes().entry(), 0, k.segments());
  }
}
