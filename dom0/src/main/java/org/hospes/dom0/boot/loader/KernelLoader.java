package org.hospes.dom0.boot.loader;

import java.util.Set;
import org.hospes.dom0.boot.BootException;

/**
 * A guest kernel format: recognises its images, says in which modes it can boot them, and
 * loads one into a {@link BootTarget} with the vCPU's start-of-day state. Loaders are bound by
 * name ({@link KernelLoaderModule#loaders}); a plugin adds its own through
 * {@link org.hospes.hv.HospesPlugin}.
 *
 * <p>Choosing one ({@link KernelLoaders#choose}): {@code --loader NAME} forces it; otherwise,
 * among the loaders that can boot the mode and recognise the image, the highest
 * {@link #priority()} wins. Built in: {@code linux} 400, {@code pvh} 300, {@code multiboot}
 * 200, {@code elf} 100. The Linux boot-protocol loader sits above PVH and does not offer pvh
 * mode, so that Debian's bzImage, which is both, boots through PVH in pvh mode and through the
 * boot protocol elsewhere.
 */
public interface KernelLoader {

  /**
   * What a loader is called and where it applies.
   *
   * @param name what {@code --loader} and {@code loader=} take
   * @param priority among loaders that recognise an image, the higher wins
   * @param modes the modes the loader can boot
   */
  record Profile(String name, int priority, Set<BootMode> modes) {
    public Profile {
      modes = Set.copyOf(modes);
    }
  }

  Profile profile();

  default String name() {
    return profile().name();
  }

  default int priority() {
    return profile().priority();
  }

  default Set<BootMode> modes() {
    return profile().modes();
  }

  /**
   * A cheap look at the image's bytes (magic numbers, headers, notes; nothing is decompressed
   * or loaded): true if this loader takes it. {@link #load} may still refuse it with a reason.
   */
  boolean recognises(byte[] image);

  /**
   * True for Xen-aware kernels, to which a toolstack gives dom0's PV services (xenstore and a PV
   * console, with their rings and event channels) in any domain mode: then the
   * {@link BootTarget#ramBytes()} it passes leaves out the special pages.
   */
  default boolean wantsPvServices() {
    return false;
  }

  /**
   * Places the image (and the request's command line and modules) in the target's memory and
   * sets its vCPU's start-of-day state.
   *
   * @throws BootException with a one-line reason when the image cannot be booted
   */
  BootedKernel load(byte[] image, BootRequest request, BootTarget target) throws BootException;

  /** "native, hvm, hvm-shadow": for messages. */
  default String modeNames() {
    return modes().stream().sorted().map(BootMode::cliName)
        .collect(java.util.stream.Collectors.joining(", "));
  }
}
