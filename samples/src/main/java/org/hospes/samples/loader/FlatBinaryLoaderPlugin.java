package org.hospes.samples.loader;

import com.google.inject.AbstractModule;
import org.hospes.dom0.boot.loader.KernelLoaderModule;
import org.hospes.hv.HospesPlugin;

/**
 * Adds the {@code flat} kernel loader. Listed in this jar's
 * {@code META-INF/services/org.hospes.hv.HospesPlugin}, so having the jar on the class path is
 * enough: {@code hospes run --loader flat KERNEL.flat} (or no {@code --loader}: the loader
 * recognises its header).
 */
public final class FlatBinaryLoaderPlugin extends AbstractModule implements HospesPlugin {
  @Override
  protected void configure() {
    KernelLoaderModule.loaders(binder()).addBinding(FlatBinaryLoader.NAME)
        .to(FlatBinaryLoader.class);
  }
}
