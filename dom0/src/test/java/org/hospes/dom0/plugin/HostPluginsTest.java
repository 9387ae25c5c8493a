package org.hospes.dom0.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.AbstractModule;
import com.google.inject.Key;
import com.google.inject.Module;
import com.google.inject.util.Types;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.devicemodel.plugin.DeviceModelContext;
import org.hospes.dom0.devicemodel.plugin.DeviceModelModule;
import org.hospes.dom0.devicemodel.plugin.DeviceModelPlugin;
import org.hospes.dom0.devicemodel.plugin.DeviceSpec;
import org.hospes.hv.HospesPlugin;
import org.hospes.hv.HypervisorModule;
import org.hospes.hv.cost.PrescottCostModel;
import org.hospes.hv.plugin.ExtensionPoint;
import org.hospes.hv.plugin.ExtensionPointModule;
import org.hospes.hv.plugin.PluginException;
import org.hospes.hv.plugin.PluginInjector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's one plugin injector and the registries it feeds. */
class HostPluginsTest {

  /** A device that adds nothing; enough to be found by name. */
  public static final class TwinDevice implements DeviceModelPlugin {
    @Override
    public String name() {
      return "twin";
    }

    @Override
    public String description() {
      return "the twin plugin's device";
    }

    @Override
    public AttachedDevice attach(DeviceModelContext context, DeviceSpec options) {
      return () -> "twin";
    }
  }

  /**
   * One Guice module, two extension points: a cost model (Prescott's, under another name) and a
   * device model.
   */
  public static final class TwinPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      HypervisorModule.costModels(binder()).addBinding("twin").to(PrescottCostModel.class);
      DeviceModelModule.devices(binder()).addBinding("twin").to(TwinDevice.class);
    }
  }

  /** Another jar with a device of the same name. */
  public static final class OtherTwinPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      DeviceModelModule.devices(binder()).addBinding("twin").to(TwinDevice.class);
    }
  }

  @Test
  void onePluginModuleAddsACostModelAndADeviceFromItsJar(@TempDir Path jar) throws Exception {
    Path services = jar.resolve("META-INF/services");
    Files.createDirectories(services);
    Files.writeString(services.resolve(HospesPlugin.class.getName()),
        TwinPlugin.class.getName() + "\n");
    try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()},
        getClass().getClassLoader())) {
      HostPlugins host = HostPlugins.discover(loader);
      assertThat(host.plugins()).singleElement().isInstanceOf(TwinPlugin.class);
      assertThat(host.hypervisors().costModelNames()).contains("default", "prescott", "twin");
      assertThat(host.hypervisors().hypervisor("credit", "twin", 64).costModel())
          .isInstanceOf(PrescottCostModel.class);
      assertThat(host.devices().names()).containsExactly("twin");
      assertThat(host.devices().plugin("twin")).isInstanceOf(TwinDevice.class);
      // The other extension points are there too, with their built-ins.
      assertThat(host.kernelLoaders().names()).contains("elf", "linux", "multiboot", "pvh", "pv");
      assertThat(host.diskImages().names()).contains("qcow2", "raw");
      assertThat(host.networks(() -> 0).names()).contains("bridge", "nat");
    }
  }

  @Test
  void withoutPluginsEachExtensionPointHasItsBuiltIns() {
    HostPlugins host = HostPlugins.of(List.of());
    assertThat(host.hypervisors().schedulerNames()).containsExactly("credit", "rr");
    assertThat(host.hypervisors().costModelNames()).containsExactly("default", "prescott");
    assertThat(host.devices().names()).isEmpty();
    assertThat(host.diskImages().names()).containsExactly("qcow2", "raw");
    assertThat(host.networks(() -> 0).names())
        .containsExactly("bridge", "isolated", "nat", "routed");
  }

  @Test
  void withoutPluginsNoInjectorIsBuiltAndEveryPointMatchesWhatGuiceBinds() {
    HostPlugins host = HostPlugins.of(List.of());
    host.hypervisors();
    host.kernelLoaders();
    host.networks(() -> 0);
    PluginInjector pi = host.injector();
    assertThat(pi.injectorBuilt()).as("Guice injector built for a launch without plugins")
        .isFalse();
    int points = 0;
    for (Module m : HostPlugins.extensionPoints()) {
      for (ExtensionPoint<?> p : ((ExtensionPointModule) m).points()) {
        Map<String, ?> plain = pi.map(p.type());
        Map<?, ?> guice = (Map<?, ?>) pi.injector().getInstance(
            Key.get(Types.mapOf(String.class, p.type())));
        assertThat(List.copyOf(plain.keySet())).as(p.type().getSimpleName())
            .isEqualTo(List.copyOf(guice.keySet()));
        plain.forEach((name, v) -> assertThat(v).as(name).hasSameClassAs(guice.get(name)));
        points++;
      }
    }
    assertThat(points).as("extension points").isEqualTo(6);
    assertThat(pi.map(KernelLoader.class)).containsOnlyKeys("elf", "linux", "multiboot", "pvh",
        "pv");
  }

  @Test
  void twoPluginsBindingOneDeviceNameAreRefusedNamingBoth() {
    assertThatThrownBy(() -> HostPlugins.of(List.of(new TwinPlugin(), new OtherTwinPlugin())))
        .isInstanceOf(PluginException.class)
        .hasMessage("plugin " + TwinPlugin.class.getName() + " and plugin "
            + OtherTwinPlugin.class.getName() + " both bind the device model plugin 'twin';"
            + " remove one of them from the class path (--plugin-path, ~/.hospes/plugins)");
  }
}
