package org.hospes.dom0.boot.loader;

import java.util.Set;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.BzImage;
import org.hospes.dom0.boot.LinuxBootParams;
import org.hospes.dom0.boot.LinuxLoader;
import org.hospes.x86.Cpu;

/**
 * A bzImage by Linux's 32-bit boot protocol ({@link LinuxLoader}), as a boot loader on a PC
 * hands it over: flat protected mode with a GDT whose __BOOT_CS (0x10) and __BOOT_DS (0x18)
 * are loaded in CS and in DS, ES, SS (FS and GS too), interrupts and paging off, ESI = the zero
 * page, EBP = EDI = EBX = 0. The command line is the request's; the first module is the initrd.
 *
 * <p>Priority 400, above {@code pvh} (300), in native, hvm and hvm-shadow: a bzImage such as
 * Debian's, whose vmlinux also has Xen's PVH note, boots as the unmodified PC kernel there (the
 * kernel finds no Xen interfaces to use, only the PC's devices) and through PVH in pvh mode,
 * which this loader does not offer. {@code --loader pvh} still boots it through PVH in hvm.
 */
public final class LinuxKernelLoader implements KernelLoader {
  public static final String NAME = "linux";
  public static final int PRIORITY = 400;

  private static final Profile PROFILE =
      new Profile(NAME, PRIORITY, Set.of(BootMode.NATIVE, BootMode.HVM, BootMode.HVM_SHADOW,
          BootMode.PVHVM));

  @Override
  public Profile profile() {
    return PROFILE;
  }

  @Override
  public boolean recognises(byte[] image) {
    return BzImage.isBzImage(image);
  }

  @Override
  public BootedKernel load(byte[] image, BootRequest request, BootTarget target)
      throws BootException {
    if (request.modules().size() > 1) {
      throw new BootException("the linux loader passes one initrd; "
          + request.modules().size() + " modules given");
    }
    byte[] initrd = request.modules().isEmpty() ? null : request.modules().get(0).data();
    LinuxLoader.LinuxKernel k = new LinuxLoader().load(image, request.cmdline(), initrd,
        target.memory(), target.ramBytes(), target.acpiRsdp());
    target.startFlat32(k.entry(), LinuxBootParams.BOOT_CS, LinuxBootParams.BOOT_DS);
    Cpu cpu = target.cpu();
    cpu.setGdtr((int) k.gdt(), k.gdtLimit());
    cpu.setReg(Cpu.ESI, (int) k.bootParams());
    cpu.setReg(Cpu.EBP, 0);
    cpu.setReg(Cpu.EDI, 0);
    cpu.setReg(Cpu.EBX, 0);
    return new BootedKernel(NAME, k.entry(), k.bootParams(), k.segments());
  }
}
