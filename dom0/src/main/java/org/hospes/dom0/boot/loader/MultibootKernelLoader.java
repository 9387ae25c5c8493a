package org.hospes.dom0.boot.loader;

import java.util.Set;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.LoadedKernel;
import org.hospes.dom0.boot.MultibootHeader;
import org.hospes.dom0.boot.MultibootLoader;
import org.hospes.x86.Cpu;

/**
 * Multiboot v1 kernels ({@link MultibootLoader}) in the machine state the spec promises (flat
 * protected mode, paging and interrupts off, EAX = magic, EBX = boot information), with a flat
 * GDT loaded as GRUB and QEMU leave one.
 */
public final class MultibootKernelLoader implements KernelLoader {
  public static final String NAME = "multiboot";
  public static final int PRIORITY = 200;

  private static final Profile PROFILE =
      new Profile(NAME, PRIORITY, Set.of(BootMode.NATIVE, BootMode.HVM, BootMode.HVM_SHADOW,
          BootMode.PVHVM));

  @Override
  public Profile profile() {
    return PROFILE;
  }

  @Override
  public boolean recognises(byte[] image) {
    try {
      return MultibootHeader.find(image).isPresent();
    } catch (BootException e) {
      // A header with the magic but a bad checksum or flags: ours to explain when loading.
      return true;
    }
  }

  @Override
  public BootedKernel load(byte[] image, BootRequest request, BootTarget target)
      throws BootException {
    if (!request.modules().isEmpty()) {
      throw new BootException("the multiboot loader does not pass boot modules");
    }
    LoadedKernel k = loadMultiboot(image, request.cmdline(), target);
    return new BootedKernel(NAME, k.entry(), k.bootInfoAddress(), k.segments());
  }

  /** Loads the kernel and sets the hand-off state; returns the Multiboot details. */
  public LoadedKernel loadMultiboot(byte[] image, String cmdline, BootTarget target)
      throws BootException {
    LoadedKernel k = new MultibootLoader().load(image, cmdline, target.memory(),
        target.ramBytes());
    target.startFlat32(k.entry());
    Cpu cpu = target.cpu();
    cpu.setGdtr((int) k.gdtAddress(), k.gdtLimit());
    cpu.setReg(Cpu.EAX, k.eax());
    cpu.setReg(Cpu.EBX, (int) k.bootInfoAddress());
    return k;
  }
}
