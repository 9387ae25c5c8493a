package org.hospes.dom0.boot.loader;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.ElfFile;
import org.hospes.dom0.boot.LoadSegment;
import org.hospes.dom0.boot.ProgramHeader;

/**
 * A plain ELF32 i386 executable, entered at {@code e_entry} (its physical address) in flat
 * 32-bit protected mode with paging and interrupts off and no boot information: the start Xen
 * gives a firmware image it loads in place of hvmloader. The lowest-priority built-in, so any
 * ELF that another loader recognises goes to that one.
 */
public final class ElfKernelLoader implements KernelLoader {
  public static final String NAME = "elf";
  public static final int PRIORITY = 100;

  private static final Profile PROFILE =
      new Profile(NAME, PRIORITY, Set.of(BootMode.NATIVE, BootMode.HVM, BootMode.HVM_SHADOW));

  @Override
  public Profile profile() {
    return PROFILE;
  }

  @Override
  public boolean recognises(byte[] image) {
    try {
      return !ElfFile.parse(image).loadSegments().isEmpty();
    } catch (BootException e) {
      return false;
    }
  }

  @Override
  public BootedKernel load(byte[] image, BootRequest request, BootTarget target)
      throws BootException {
    if (request.cmdline() != null || !request.modules().isEmpty()) {
      throw new BootException("the elf loader passes no command line or modules (a plain ELF"
          + " gets no boot information)");
    }
    ElfFile elf = ElfFile.parse(image);
    List<LoadSegment> segments = new ArrayList<>();
    for (ProgramHeader ph : elf.loadSegments()) {
      if (ph.memsz() == 0) {
        continue;
      }
      if (ph.paddr() + ph.memsz() > target.ramBytes()) {
        throw new BootException(String.format("segment %d at 0x%08x-0x%08x lies outside RAM"
            + " (%d MiB)", ph.index(), ph.paddr(), ph.paddr() + ph.memsz() - 1,
            target.ramBytes() >> 20));
      }
      segments.add(new LoadSegment(ph.offset(), ph.paddr(), ph.filesz(), ph.memsz()));
    }
    long entry = elf.physicalEntry();
    if (segments.stream().noneMatch(s -> entry >= s.physicalAddress() && entry < s.end())) {
      throw new BootException(String.format("entry point 0x%08x is not inside the loaded"
          + " image", entry));
    }
    LoadSegment.writeAll(segments, image, target.memory());
    target.startFlat32(entry);
    return new BootedKernel(NAME, entry, 0, segments);
  }
}
