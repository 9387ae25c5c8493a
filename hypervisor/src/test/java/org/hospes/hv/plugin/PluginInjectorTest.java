package org.hospes.hv.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.AbstractModule;
import com.google.inject.Key;
import com.google.inject.TypeLiteral;
import com.google.inject.util.Types;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.hospes.hv.HospesPlugin;
import org.hospes.hv.HypervisorModule;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.hv.sched.SchedulerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PluginInjectorTest {
  static final AtomicInteger CONFIGURED = new AtomicInteger();

  /** Binds the scheduler "fifo" and counts its configure() calls. */
  public static final class FifoPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      CONFIGURED.incrementAndGet();
      HypervisorModule.schedulers(binder()).addBinding("fifo")
          .toInstance(() -> new RoundRobinScheduler(1_000_000));
    }
  }

  /** Another jar's scheduler of the same name. */
  public static final class OtherFifoPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      HypervisorModule.schedulers(binder()).addBinding("fifo")
          .toInstance(() -> new RoundRobinScheduler(2_000_000));
    }
  }

  /** A plugin that takes a built-in's name. */
  public static final class CreditPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      HypervisorModule.costModels(binder()).addBinding("cheap").to(DefaultCostModel.class);
      HypervisorModule.schedulers(binder()).addBinding("credit")
          .toInstance(() -> new RoundRobinScheduler(1_000_000));
    }
  }

  @Test
  void builtInsAndPluginsShareOneMapAndEachPluginIsConfiguredOnce() {
    int before = CONFIGURED.get();
    PluginInjector pi = PluginInjector.of(List.of(new HypervisorModule()),
        List.of(new FifoPlugin()));
    assertThat(CONFIGURED.get() - before).as("configure() calls").isEqualTo(1);
    assertThat(pi.map(SchedulerFactory.class)).containsOnlyKeys("credit", "rr", "fifo");
    assertThat(pi.providers(CostModel.class).get("default").get())
        .isNotSameAs(pi.providers(CostModel.class).get("default").get());
    assertThat(pi.plugins()).hasSize(1);
  }

  /** A plugin that binds nothing: its presence alone makes the injector be built. */
  public static final class EmptyPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {}
  }

  @Test
  void withoutPluginsTheMapsAreReadWithoutGuiceAndMatchWhatGuiceBinds() {
    PluginInjector pi = PluginInjector.of(List.of(new HypervisorModule()), List.of());
    Map<String, SchedulerFactory> schedulers = pi.map(SchedulerFactory.class);
    Map<String, CostModel> costs = pi.map(CostModel.class);
    Map<String, com.google.inject.Provider<CostModel>> providers =
        pi.providers(CostModel.class);
    assertThat(pi.injectorBuilt()).as("injector built without plugins").isFalse();

    Map<?, ?> guiceSchedulers = (Map<?, ?>) pi.injector().getInstance(
        Key.get(Types.mapOf(String.class, SchedulerFactory.class)));
    Map<?, ?> guiceCosts = (Map<?, ?>) pi.injector().getInstance(
        Key.get(Types.mapOf(String.class, CostModel.class)));
    assertThat(schedulers.keySet()).containsExactlyElementsOf(
        guiceSchedulers.keySet().stream().map(String.class::cast).toList());
    assertThat(costs.keySet()).containsExactlyElementsOf(
        guiceCosts.keySet().stream().map(String.class::cast).toList());
    assertThat(providers.keySet()).containsExactlyElementsOf(costs.keySet());
    for (String name : costs.keySet()) {
      assertThat(costs.get(name)).hasSameClassAs(guiceCosts.get(name));
      assertThat(providers.get(name).get()).hasSameClassAs(guiceCosts.get(name));
    }
    for (String name : schedulers.keySet()) {
      SchedulerFactory guice = (SchedulerFactory) guiceSchedulers.get(name);
      assertThat(schedulers.get(name).create()).hasSameClassAs(guice.create());
    }
    // Unscoped, as under Guice: a fresh cost model on every read.
    assertThat(pi.map(CostModel.class).get("default")).isNotSameAs(costs.get("default"));
    assertThat(providers.get("default").get()).isNotSameAs(providers.get("default").get());
    assertThat(pi.plugins()).isEmpty();
  }

  @Test
  void withAPluginTheInjectorIsBuilt() {
    assertThat(PluginInjector.of(List.of(new HypervisorModule()), List.of(new EmptyPlugin()))
        .injectorBuilt()).isTrue();
  }

  @Test
  void aNameTwiceAmongTheBuiltInsIsRefusedAsGuiceModulesWouldBe() {
    ExtensionPointModule twice = new ExtensionPointModule(ExtensionPoint.declare(CostModel.class)
        .with("default", DefaultCostModel::new));
    String message = "built in and built in both bind the cost model 'default' twice; remove"
        + " one of them from the class path (--plugin-path, ~/.hospes/plugins)";
    assertThatThrownBy(() -> PluginInjector.of(List.of(new HypervisorModule(), twice),
        List.of())).isInstanceOf(PluginException.class).hasMessage(message);
    assertThatThrownBy(() -> PluginInjector.of(List.of(new HypervisorModule(), twice),
        List.of(new EmptyPlugin()))).isInstanceOf(PluginException.class).hasMessage(message);
  }

  @Test
  void anUndeclaredPointIsRefused() {
    PluginInjector pi = PluginInjector.of(List.of(new HypervisorModule()), List.of());
    assertThatThrownBy(() -> pi.map(String.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("java.lang.String");
  }

  @Test
  void twoPluginsBindingOneNameAreRefusedNamingBoth() {
    assertThatThrownBy(() -> PluginInjector.of(List.of(new HypervisorModule()),
        List.of(new FifoPlugin(), new OtherFifoPlugin())))
        .isInstanceOf(PluginException.class)
        .hasMessage("plugin " + FifoPlugin.class.getName() + " and plugin "
            + OtherFifoPlugin.class.getName() + " both bind the scheduler factory 'fifo';"
            + " remove one of them from the class path (--plugin-path, ~/.hospes/plugins)");
  }

  @Test
  void aPluginTakingABuiltInNameIsRefused() {
    assertThatThrownBy(() -> PluginInjector.of(List.of(new HypervisorModule()),
        List.of(new CreditPlugin())))
        .isInstanceOf(PluginException.class)
        .hasMessageStartingWith("built in and plugin " + CreditPlugin.class.getName()
            + " both bind the scheduler factory 'credit'");
  }

  /** A plugin whose configure() fails, and one that reports its own error. */
  public static final class ConfigureThrowsPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      throw new IllegalStateException("no lottery.conf");
    }
  }

  public static final class AddsErrorPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      addError("needs a license key in HOSPES_LICENSE");
    }
  }

  @Test
  void aPluginWhoseConfigureFailsIsNamed() {
    // Guice's own message, "An exception was caught and reported. Message: no lottery.conf",
    // named no plugin.
    assertThatThrownBy(() -> PluginInjector.of(List.of(new HypervisorModule()),
        List.of(new EmptyPlugin(), new ConfigureThrowsPlugin())))
        .isInstanceOf(PluginException.class)
        .hasMessage("plugin " + ConfigureThrowsPlugin.class.getName() + " could not be"
            + " installed: its configure() threw java.lang.IllegalStateException: no"
            + " lottery.conf");
    assertThatThrownBy(() -> PluginInjector.of(List.of(new HypervisorModule()),
        List.of(new AddsErrorPlugin())))
        .isInstanceOf(PluginException.class)
        .hasMessage("plugin " + AddsErrorPlugin.class.getName() + " could not be installed:"
            + " needs a license key in HOSPES_LICENSE");
  }

  @Test
  void extensionPointsReadAsWords() {
    assertThat(PluginInjector.pointName(TypeLiteral.get(CostModel.class)))
        .isEqualTo("cost model");
    assertThat(PluginInjector.pointName(TypeLiteral.get(SchedulerFactory.class)))
        .isEqualTo("scheduler factory");
  }

  /** A plugin whose constructor fails, as one missing its configuration would. */
  public static final class ThrowingPlugin extends AbstractModule implements HospesPlugin {
    public ThrowingPlugin() {
      throw new IllegalStateException("no lottery.conf next to the jar");
    }

    @Override
    protected void configure() {}
  }

  @Test
  void aPluginWhoseConstructorThrowsIsOneLineWithWhatItThrew(@TempDir Path dir)
      throws Exception {
    // ServiceLoader's own message says only "could not be instantiated"; what the plugin
    // threw is its cause, and the launcher printed the message alone.
    Path services = dir.resolve("META-INF/services");
    Files.createDirectories(services);
    Files.writeString(services.resolve(HospesPlugin.class.getName()),
        ThrowingPlugin.class.getName() + "\n");
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()},
        getClass().getClassLoader())) {
      assertThatThrownBy(() -> PluginInjector.discover(loader))
          .isInstanceOf(PluginException.class)
          .hasMessage("cannot load a plugin: " + HospesPlugin.class.getName() + ": Provider "
              + ThrowingPlugin.class.getName() + " could not be instantiated: it threw"
              + " java.lang.IllegalStateException: no lottery.conf next to the jar");
    }
  }

  @Test
  void aServiceEntryThatDoesNotLoadIsOneLineNamingIt(@TempDir Path dir) throws Exception {
    Path services = dir.resolve("META-INF/services");
    Files.createDirectories(services);
    Files.writeString(services.resolve(HospesPlugin.class.getName()), "org.example.Missing\n");
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()},
        getClass().getClassLoader())) {
      assertThatThrownBy(() -> PluginInjector.discover(loader))
          .isInstanceOf(PluginException.class)
          .hasMessageStartingWith("cannot load a plugin: ")
          .hasMessageContaining("org.example.Missing");
    }
  }
}
