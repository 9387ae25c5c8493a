package org.hospes.hv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.AbstractModule;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.sched.CreditScheduler;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HypervisorFactoryTest {

  @Test
  void builtInsAreBoundByName() {
    HypervisorFactory f = new HypervisorFactory();
    assertThat(f.schedulerNames()).contains("credit", "rr");
    assertThat(f.costModelNames()).contains("default");
    Hypervisor hv = f.hypervisor("credit", "default", 64);
    assertThat(hv.scheduler()).isInstanceOf(CreditScheduler.class);
    assertThat(hv.costModel()).isInstanceOf(DefaultCostModel.class);
    assertThat(HypervisorFactory.create("rr", "default", 64).scheduler())
        .isInstanceOf(RoundRobinScheduler.class);
  }

  @Test
  void aFactoryBuiltByHandNeedsNoInjector() {
    HypervisorFactory f = new HypervisorFactory(
        java.util.Map.of("rr", () -> new RoundRobinScheduler(5_000_000)),
        java.util.Map.of("double", Doubled::new));
    assertThat(f.schedulerNames()).containsExactly("rr");
    Hypervisor hv = f.hypervisor("rr", "double", 64);
    assertThat(hv.scheduler()).isInstanceOf(RoundRobinScheduler.class);
    assertThat(hv.costModel()).isInstanceOf(Doubled.class)
        .isNotSameAs(f.costModel("double"));
    assertThatThrownBy(() -> f.scheduler("credit"))
        .hasMessage("unknown scheduler 'credit'; known schedulers: rr"
            + HypervisorFactory.PLUGINS_ADD_MORE);
  }

  @Test
  void eachHypervisorGetsItsOwnScheduler() {
    HypervisorFactory f = new HypervisorFactory();
    assertThat(f.scheduler("credit")).isNotSameAs(f.scheduler("credit"));
  }

  @Test
  void unknownNamesListTheKnownOnes() {
    HypervisorFactory f = new HypervisorFactory();
    assertThatThrownBy(() -> f.scheduler("bvt"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("unknown scheduler 'bvt'; known schedulers: ")
        .hasMessageContaining("credit, ")
        .hasMessageContaining("rr");
    assertThatThrownBy(() -> HypervisorFactory.create("credit", "fast", 64))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("unknown cost model 'fast'; known cost models: ")
        .hasMessageContaining("default")
        .hasMessageEndingWith(" (a plugin jar on --plugin-path, in ~/.hospes/plugins or in"
            + " HOSPES_CLASSPATH adds more)");
  }

  /** The trial's --sched credit,weight=abc was "unknown scheduler 'credit,weight=abc'". */
  @Test
  void aKnownNameWithOptionsIsToldItTakesNone() {
    HypervisorFactory f = new HypervisorFactory();
    assertThatThrownBy(() -> f.scheduler("credit,weight=abc"))
        .hasMessage("scheduler 'credit' takes no options ('weight=abc' given)");
    assertThatThrownBy(() -> f.costModel("default,exit=5"))
        .hasMessage("cost model 'default' takes no options ('exit=5' given)");
    // An unknown name with options is still unknown.
    assertThatThrownBy(() -> f.scheduler("bvt,x=1"))
        .hasMessageStartingWith("unknown scheduler 'bvt,x=1'; known schedulers: ");
  }

  /** A plugin as a jar would ship it; found only through the service file written below. */
  public static final class TestPlugin extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      HypervisorModule.schedulers(binder()).addBinding("fifo-test")
          .toInstance(() -> new RoundRobinScheduler(5_000_000));
      HypervisorModule.costModels(binder()).addBinding("double").toInstance(new Doubled());
    }
  }

  static final class Doubled implements CostModel {
    private final DefaultCostModel base = new DefaultCostModel();

    @Override
    public String name() {
      return "double";
    }

    @Override
    public long instructions(long n) {
      return base.instructions(n);
    }

    @Override
    public long pageWalk(int references) {
      return 2 * base.pageWalk(references);
    }

    @Override
    public long vmExit(org.hospes.x86.vmx.ExitReason reason) {
      return 2 * base.vmExit(reason);
    }

    @Override
    public long exitHandling(org.hospes.x86.vmx.ExitReason reason) {
      return 2 * base.exitHandling(reason);
    }

    @Override
    public long ioreq() {
      return 2 * base.ioreq();
    }

    @Override
    public long shadowFault() {
      return 2 * base.shadowFault();
    }

    @Override
    public long hypercall() {
      return 2 * base.hypercall();
    }
  }

  @Test
  void pluginsOnTheClassPathAreInstalled(@TempDir Path dir) throws Exception {
    Path services = dir.resolve("META-INF/services");
    Files.createDirectories(services);
    Files.writeString(services.resolve(HospesPlugin.class.getName()),
        "# a plugin jar's service file\n" + TestPlugin.class.getName() + "\n");
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()},
        getClass().getClassLoader())) {
      HypervisorFactory f = new HypervisorFactory(loader);
      assertThat(f.schedulerNames()).contains("credit", "rr", "fifo-test");
      assertThat(f.costModelNames()).containsExactly("default", "double", "prescott");
      Hypervisor hv = f.hypervisor("fifo-test", "double", 64);
      assertThat(hv.costModel().name()).isEqualTo("double");
      assertThat(hv.scheduler()).isInstanceOf(RoundRobinScheduler.class);
    }
    // Without the service file the plugin is not there.
    assertThat(new HypervisorFactory().schedulerNames()).doesNotContain("fifo-test");
  }
}
