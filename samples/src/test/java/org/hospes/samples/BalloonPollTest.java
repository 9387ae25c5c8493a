package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.hospes.sdk.GuestBuilder;
import org.hospes.sdk.GuestRun;
import org.junit.jupiter.api.Test;

/** XENMEM ballooning and SCHEDOP_poll from a PVH guest built with the SDK. */
class BalloonPollTest {

  @Test
  void aGuestGivesPagesBackTakesThemAgainAndPolls() throws Exception {
    Path root = TestKernels.root();
    Path elf = new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("balloon", List.of(root.resolve("samples/guests/balloon/balloon.c")));
    GuestRun.Result r = GuestRun.run(elf, null);
    assertThat(r.exitStatus()).as(r.console()).isZero();
    assertThat(r.console()).isEqualTo(
        "balloon: max 4096 pages, 4096 populated, released 4, now 4092\n"
            + "balloon: a released page reads ffffffff\n"
            + "balloon: populated 4 again, now 4096, first word 00000000\n"
            + "balloon: releasing a page it does not have: 0 done\n"
            + "poll: a pending masked port returns 0\n"
            + "poll: nothing pending, 2 ms timeout: returns 0, slept past the timeout: yes\n"
            + "poll: an invalid port gives -22\n");
  }
}
