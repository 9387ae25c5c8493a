package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code hospes run --mode pvh} forwards stdin to the PV console: dom0's console backend writes
 * it into the ring's in[] and signals the guest, whose {@code cons_read} returns it. The echo
 * guest blocks on its console event between reads, so the run waits for input rather than
 * ending as halted.
 */
class EchoGuestCliTest {
  private static Path echo;

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    echo = new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("echo", List.of(root.resolve("samples/guests/echo/echo.c")));
  }

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String input) {
    return HospesCli.newCommandLine(
        new ByteArrayInputStream(input.getBytes(StandardCharsets.US_ASCII)),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run", "--mode", "pvh", echo.toString());
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void pipedLinesReachConsReadInOrderMoreThanTheRingHolds() {
    StringBuilder input = new StringBuilder();
    StringBuilder expected = new StringBuilder("echo: type lines; 'bye' ends\n");
    for (int i = 0; i < 200; i++) { // about 2.5 KiB: more than in[1024] holds at once
      input.append("line number ").append(i).append('\n');
      expected.append("echo: line number ").append(i).append('\n');
    }
    input.append("bye\n");
    expected.append("echo: bye\n");

    assertThat(run(input.toString())).as(err.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo(expected.toString());
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void theEndOfInputLeavesABlockedGuestHalted() {
    assertThat(run("only line\n")).isZero();
    assertThat(out.toString(StandardCharsets.US_ASCII))
        .isEqualTo("echo: type lines; 'bye' ends\necho: only line\n");
  }

  @Test
  void aPvhGuestInTooLittleRamIsToldTheMinimumNotZeroMib() {
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run-many", "--domain", "e=" + echo + ",mode=pvh,ram=1");
    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("does not fit in the guest's 1016 KiB of usable RAM; this kernel needs at"
            + " least 2 MiB")
        .doesNotContain("0 MiB");
  }
}
