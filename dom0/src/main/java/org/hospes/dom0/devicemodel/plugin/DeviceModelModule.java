package org.hospes.dom0.devicemodel.plugin;

import com.google.inject.Binder;
import com.google.inject.multibindings.MapBinder;
import org.hospes.hv.plugin.ExtensionPoint;
import org.hospes.hv.plugin.ExtensionPointModule;

/**
 * The device-model extension point: {@code Map<String, DeviceModelPlugin>}. Nothing is built
 * in (the built-in devices have their own options); plugins add entries with
 * {@code DeviceModelModule.devices(binder()).addBinding("NAME")...}.
 */
public final class DeviceModelModule extends ExtensionPointModule {

  /** Declares the map, so that it exists (empty) when no plugin adds a device. */
  public DeviceModelModule() {
    super(ExtensionPoint.declare(DeviceModelPlugin.class));
  }

  /** The device map, for a module (a plugin) to add a binding to. */
  public static MapBinder<String, DeviceModelPlugin> devices(Binder binder) {
    return MapBinder.newMapBinder(binder, String.class, DeviceModelPlugin.class);
  }
}
