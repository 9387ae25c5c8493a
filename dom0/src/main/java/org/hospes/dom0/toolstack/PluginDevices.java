package org.hospes.dom0.toolstack;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.devicemodel.ForeignGuestDma;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.plugin.DeviceModelContext;
import org.hospes.dom0.devicemodel.plugin.DeviceModelPlugin;
import org.hospes.dom0.devicemodel.plugin.DeviceModelPlugins;
import org.hospes.dom0.devicemodel.plugin.DeviceSpec;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;

/**
 * The toolstack's part for {@code --device}: each spec's plugin adds its device to the domain's
 * device model, after the built-in devices and before the firmware programs the bus, as libxl
 * hands QEMU its {@code -device} arguments. Shared by {@link HvmMachine} and
 * {@link HostRunner}.
 */
final class PluginDevices {
  private PluginDevices() {}

  /**
   * Attaches {@code specs} to {@code dm} (null: the mode has no device model). BootException
   * with a one-line reason for an unknown device, a bad option, or a mode without a device
   * model.
   */
  static List<DeviceModelPlugin.AttachedDevice> attach(DeviceModelPlugins plugins,
      Hypervisor hv, HvmDeviceModel dm, Domain d, List<DeviceSpec> specs, Consumer<String> log)
      throws BootException {
    return attach(plugins, hv, dm, d, specs, log, "--device");
  }

  /**
   * As above, with {@code what} naming a device in messages as the user gave it: run's
   * {@code --device}, or {@code device} for a run-many spec's {@code device=} and an xl file's
   * {@code -device} argument, where "--device" named an option the user never typed.
   */
  static List<DeviceModelPlugin.AttachedDevice> attach(DeviceModelPlugins plugins,
      Hypervisor hv, HvmDeviceModel dm, Domain d, List<DeviceSpec> specs, Consumer<String> log,
      String what) throws BootException {
    List<DeviceModelPlugin.AttachedDevice> attached = new ArrayList<>();
    if (specs.isEmpty()) {
      return attached;
    }
    if (dm == null || d.mode().pvDevicesOnly()) {
      throw new BootException(what + " adds a device to the device model; mode "
          + d.mode().cliName() + " has none (use hvm, hvm-shadow or pvhvm)");
    }
    DeviceModelContext ctx = new DeviceModelContext(d.domid(), dm,
        new ForeignGuestDma(hv.control(), d.domid()), d.mode(), true, log);
    for (DeviceSpec s : specs) {
      try {
        DeviceModelPlugin.AttachedDevice a = plugins.plugin(s.name()).attach(ctx, s);
        log.accept("device " + s + ": " + a.name());
        attached.add(a);
      } catch (IllegalArgumentException e) {
        throw new BootException(what + " " + s + ": " + e.getMessage(), e);
      }
    }
    return attached;
  }
}
