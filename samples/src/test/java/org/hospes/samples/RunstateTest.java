package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.hospes.sdk.GuestBuilder;
import org.hospes.sdk.GuestRun;
import org.junit.jupiter.api.Test;

/**
 * vcpu_op runstate and time areas and the periodic timer, which Linux's PVH boot needs
 * (register_runstate_memory_area failing is a BUG() in 6.1).
 */
class RunstateTest {

  @Test
  void runstateAndTimeAreasAndThePeriodicTimerWork() throws Exception {
    Path root = TestKernels.root();
    Path elf = new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("runstate", List.of(root.resolve("samples/guests/runstate/runstate.c")));
    GuestRun.Result r = GuestRun.run(elf, null);
    assertThat(r.exitStatus()).as(r.console()).isZero();
    assertThat(r.console()).isEqualTo(
        "runstate area: 0\n"
            + "time area: 0\n"
            + "after a 5 ms sleep: state 0 (running), mostly blocked: yes, ran: yes,"
            + " accounted >= 5 ms: yes\n"
            + "time area filled: yes\n"
            + "periodic timer: 0\n"
            + "a 1 us period: -22\n"
            + "5 periodic ticks, then none for 3 ms: yes\n"
            + "get_runstate_info: 0, state 0\n");
  }
}
