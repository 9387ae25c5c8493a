package org.hospes.dom0.plugin;

import com.google.inject.Module;
import java.util.List;
import java.util.function.LongSupplier;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.boot.loader.KernelLoaderModule;
import org.hospes.dom0.boot.loader.KernelLoaders;
import org.hospes.dom0.devicemodel.plugin.DeviceModelModule;
import org.hospes.dom0.devicemodel.plugin.DeviceModelPlugin;
import org.hospes.dom0.devicemodel.plugin.DeviceModelPlugins;
import org.hospes.dom0.disk.DiskFormat;
import org.hospes.dom0.disk.DiskImages;
import org.hospes.dom0.net.Networks;
import org.hospes.dom0.net.Topology;
import org.hospes.hv.HospesPlugin;
import org.hospes.hv.HypervisorFactory;
import org.hospes.hv.HypervisorModule;
import org.hospes.hv.plugin.ExtensionPoint;
import org.hospes.hv.plugin.ExtensionPointModule;
import org.hospes.hv.plugin.PluginInjector;

/**
 * A launcher's or host's plugins: one {@link PluginInjector} over every extension point of the
 * hypervisor and dom0 (schedulers, cost models, kernel loaders, device models, disk formats,
 * network topologies) with every plugin installed once, and the registries the run and the
 * toolstack read their names from. {@link #classPath()} is the one for this JVM: the launcher
 * puts the plugin jars ({@code ~/.hospes/plugins}, {@code --plugin-path}) on the class path,
 * and they are found there with {@link java.util.ServiceLoader}, once.
 *
 * <p>The registries are plain Java over maps; tests build them by hand, or give
 * {@link #of} the plugin modules they want.
 */
public final class HostPlugins {
  private static HostPlugins classPath;

  private final PluginInjector injector;
  private final HypervisorFactory hypervisors;
  private final KernelLoaders kernelLoaders;
  private final DeviceModelPlugins devices;
  private final DiskImages diskImages;

  private HostPlugins(PluginInjector injector) {
    this.injector = injector;
    this.hypervisors = new HypervisorFactory(injector);
    this.kernelLoaders = new KernelLoaders(injector.map(KernelLoader.class));
    this.devices = new DeviceModelPlugins(injector.map(DeviceModelPlugin.class));
    this.diskImages = new DiskImages(injector.map(DiskFormat.class));
  }

  /**
   * The extension points and their built-ins: every map a plugin may add to is declared here,
   * so each exists (perhaps empty) whatever the plugins bind.
   */
  static List<Module> extensionPoints() {
    return List.of(new HypervisorModule(), new KernelLoaderModule(), new DeviceModelModule(),
        // Declared (empty): DiskImages and Networks add their built-ins themselves.
        new ExtensionPointModule(ExtensionPoint.declare(DiskFormat.class),
            ExtensionPoint.declare(Topology.class)));
  }

  /**
   * The plugins on this JVM's class path, found and installed once (building an injector is
   * slow, and a plugin's singletons should be single).
   *
   * @throws org.hospes.hv.plugin.PluginException when the plugins cannot be installed together
   */
  public static synchronized HostPlugins classPath() {
    if (classPath == null) {
      String jars = System.getProperty(PLUGIN_JARS);
      if (jars != null) {
        checkJars(jars);
      }
      ClassLoader loader = Thread.currentThread().getContextClassLoader();
      classPath = discover(loader != null ? loader : HostPlugins.class.getClassLoader());
    }
    return classPath;
  }

  /**
   * The system property in which {@code ./hospes} names the plugin jars it put on the class
   * path ({@code ~/.hospes/plugins}, {@code --plugin-path}), separated as a class path is.
   */
  public static final String PLUGIN_JARS = "hospes.plugin.jars";

  /**
   * Refuses a plugin jar that does not open as a zip file. The JVM skips such a class-path
   * entry without a word, so a truncated download or an HTML page saved as a jar showed only
   * later, as "unknown scheduler 'lottery'", with nothing pointing at the file.
   *
   * @throws org.hospes.hv.plugin.PluginException naming the first such jar and why
   */
  static void checkJars(String jars) {
    for (String jar : jars.split(java.io.File.pathSeparator)) {
      if (jar.isEmpty()) {
        continue;
      }
      try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar)) {
        // Opening reads its central directory: enough for the class loader to use it.
      } catch (java.io.IOException e) {
        throw new org.hospes.hv.plugin.PluginException("plugin jar " + jar + " cannot be read"
            + " as a jar (" + e.getMessage() + "); the JVM would skip it: replace it, or remove"
            + " it from ~/.hospes/plugins or --plugin-path");
      }
    }
  }

  /**
   * Starts building {@link #classPath()} on a daemon thread, for a launch that will need it:
   * the injector is about a third of what a short run's main thread spends, and it can be
   * built while that thread parses the command line. A later {@code classPath()} waits for it;
   * if it fails, that call fails the same way and reports it.
   */
  public static void buildInBackground() {
    Thread t = new Thread(() -> {
      try {
        classPath();
      } catch (RuntimeException | LinkageError e) {
        // Left for the launch's own call, which throws it where it is handled.
      }
    }, "hospes-plugins");
    t.setDaemon(true);
    t.start();
  }

  /** The plugins {@code loader} sees. */
  public static HostPlugins discover(ClassLoader loader) {
    return of(PluginInjector.discover(loader));
  }

  /** Exactly {@code plugins} (with the built-ins). */
  public static HostPlugins of(List<? extends HospesPlugin> plugins) {
    return new HostPlugins(PluginInjector.of(extensionPoints(), plugins));
  }

  /** The plugin modules installed, in class-path order. */
  public List<HospesPlugin> plugins() {
    return injector.plugins();
  }

  /** The injector (or, without plugins, the built-ins read without one). */
  PluginInjector injector() {
    return injector;
  }

  /** Schedulers and cost models by name. */
  public HypervisorFactory hypervisors() {
    return hypervisors;
  }

  /** Kernel loaders by name, and the choice among them. */
  public KernelLoaders kernelLoaders() {
    return kernelLoaders;
  }

  /** Device-model plugins ({@code --device}) by name. */
  public DeviceModelPlugins devices() {
    return devices;
  }

  /** Disk image formats by name. */
  public DiskImages diskImages() {
    return diskImages;
  }

  /**
   * A run's networks over the known topologies. Per run because networks live in a run's
   * virtual time; the topologies come from the injector afresh, as a run's own.
   */
  public Networks networks(LongSupplier nanos) {
    return new Networks(injector.map(Topology.class), nanos);
  }
}
