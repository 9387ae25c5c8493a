package org.hospes.dom0.boot.loader;

import java.util.Set;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.BzImage;
import org.hospes.dom0.boot.ElfFile;
import org.hospes.dom0.boot.PvhLoader;
import org.hospes.x86.Cpu;

/**
 * Kernels with Xen's PHYS32_ENTRY note ({@link PvhLoader}), entered at that entry in flat
 * 32-bit protected mode with EBX pointing at the {@code hvm_start_info}. Besides pvh, they boot
 * in hvm and hvm-shadow: on Xen an HVM domain has the same hypercall interface (CPUID leaves,
 * hypercall MSR), and the toolstack gives it the same PV services.
 *
 * <p>A bzImage counts as recognised (its header does not say whether the vmlinux inside has the
 * note, and finding out means decompressing it); loading one without the note fails with that
 * reason.
 */
public final class PvhKernelLoader implements KernelLoader {
  public static final String NAME = "pvh";
  public static final int PRIORITY = 300;

  private static final Profile PROFILE =
      new Profile(NAME, PRIORITY, Set.of(BootMode.HVM, BootMode.HVM_SHADOW, BootMode.PVHVM,
          BootMode.PVH));

  @Override
  public Profile profile() {
    return PROFILE;
  }

  @Override
  public boolean recognises(byte[] image) {
    if (BzImage.isBzImage(image)) {
      return true;
    }
    try {
      PvhLoader.findEntry(image, ElfFile.parse(image));
      return true;
    } catch (BootException e) {
      return false;
    }
  }

  @Override
  public boolean wantsPvServices() {
    return true;
  }

  @Override
  public BootedKernel load(byte[] image, BootRequest request, BootTarget target)
      throws BootException {
    PvhLoader.PvhKernel k = new PvhLoader().load(image, request.cmdline(), request.modules(),
        target.memory(), target.ramBytes());
    target.startFlat32(k.entry());
    target.cpu().setReg(Cpu.EBX, (int) k.startInfo());
    return new BootedKernel(NAME, k.entry(), k.startInfo(), k.segments());
  }
}
