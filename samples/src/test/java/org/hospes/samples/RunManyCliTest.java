package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.hv.memory.MachineMemoryLimit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code hospes run-many} end to end with the sample kernels. */
class RunManyCliTest {

  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  private String stdout() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private static String elf(String name) throws Exception {
    return TestKernels.anyElf(name).toString();
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void crashSpinnerAndTwoGoodDomains() throws Exception {
    int status = hospes("run-many", "--domain", "hello=" + elf("hello") + ",ram=64",
        "--domain", "tf=" + elf("triplefault"),
        "--domain", "spin=" + elf("spin") + ",weight=512",
        "--domain", "m=" + elf("marker") + ",ram=8,cmdline=tag=delta",
        "--destroy", "spin@100M", "--stats");

    assertThat(status).as(stderr()).isEqualTo(3); // the first failing domain: tf crashed
    String expectedHello = new String(TestKernels.golden("hello"), StandardCharsets.ISO_8859_1);
    String helloLines = stdout().lines().filter(l -> l.startsWith("[hello] "))
        .map(l -> l.substring("[hello] ".length()) + "\n").reduce("", String::concat);
    assertThat(helloLines).isEqualTo(expectedHello);
    assertThat(stdout().lines())
        .allSatisfy(l -> assertThat(l).matches("\\[(hello|tf|spin|m)\\] .*"));
    assertThat(stdout()).contains("[tf] triplefault: loading an empty IDT and faulting\n",
        "[spin] spin: spinning forever\n", "[m] marker: 0 units changed\n");
    assertThat(stderr())
        .contains("hospes: hello: exited with status 33 (")
        .contains("hospes: tf: crashed: triple fault at eip=0x")
        .contains("hospes: spin: destroyed on request at 100,000,000 cycles (")
        .contains("hospes: m: exited with status 33 (")
        .contains("domain 3 spin (hvm): dying");
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void configFileWithCommentsAndAllDomainsSucceeding() throws Exception {
    Path kernels = TestKernels.anyElf("hello").getParent();
    TestKernels.anyElf("marker");
    Path config = kernels.resolve("run-many-test.cfg");
    Files.writeString(config, "# two domains\n"
        + "hello = hello.elf, ram=64   # relative to this file\n"
        + "\n"
        + "mark=marker.elf,ram=4,cmdline=tag=eps\n");
    Path json = dir.resolve("stats.json");
    int status = hospes("run-many", "--config", config.toString(), "--stats-json",
        json.toString());
    assertThat(status).as(stderr()).isZero();
    assertThat(stdout()).contains("[mark] marker: tag eps, RAM about 4 MiB marked\n");
    assertThat(Files.readString(json)).contains("\"name\":\"hello\"", "\"name\":\"mark\"");
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void limitsEndSpinners() throws Exception {
    assertThat(hospes("run-many", "--domain", "s=" + elf("spin"), "--max-insns", "5M"))
        .isEqualTo(4);
    assertThat(stderr()).contains("hospes: s: instruction limit of 5000000 reached at eip=")
        .contains("(5,000,0");
    err.reset();
    assertThat(hospes("run-many", "--domain", "s=" + elf("spin"), "--max-cycles", "20M"))
        .isEqualTo(4);
    assertThat(stderr()).contains("hospes: s: still running at the time limit of 20,000,000"
        + " cycles");
  }

  /** Weights in the specs reach the credit scheduler: 512 gets about twice what 256 gets. */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void weightsGoToTheCreditScheduler() throws Exception {
    Path json = dir.resolve("stats.json");
    assertThat(hospes("run-many", "--sched", "credit", "--domain",
        "light=" + elf("spin") + ",weight=256", "--domain", "heavy=" + elf("spin") + ",weight=512",
        "--max-cycles", "600M", "--stats-json", json.toString())).isEqualTo(4);
    String stats = Files.readString(json);
    assertThat(stats).contains("\"scheduler\":\"credit\"");
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("\"name\":\"(light|heavy)\".*?\"cycles\":(\\d+)").matcher(stats);
    java.util.Map<String, Long> cycles = new java.util.HashMap<>();
    while (m.find()) {
      cycles.put(m.group(1), Long.parseLong(m.group(2)));
    }
    double ratio = (double) cycles.get("heavy") / cycles.get("light");
    assertThat(ratio).as("heavy/light share, %s", cycles).isBetween(1.7, 2.2);
  }

  @Test
  void badArgumentsGiveOneLineAndStatus2() throws Exception {
    String hello = elf("hello");
    assertBad("hospes: no domains: give --domain", "run-many");
    assertBad("hospes: x: unknown option 'rom'", "run-many", "--domain", "x=" + hello + ",rom=1");
    assertBad("hospes: two domains are named a", "run-many", "--domain", "a=" + hello,
        "--domain", "a=" + hello);
    assertBad("hospes: --destroy b@5M: expected NAME@CYCLES", "run-many", "--domain",
        "a=" + hello, "--destroy", "b@5M");
    assertBad("hospes: --destroy a@soon: 'soon' is not a cycle count", "run-many",
        "--domain", "a=" + hello, "--destroy", "a@soon");
    assertBad("hospes: a: " + dir.resolve("none.elf"), "run-many", "--domain",
        "a=" + dir.resolve("none.elf"));
    Path config = dir.resolve("bad.cfg");
    Files.writeString(config, "# comment\nok=" + hello + "\nbad=" + hello + ",ram=x\n");
    assertBad("hospes: " + config + ":3: bad: ram must be a number", "run-many", "--config",
        config.toString());
    assertBad("hospes: unknown scheduler 'nope'; known schedulers: ", "run-many", "--sched",
        "nope", "--domain", "a=" + hello);
    // A host's machine memory is bounded by the heap, or by this setting when given.
    String limit = System.getProperty(MachineMemoryLimit.PROPERTY);
    System.setProperty(MachineMemoryLimit.PROPERTY, "1536");
    try {
      assertBad("hospes: the domains need 2130 MiB of machine memory, more than the 1536 MiB"
          + " this host can have (the limit is -D" + MachineMemoryLimit.PROPERTY + ")",
          "run-many", "--domain", "a=" + hello + ",ram=1024", "--domain",
          "b=" + hello + ",ram=1024");
    } finally {
      if (limit == null) {
        System.clearProperty(MachineMemoryLimit.PROPERTY);
      } else {
        System.setProperty(MachineMemoryLimit.PROPERTY, limit);
      }
    }
  }

  private void assertBad(String message, String... args) {
    out.reset();
    err.reset();
    assertThat(hospes(args)).as(stderr()).isEqualTo(2);
    assertThat(stderr()).startsWith(message);
    assertThat(stderr().lines()).hasSize(1);
    assertThat(stdout()).isEmpty();
  }
}
