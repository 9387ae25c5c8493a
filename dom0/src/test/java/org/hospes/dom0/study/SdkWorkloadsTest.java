package org.hospes.dom0.study;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A study whose workloads are guest SDK programs: one source, built for pvh and as a classic
 * PV guest, runs in hvm, hvm-shadow, pvh and pv.
 */
class SdkWorkloadsTest {
  @TempDir
  Path dir;

  @Test
  void anSdkProgramRunsInEveryHypervisorModeIncludingPv() throws Exception {
    Path f = dir.resolve("sdk.yaml");
    Files.writeString(f, """
        name: sdk
        workloads:
          - {name: events, sdk: [events]}
        modes: [hvm, hvm-shadow, pvh, pv]
        """);
    StudySpec s = StudySpec.read(f);
    assertThat(s.workloads().get(0).isSdk()).isTrue();
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    List<RunRecord> runs = new StudyRunner(dir, 2,
        new PrintStream(progress, true, StandardCharsets.UTF_8)).run(s);
    Map<String, RunRecord> byMode = runs.stream()
        .collect(Collectors.toMap(r -> r.spec().mode(), r -> r));
    for (String m : List.of("hvm", "hvm-shadow", "pvh", "pv")) {
      RunRecord r = byMode.get(m);
      assertThat(r.exitStatus()).as(m + ": " + r.endReason()).isZero();
      assertThat(r.counters().get("event_upcalls")).as(m).isGreaterThanOrEqualTo(5);
    }
    Map<String, Long> pv = byMode.get("pv").counters();
    // 64 MiB: the builder maps 4 MiB, the runtime maps the other 60 with 30 L1 tables.
    assertThat(pv.get("hypercalls.mmu_update")).isEqualTo(30);
    assertThat(pv.get("hypercalls.callback_op")).isEqualTo(2);
    assertThat(pv.get("vm_exits")).isZero();
    assertThat(byMode.get("pvh").counters().getOrDefault("hypercalls.mmu_update", 0L)).isZero();
    StudyReport.write(s, runs, dir.resolve("out"));
    assertThat(Files.readString(dir.resolve("out/runs.csv"))).contains(",pv,");
  }

  @Test
  void aMissingSdkSourceIsNamed() throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, """
        workloads:
          - {name: w, sdk: [no-such-guest.c]}
        modes: [pv]
        """);
    StudySpec s = StudySpec.read(f);
    assertThatThrownBy(() -> new StudyRunner(dir, 1, System.err).images(s))
        .hasMessageContaining("workload w: sdk source " + dir.resolve("no-such-guest.c"));
    Files.writeString(f, """
        workloads:
          - {name: w, kernel: nanobench, sdk: [events]}
        """);
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("kernel or sdk, not both");
  }
}
