package org.hospes.dom0.boot.loader;

import com.google.inject.Binder;
import com.google.inject.multibindings.MapBinder;
import org.hospes.hv.plugin.ExtensionPoint;
import org.hospes.hv.plugin.ExtensionPointModule;

/**
 * The kernel-loader extension point: {@code Map<String, KernelLoader>}, with the built-ins
 * {@code linux}, {@code multiboot}, {@code pvh} and {@code elf}. A plugin
 * ({@link org.hospes.hv.HospesPlugin}) adds one in its {@code configure()}:
 *
 * <pre>{@code
 * KernelLoaderModule.loaders(binder()).addBinding("flat").to(FlatBinaryLoader.class);
 * }</pre>
 *
 * The binding's key must be the loader's {@link KernelLoader#name()}.
 */
public final class KernelLoaderModule extends ExtensionPointModule {

  public KernelLoaderModule() {
    super(ExtensionPoint.declare(KernelLoader.class)
        .with(MultibootKernelLoader.NAME, MultibootKernelLoader::new)
        .with(PvhKernelLoader.NAME, PvhKernelLoader::new)
        .with(PvKernelLoader.NAME, PvKernelLoader::new)
        .with(ElfKernelLoader.NAME, ElfKernelLoader::new)
        .with(LinuxKernelLoader.NAME, LinuxKernelLoader::new));
  }

  /** The loader map, for a module (a plugin) to add a binding to. */
  public static MapBinder<String, KernelLoader> loaders(Binder binder) {
    return MapBinder.newMapBinder(binder, String.class, KernelLoader.class);
  }
}
