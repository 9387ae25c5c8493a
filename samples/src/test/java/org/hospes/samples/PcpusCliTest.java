package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.dom0.machine.ExitStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --pcpus N} from the command line: two spinning domains each get about half of one
 * physical CPU's time or a whole one of two, as {@code --stats-json} shows per pCPU and per
 * domain; {@code host pcpus=N} in a host file does the same; bad values and schedulers that
 * place vCPUs on one pCPU are refused with the reason.
 */
class PcpusCliTest {
  /** Four 30 ms timeslices: on one pCPU each spinner has two. */
  private static final long CYCLES = 120_000_000L;

  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int hospes(String... args) {
    out.reset();
    err.reset();
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private JsonNode twoSpinners(String... extra) throws Exception {
    Path json = dir.resolve("stats-" + extra.length + "-" + String.join("", extra).hashCode()
        + ".json");
    String spin = TestKernels.anyElf("spin").toString();
    String[] base = {"run-many", "--domain", "a=" + spin + ",ram=4", "--domain",
        "b=" + spin + ",ram=4", "--max-cycles", Long.toString(CYCLES), "--stats-json",
        json.toString(), "--stats"};
    String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    int status = hospes(args);
    assertThat(status).as(stderr()).isEqualTo(ExitStatus.INSTRUCTION_LIMIT);
    return new ObjectMapper().readTree(json.toFile());
  }

  private static double running(JsonNode doc, String name) {
    for (JsonNode d : doc.get("domains")) {
      if (d.get("name").asText().equals(name)) {
        return d.get("runstate").get("running").asDouble() / doc.get("virtualCycles").asLong();
      }
    }
    throw new AssertionError("no domain " + name);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void twoSpinnersGetHalfOfOnePcpuOrAWholeOneOfTwo() throws Exception {
    JsonNode one = twoSpinners();
    assertThat(one.get("pcpus")).hasSize(1);
    assertThat(running(one, "a")).isCloseTo(0.5, within(0.05));
    assertThat(running(one, "b")).isCloseTo(0.5, within(0.05));

    JsonNode two = twoSpinners("--pcpus", "2");
    System.out.printf("run-many, 2 spinners: 1 pCPU a %.4f b %.4f; 2 pCPUs a %.4f b %.4f,"
        + " pcpus %s%n", running(one, "a"), running(one, "b"), running(two, "a"),
        running(two, "b"), two.get("pcpus"));
    assertThat(stderr()).contains("pcpu 0: busy ").contains("pcpu 1: busy ");
    assertThat(two.get("pcpus")).hasSize(2);
    long virt = two.get("virtualCycles").asLong();
    assertThat(virt).isCloseTo(CYCLES, within(CYCLES / 100));
    for (JsonNode p : two.get("pcpus")) {
      assertThat(p.get("busyCycles").asDouble() / virt).isCloseTo(1.0, within(0.02));
      assertThat(p.get("idleCycles").asLong()).isLessThan(virt / 50);
    }
    assertThat(running(two, "a")).isCloseTo(1.0, within(0.05));
    assertThat(running(two, "b")).isCloseTo(1.0, within(0.05));
    for (JsonNode d : two.get("domains")) {
      assertThat(d.get("vcpus").asInt()).isEqualTo(1);
    }

    // The same from a host file.
    Path cfg = dir.resolve("host.cfg");
    String spin = TestKernels.anyElf("spin").toString();
    Files.writeString(cfg, "host pcpus=2  # two physical CPUs\na = " + spin + ", ram=4\nb = "
        + spin + ", ram=4\n");
    Path json = dir.resolve("file.json");
    hospes("run-many", "--config", cfg.toString(), "--max-cycles", Long.toString(CYCLES),
        "--stats-json", json.toString());
    JsonNode file = new ObjectMapper().readTree(json.toFile());
    assertThat(file.get("pcpus")).hasSize(2);
    assertThat(running(file, "a")).isCloseTo(1.0, within(0.05));
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void cpusInASpecPinsDomainsToPhysicalCpus() throws Exception {
    String spin = TestKernels.anyElf("spin").toString();
    Path json = dir.resolve("pinned.json");
    int status = hospes("run-many", "--pcpus", "2", "--domain", "a=" + spin + ",ram=4,cpus=1",
        "--domain", "b=" + spin + ",ram=4,cpus=1-1", "--max-cycles", Long.toString(CYCLES),
        "--stats-json", json.toString());
    assertThat(status).as(stderr()).isEqualTo(ExitStatus.INSTRUCTION_LIMIT);
    JsonNode doc = new ObjectMapper().readTree(json.toFile());
    // Both on pCPU 1: half of it each; pCPU 0 only runs dom0 (which has nothing to do).
    assertThat(running(doc, "a")).isCloseTo(0.5, within(0.05));
    assertThat(running(doc, "b")).isCloseTo(0.5, within(0.05));
    long virt = doc.get("virtualCycles").asLong();
    assertThat(doc.get("pcpus").get(1).get("busyCycles").asDouble() / virt)
        .isCloseTo(1.0, within(0.02));
    assertThat(doc.get("pcpus").get(0).get("busyCycles").asLong()).isLessThan(virt / 100);

    assertThat(hospes("run-many", "--pcpus", "2", "--domain", "a=" + spin + ",cpus=3"))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).contains("a: cpus: hard affinity must name physical CPUs among 0..1"
        + " (the host has 2)");
    assertThat(hospes("run-many", "--domain", "a=" + spin + ",cpus=x")).isEqualTo(
        ExitStatus.USAGE);
    assertThat(stderr()).contains("a: cpus: 'x' in CPU list 'x' is not a physical CPU number");
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void runTakesPcpusForAnSmpDomain() throws Exception {
    Path json = dir.resolve("smp.json");
    int status = hospes("run", "--mode", "hvm", "--cpus", "2", "--pcpus", "2", "--stats",
        "--stats-json", json.toString(), TestKernels.anyElf("smp").toString());
    assertThat(out.toString(StandardCharsets.ISO_8859_1)).as(stderr())
        .contains("smp: all checks passed");
    assertThat(status).isEqualTo(org.hospes.dom0.bench.QemuRunner.SUCCESS_STATUS);
    assertThat(stderr()).containsPattern("pcpu 1: busy [1-9][0-9,]* cycles")
        .containsPattern("vcpus +2 ");
    // Each vCPU's own counts, which the README's per-vCPU figures are: both ran, and they add
    // up to the domain's (they were in no output, so a user could not check them).
    String text = stderr();
    JsonNode guest = new ObjectMapper().readTree(json.toFile()).get("domains").get(1);
    JsonNode each = guest.get("perVcpu");
    assertThat(each).hasSize(2);
    assertThat(each.get(0).get("instructions").asLong() + each.get(1).get("instructions")
        .asLong()).isEqualTo(guest.get("instructions").asLong());
    assertThat(each.get(0).get("cycles").asLong() + each.get(1).get("cycles").asLong())
        .isEqualTo(guest.get("cycles").asLong());
    for (JsonNode v : each) {
      assertThat(v.get("instructions").asLong()).isPositive();
      assertThat(text).containsPattern(String.format(Locale.ROOT,
          "\n    vcpu %d +%,d insns +%,d cycles, %d migrations\n", v.get("vcpu").asInt(),
          v.get("instructions").asLong(), v.get("cycles").asLong(),
          v.get("migrations").asLong()));
    }
    // A single-vCPU domain has no such list: its counts are the domain's.
    assertThat(new ObjectMapper().readTree(json.toFile()).get("domains").get(0).has("perVcpu"))
        .isFalse();
    // The same run again gives the same counts on every vCPU.
    hospes("run", "--mode", "hvm", "--cpus", "2", "--pcpus", "2", "--stats-json",
        json.toString(), TestKernels.anyElf("smp").toString());
    assertThat(new ObjectMapper().readTree(json.toFile()).get("domains").get(1).get("perVcpu"))
        .isEqualTo(each);
  }

  @Test
  void badValuesAndOnePcpuSchedulersAreRefusedWithTheReason() throws Exception {
    String spin = TestKernels.anyElf("spin").toString();
    assertThat(hospes("run", "--mode", "hvm", "--pcpus", "65", spin))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).contains("--pcpus must be between 1 and 64, got 65");
    assertThat(hospes("run-many", "--domain", "a=" + spin, "--pcpus", "0"))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).contains("--pcpus must be between 1 and 64, got 0");
    assertThat(hospes("run", "--mode", "hvm", "--sched", "rr", "--pcpus", "2", spin))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).contains("--pcpus 2: the rr scheduler runs every vCPU on one physical"
        + " CPU");
    assertThat(hospes("run", "--mode", "native", "--pcpus", "2", spin))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).contains("--pcpus does nothing in native mode");
    Path cfg = dir.resolve("bad.cfg");
    Files.writeString(cfg, "a = " + spin + "\nhost pcpus=lots\n");
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).contains(cfg + ":2: host: pcpus must be a number, got 'lots'");
  }
}
