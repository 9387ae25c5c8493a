package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.sched.CreditScheduler;
import org.junit.jupiter.api.Test;

class Dom0SettingsTest {

  @Test
  void defaultsAreXens() {
    assertThat(Dom0Settings.DEFAULT).isEqualTo(new Dom0Settings(256, 0));
  }

  @Test
  void aConfigLineSetsEitherOrBothKeys() {
    assertThat(Dom0Settings.isDom0Line("dom0 weight=512,cap=10")).isTrue();
    assertThat(Dom0Settings.isDom0Line("  dom0")).isTrue();
    assertThat(Dom0Settings.isDom0Line("dom0=k/hello.elf")).isFalse();
    assertThat(Dom0Settings.isDom0Line("dom01=k/hello.elf")).isFalse();
    assertThat(Dom0Settings.parse("dom0 weight=512, cap=10", Dom0Settings.DEFAULT))
        .isEqualTo(new Dom0Settings(512, 10));
    assertThat(Dom0Settings.parse("dom0 cap=25", new Dom0Settings(100, 0)))
        .isEqualTo(new Dom0Settings(100, 25));
    assertThat(Dom0Settings.parse("dom0", Dom0Settings.DEFAULT)).isEqualTo(Dom0Settings.DEFAULT);
  }

  @Test
  void badValuesAreOneLineNamingTheKey() {
    assertThatThrownBy(() -> Dom0Settings.parse("dom0 cap=101", Dom0Settings.DEFAULT))
        .hasMessage("dom0: cap must be 0..100 (percent of a CPU), got 101");
    assertThatThrownBy(() -> Dom0Settings.parse("dom0 weight=0", Dom0Settings.DEFAULT))
        .hasMessage("dom0: weight must be 1..65535, got 0");
    assertThatThrownBy(() -> Dom0Settings.parse("dom0 prio=3", Dom0Settings.DEFAULT))
        .hasMessage("dom0: unknown key 'prio' (expected weight, cap)");
    assertThatThrownBy(() -> Dom0Settings.parse("dom0 cap=ten", Dom0Settings.DEFAULT))
        .hasMessage("dom0: cap must be a number, got 'ten'");
    assertThatThrownBy(() -> Dom0Settings.parse("dom0 cap", Dom0Settings.DEFAULT))
        .hasMessageStartingWith("dom0: 'cap' is not KEY=VALUE");
  }

  @Test
  void commandLineOptionsOverrideAndNameTheOption() {
    Dom0Settings s = new Dom0Settings(512, 10);
    assertThat(s.withOptions(null, null)).isEqualTo(s);
    assertThat(s.withOptions(null, 0L)).isEqualTo(new Dom0Settings(512, 0));
    assertThatThrownBy(() -> s.withOptions(70000L, null))
        .hasMessage("--dom0-weight must be 1..65535, got 70000");
    assertThatThrownBy(() -> s.withOptions(null, -1L))
        .hasMessage("--dom0-cap must be 0..100 (percent of a CPU), got -1");
  }

  @Test
  void applyingGivesDomainZeroTheParameters() {
    Hypervisor hv = new Hypervisor(32, new CreditScheduler(), new DefaultCostModel());
    new Dom0Settings(1024, 10).applyTo(hv);
    assertThat(hv.domain(0).weight()).isEqualTo(1024);
    assertThat(hv.domain(0).cap()).isEqualTo(10);
  }
}
