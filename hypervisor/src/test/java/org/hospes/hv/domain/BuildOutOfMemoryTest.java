package org.hospes.hv.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * A domain build the machine has no room for fails and gives back every frame it took: RAM,
 * EPT tables, shadow frames, shared_info, the grant table, the PV GDT area. A host that refused
 * one domain still builds a smaller one, and its free frame count is where it was.
 */
class BuildOutOfMemoryTest {
  /** Owner of the frames a test takes to leave the machine short (not a domain). */
  private static final int HOG = 0x7000;

  private static Hypervisor host(int machineMiB) {
    return new Hypervisor(machineMiB, new RoundRobinScheduler(), new DefaultCostModel());
  }

  private static Domain create(Hypervisor hv, DomainMode mode, String name, int mib) {
    return mode == DomainMode.PV ? hv.createPvDomain(name, mib)
        : hv.createHvmDomain(name, mode, mib);
  }

  /** Takes free frames until exactly {@code left} are free. */
  private static void leave(FrameTable frames, int left) {
    int take = frames.freeFrames() - left;
    if (take > 0) {
      frames.allocate(HOG, take);
    }
    assertThat(frames.freeFrames()).isEqualTo(left);
  }

  /** The M2P's frames: 4 bytes per machine frame, and one L1 per 512 of those frames. */
  private static int m2pFrames(int machineFrames) {
    int table = (machineFrames * 4 + 4095) / 4096;
    return table + (table + 511) / 512;
  }

  private static List<Domain> live(Hypervisor hv) {
    return hv.domains().stream().filter(d -> !d.state().isFinal()
        && d.state() != DomainState.DYING && d.domid() != 0).toList();
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "PVH", "HVM_SHADOW", "PV"})
  void domainsBuiltUntilTheMachineIsFullLeaveItAsTheyFoundIt(DomainMode mode) {
    Hypervisor hv = host(200);
    FrameTable frames = hv.frames();
    int start = frames.freeFrames();
    List<Domain> built = new ArrayList<>();
    int before;
    while (true) {
      before = frames.freeFrames();
      try {
        built.add(create(hv, mode, "d" + built.size(), 40));
      } catch (IllegalStateException e) {
        break;
      }
      assertThat(built).hasSizeLessThan(10);
    }
    assertThat(built).isNotEmpty();
    assertThat(frames.freeFrames()).as("free frames after the refused build").isEqualTo(before);
    assertThat(live(hv)).containsExactlyElementsOf(built);

    for (Domain d : built) {
      hv.destroy(d, "test");
    }
    // The machine-to-physical table stays once the first PV domain made it.
    int kept = mode == DomainMode.PV ? m2pFrames(frames.frames()) : 0;
    assertThat(frames.freeFrames()).isEqualTo(start - kept);

    Domain small = create(hv, mode, "small", 16);
    assertThat(small.p2m().size()).isEqualTo(16 << 8);
    hv.destroy(small, "test");
    assertThat(frames.freeFrames()).isEqualTo(start - kept);
  }

  /**
   * A large domain on a machine a few frames short of it, at every shortfall around what it
   * needs: the build either succeeds (and its destruction gives everything back) or fails
   * having taken nothing. Before, an EPT domain whose tables did not fit in the 64 frames of
   * slack above its RAM failed part way through mapping and kept its RAM and tables (a
   * 160 MiB domain: 41,024 frames).
   */
  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "PVH", "HVM_SHADOW", "PV"})
  void aLargeBuildThatDoesNotFitTakesNothing(DomainMode mode) {
    Hypervisor hv = host(176);
    FrameTable frames = hv.frames();
    if (mode == DomainMode.PV) {
      // The machine-to-physical table is made by the first PV domain and kept.
      hv.destroy(hv.createPvDomain("first", 1), "test");
    }
    int pages = 160 << 8;
    int tables = pages / 512 + 3; // leaf tables, one directory, the PDPT and the root
    int failures = 0;
    int successes = 0;
    for (int slack = 0; slack <= tables + 80; slack++) {
      frames.freeAll(HOG);
      leave(frames, pages + slack);
      try {
        Domain d = create(hv, mode, "big" + slack, 160);
        successes++;
        hv.destroy(d, "test");
      } catch (IllegalStateException e) {
        failures++;
      }
      assertThat(frames.freeFrames()).as("free frames with %d frames of slack", slack)
          .isEqualTo(pages + slack);
      assertThat(live(hv)).isEmpty();
    }
    assertThat(failures).isPositive();
    assertThat(successes).isPositive();
  }

  @Test
  void theMachineToPhysicalTableIsTakenWholeOrNotAtAll() {
    Hypervisor hv = host(16);
    FrameTable frames = hv.frames();
    int needed = m2pFrames(frames.frames());
    assertThat(needed).isEqualTo(5); // 4 frames of 4-byte entries for 4096 frames, one L1
    leave(frames, needed - 1);

    assertThatThrownBy(() -> hv.createPvDomain("pv", 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("machine-to-physical");
    assertThat(frames.freeFrames()).isEqualTo(needed - 1);
    assertThat(hv.machToPhys()).isNull();
    assertThat(live(hv)).isEmpty();

    // With room again, the next PV domain makes the table and builds.
    frames.freeAll(HOG);
    int free = frames.freeFrames();
    Domain d = hv.createPvDomain("pv", 1);
    assertThat(hv.machToPhys()).isNotNull();
    assertThat(hv.machToPhys().get(d.p2m().lookup(5))).isEqualTo(5);
    hv.destroy(d, "test");
    assertThat(frames.freeFrames()).isEqualTo(free - needed);
  }
}
