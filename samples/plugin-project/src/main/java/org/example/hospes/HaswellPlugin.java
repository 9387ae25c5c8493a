package org.example.hospes;

import com.google.inject.AbstractModule;
import org.hospes.hv.HospesPlugin;
import org.hospes.hv.HypervisorModule;

/** Adds {@code --cost-model haswell}; found by ServiceLoader through META-INF/services. */
public final class HaswellPlugin extends AbstractModule implements HospesPlugin {
  @Override
  protected void configure() {
    HypervisorModule.costModels(binder()).addBinding(HaswellCostModel.NAME)
        .to(HaswellCostModel.class);
  }
}
