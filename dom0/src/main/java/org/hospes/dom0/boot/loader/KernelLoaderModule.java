package org.hospes.dom0.boot.loader;

import com.google.inject.AbstractModule;
import com.google.inject.Binder;
import com.google.inject.multibindings.MapBinder;

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
public final class KernelLoaderModule extends AbstractModule {

  /** The loader map, for a module (a plugin) to add a binding to. */
  public static MapBinder<String, KernelLoader> loaders(Binder binder) {
    return MapBinder.newMapBinder(binder, String.class, KernelLoader.class);
  }

  @Override
  protected void configure() {
    loaders(binder()).addBinding(MultibootKernelLoader.NAME).to(MultibootKernelLoader.class);
    loaders(binder()).addBinding(PvhKernelLoader.NAME).to(PvhKernelLoader.class);
    loaders(binder()).addBinding(PvKernelLoader.NAME).to(PvKernelLoader.class);
    loaders(binder()).addBinding(ElfKernelLoader.NAME).to(ElfKernelLoader.class);
    loaders(binder()).addBinding(LinuxKernelLoader.NAME).to(LinuxKernelLoader.class);
  }
}
