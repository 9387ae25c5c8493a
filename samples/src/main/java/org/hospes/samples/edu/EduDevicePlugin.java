package org.hospes.samples.edu;

import com.google.inject.AbstractModule;
import org.hospes.dom0.devicemodel.plugin.DeviceModelModule;
import org.hospes.hv.HospesPlugin;

/**
 * Adds the {@code edu} device through the device-model seam only. Listed in this jar's
 * {@code META-INF/services/org.hospes.hv.HospesPlugin}, so the jar on the class path is
 * enough: {@code hospes run --mode hvm --device edu samples/kernels/build/edu.elf}.
 */
public final class EduDevicePlugin extends AbstractModule implements HospesPlugin {
  @Override
  protected void configure() {
    DeviceModelModule.devices(binder()).addBinding(EduPlugin.NAME).to(EduPlugin.class);
  }
}
