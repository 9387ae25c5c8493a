package org.hospes.dom0.boot.loader;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.hospes.dom0.boot.BootException;

/**
 * The known kernel loaders by name, and the choice among them for an image and a mode:
 * {@code --loader NAME} forces one ({@link #forced}); otherwise {@link #choose} takes, among
 * the loaders that boot the mode and recognise the image, the one with the highest
 * {@link KernelLoader#priority()} (ties: by name). When none recognises the image, the mode's
 * classic loader (pvh for pvh, multiboot elsewhere) is asked anyway, so that its reason for
 * refusing the image is what the user reads.
 *
 * <p>Plain Java over a map; the launcher's {@code HostPlugins} gives it the map of built-ins
 * ({@link KernelLoaderModule}) and plugins' loaders from its one injector.
 */
public final class KernelLoaders {
  private final Map<String, KernelLoader> loaders;

  public KernelLoaders(Map<String, KernelLoader> loaders) {
    this.loaders = new LinkedHashMap<>(loaders);
    for (Map.Entry<String, KernelLoader> e : this.loaders.entrySet()) {
      if (!e.getKey().equals(e.getValue().name())) {
        throw new IllegalArgumentException("loader bound as '" + e.getKey() + "' calls itself '"
            + e.getValue().name() + "'");
      }
    }
  }

  /** The built-in loaders only. */
  public static KernelLoaders builtIn() {
    return new KernelLoaders(Map.of(MultibootKernelLoader.NAME, new MultibootKernelLoader(),
        PvhKernelLoader.NAME, new PvhKernelLoader(), ElfKernelLoader.NAME,
        new ElfKernelLoader(), LinuxKernelLoader.NAME, new LinuxKernelLoader()));
  }

  public Set<String> names() {
    return new TreeSet<>(loaders.keySet());
  }

  /**
   * The loader {@code --loader name} asks for.
   *
   * @throws IllegalArgumentException naming the known loaders when unknown, or naming the loader
   *     and the mode when it cannot boot that mode
   */
  public KernelLoader forced(String name, BootMode mode) {
    KernelLoader l = name == null ? null : loaders.get(name);
    if (l == null) {
      // The hint matters most for a plugin's loader: a jar left off the class path (a
      // mistyped HOSPES_CLASSPATH, which the JVM ignores silently) lands here.
      throw new IllegalArgumentException("unknown loader '" + name + "'; known loaders: "
          + String.join(", ", names()) + " (a plugin jar on --plugin-path, in"
          + " ~/.hospes/plugins or in HOSPES_CLASSPATH adds more)");
    }
    if (!l.modes().contains(mode)) {
      throw new IllegalArgumentException("loader '" + name + "' cannot boot mode " + mode
          + " (it boots " + l.modeNames() + ")");
    }
    return l;
  }

  /**
   * Highest priority first, then by name. One comparator of this class rather than
   * Comparator.comparingInt(...).reversed().thenComparing(...): those combinators are the JDK's
   * own lambdas, which the launcher's class-data archive cannot hold, so each launch spun their
   * classes again.
   */
  private static final Comparator<KernelLoader> BY_PRIORITY = (a, b) ->
      a.priority() != b.priority() ? Integer.compare(b.priority(), a.priority())
          : a.name().compareTo(b.name());

  /**
   * The loader for {@code image} in {@code mode}: the forced one if {@code forcedName} is not
   * null, else the highest-priority one that boots the mode and recognises the image, else the
   * mode's classic loader, whose load will say why it refuses the image.
   *
   * @throws BootException when no loader at all boots the mode
   */
  public KernelLoader choose(String forcedName, BootMode mode, byte[] image)
      throws BootException {
    if (forcedName != null) {
      return forced(forcedName, mode);
    }
    List<KernelLoader> able = new java.util.ArrayList<>();
    for (KernelLoader l : loaders.values()) {
      if (l.modes().contains(mode)) {
        able.add(l);
      }
    }
    able.sort(BY_PRIORITY);
    for (KernelLoader l : able) {
      if (l.recognises(image)) {
        return l;
      }
    }
    KernelLoader classic = loaders.get(mode == BootMode.PVH ? PvhKernelLoader.NAME
        : MultibootKernelLoader.NAME);
    if (classic != null && classic.modes().contains(mode)) {
      return classic;
    }
    if (able.isEmpty()) {
      throw new BootException("no loader boots mode " + mode);
    }
    return able.get(0);
  }
}
