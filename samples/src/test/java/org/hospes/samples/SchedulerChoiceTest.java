package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.hospes.dom0.cli.HospesCli;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code hospes run --mode hvm --sched NAME}: the built-in schedulers and the sample plugin's
 * (found on the class path) run the kernels with their golden output.
 */
class SchedulerChoiceTest {

  @ParameterizedTest(name = "{0} under {1}")
  @CsvSource({"hello, credit", "hello, rr", "hello, lottery", "timer, credit", "timer, rr",
      "timer, lottery"})
  void kernelsGiveTheirGoldenOutputUnderEachScheduler(String kernel, String sched)
      throws Exception {
    Path elf = TestKernels.elf(kernel);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute("run", "--mode", "hvm",
        "--sched", sched, "--stats", elf.toString());
    String stderr = err.toString(StandardCharsets.UTF_8);
    assertThat(new String(out.toByteArray(), StandardCharsets.ISO_8859_1)).as(stderr)
        .isEqualTo(new String(TestKernels.golden(kernel), StandardCharsets.ISO_8859_1));
    assertThat(status).as(stderr).isEqualTo(33);
    assertThat(stderr).contains("scheduler " + sched);
  }
}
