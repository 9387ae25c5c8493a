package org.hospes.dom0.devicemodel.plugin;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The device plugins known by name. Plain Java over a map; the launcher's {@code HostPlugins}
 * gives it the map ({@link DeviceModelModule}) from its one injector.
 */
public final class DeviceModelPlugins {
  private final Map<String, DeviceModelPlugin> plugins;

  public DeviceModelPlugins(Map<String, DeviceModelPlugin> plugins) {
    this.plugins = new LinkedHashMap<>(plugins);
    for (Map.Entry<String, DeviceModelPlugin> e : this.plugins.entrySet()) {
      if (!e.getKey().equals(e.getValue().name())) {
        throw new IllegalArgumentException("device bound as '" + e.getKey()
            + "' calls itself '" + e.getValue().name() + "'");
      }
    }
  }

  public Set<String> names() {
    return new TreeSet<>(plugins.keySet());
  }

  /**
   * The plugin {@code --device NAME} asks for. IllegalArgumentException naming the known
   * devices (with their descriptions) when there is none of that name.
   */
  public DeviceModelPlugin plugin(String name) {
    DeviceModelPlugin p = plugins.get(name);
    if (p == null) {
      throw new IllegalArgumentException("unknown device '" + name + "'; " + known());
    }
    return p;
  }

  /** "known devices: edu (QEMU's ...)", or a hint when no plugin adds any. */
  public String known() {
    if (plugins.isEmpty()) {
      return "no device plugins are installed (a plugin jar on --plugin-path or in"
          + " ~/.hospes/plugins adds them)";
    }
    StringBuilder b = new StringBuilder("known devices: ");
    String sep = "";
    for (String n : names()) {
      b.append(sep).append(n).append(" (").append(plugins.get(n).description()).append(')');
      sep = ", ";
    }
    return b.toString();
  }

  /** Checks that every spec names a known device, before anything is built. */
  public void check(Iterable<DeviceSpec> specs) {
    for (DeviceSpec s : specs) {
      plugin(s.name());
    }
  }
}
