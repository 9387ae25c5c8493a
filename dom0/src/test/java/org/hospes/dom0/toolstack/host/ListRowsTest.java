package org.hospes.dom0.toolstack.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.hospes.abi.GrantTableOp;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;

/**
 * list shows a destroyed domain as dying (`d`) while another domain's grant mapping of its
 * frame holds it, as xl list does, and no more once the mapping goes.
 */
class ListRowsTest {
  @Test
  void aDestroyedDomainHeldByAGrantMappingIsListedDyingUntilItIsGone() {
    Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    Domain a = hv.createHvmDomain("a", DomainMode.PVH, 1);
    Domain b = hv.createHvmDomain("b", DomainMode.PVH, 1);
    long entry = (a.grantTables().frameMfn(0) << 12) + 8L * GrantTableOp.ENTRY_SIZE;
    hv.machineMemory().write32(entry + GrantTableOp.ENTRY_FRAME, 0x10);
    hv.machineMemory().write16(entry + GrantTableOp.ENTRY_DOMID, b.domid());
    hv.machineMemory().write16(entry + GrantTableOp.ENTRY_FLAGS,
        GrantTableOp.GTF_PERMIT_ACCESS);
    int handle = b.grantTables().map(0x50L << 12, GrantTableOp.GNTMAP_HOST_MAP, 8, a.domid());
    assertThat(handle).isNotNegative();
    // Live domains the toolstack does not manage are not its to list.
    assertThat(HostDaemon.rows(hv, List.of())).extracting(DomainInfo::name)
        .containsExactly("Domain-0");
    hv.destroy(a, "xl destroy");
    List<DomainInfo> rows = HostDaemon.rows(hv, List.of());
    assertThat(rows).extracting(DomainInfo::name).containsExactly("Domain-0", "a");
    assertThat(rows.get(1).domid()).isEqualTo(a.domid());
    assertThat(rows.get(1).state()).isEqualTo("-----d");
    assertThat(rows.get(1).mode()).isEqualTo("pvh");
    b.grantTables().unmap(0x50L << 12, handle);
    assertThat(HostDaemon.rows(hv, List.of())).extracting(DomainInfo::name)
        .containsExactly("Domain-0");
  }

  /**
   * A paused domain whose vCPUs all wait is "-bp---", as xl list shows it (getdomaininfo's
   * blocked flag does not look at the pause); woken while paused, it is "--p---". It was
   * "--p---" either way.
   */
  @Test
  void aPausedDomainShowsWhetherItsVcpusAreBlocked() {
    Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    Domain a = hv.createHvmDomain("a", DomainMode.PVH, 1);
    var v = a.vcpus().get(0);
    hv.unpause(a);
    v.setState(org.hospes.hv.domain.VcpuState.BLOCKED); // as its hlt leaves it
    assertThat(DomainRows.letters(a)).isEqualTo("-b----");
    hv.pause(a);
    assertThat(DomainRows.letters(a)).isEqualTo("-bp---");
    hv.wake(v);
    assertThat(DomainRows.letters(a)).isEqualTo("--p---");
    hv.unpause(a);
    assertThat(DomainRows.letters(a)).isEqualTo("r-----");
  }

  @Test
  void aDriverDomainIsListed() {
    // The last trial: block-attach backend=storage made domain "storage", and list left it out.
    Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    Domain a = hv.createHvmDomain("a", DomainMode.PVH, 1);
    int storage = hv.createDriverDomain("storage", a.domid()).domid();
    List<DomainInfo> rows = HostDaemon.rows(hv, List.of());
    assertThat(rows).extracting(DomainInfo::name).containsExactly("Domain-0", "storage");
    assertThat(rows.get(1).domid()).isEqualTo(storage);
    assertThat(rows.get(1).mode()).isEqualTo("service");
    // The next trial: Mem showed its grant-mapping window's 128 MiB, as dom0's does. A service
    // domain has no RAM; a guest shows its own.
    assertThat(rows).extracting(DomainInfo::memKiB).containsExactly(0L, 0L);
  }

  @Test
  void aGuestsMemIsItsRam() {
    Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    Domain a = hv.createHvmDomain("a", DomainMode.PVH, 24);
    assertThat(DomainRows.of(a, "pvh", hv.now()).memKiB()).isEqualTo(24 * 1024);
  }
}
