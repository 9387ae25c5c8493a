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
 * A study whose workloads are guest SDK programs: one source, built once into one image, runs
 * in all six modes; a program with a scratch disk gives the I/O table PV rows, pv among them.
 */
class SdkWorkloadsTest {
  @TempDir
  Path dir;

  @Test
  void anSdkProgramRunsInEveryModeFromOneImage() throws Exception {
    Path f = dir.resolve("sdk.yaml");
    Files.writeString(f, """
        name: sdk
        workloads:
          - {name: events, sdk: [events]}
        modes: [native, hvm, hvm-shadow, pvhvm, pvh, pv]
        """);
    StudySpec s = StudySpec.read(f);
    assertThat(s.workloads().get(0).isSdk()).isTrue();
    StudyRunner runner = new StudyRunner(dir, 2, new PrintStream(new ByteArrayOutputStream(),
        true, StandardCharsets.UTF_8));
    Map<String, byte[]> images = runner.images(s);
    assertThat(images).containsOnlyKeys("events");
    List<RunRecord> runs = runner.run(s, images);
    Map<String, RunRecord> byMode = runs.stream()
        .collect(Collectors.toMap(r -> r.spec().mode(), r -> r));
    for (String m : List.of("hvm", "hvm-shadow", "pvhvm", "pvh", "pv")) {
      RunRecord r = byMode.get(m);
      assertThat(r.exitStatus()).as(m + ": " + r.endReason()).isZero();
      assertThat(r.counters().get("event_upcalls")).as(m).isGreaterThanOrEqualTo(5);
    }
    // No hypervisor: the program says so and returns 1 (isa-debug-exit 1, status 3).
    assertThat(byMode.get("native").endReason()).isEqualTo("debug-exit");
    assertThat(byMode.get("native").exitStatus()).isEqualTo(3);
    Map<String, Long> pv = byMode.get("pv").counters();
    // 64 MiB: the builder maps 4 MiB, the runtime maps the other 60 with 30 L1 tables.
    assertThat(pv.get("hypercalls.mmu_update")).isEqualTo(30);
    assertThat(pv.get("hypercalls.callback_op")).isEqualTo(2);
    assertThat(pv.get("vm_exits")).isZero();
    assertThat(byMode.get("pvh").counters().getOrDefault("hypercalls.mmu_update", 0L)).isZero();
    StudyReport.write(s, runs, dir.resolve("out"));
    assertThat(Files.readString(dir.resolve("out/runs.csv"))).contains(",pv,").contains(",native,");
  }

  /** disk-bench on a scratch disk: PV I/O rows for the summary, pv among them, no Linux. */
  @Test
  void anSdkProgramWithAScratchDiskGivesTheIoTablePvRows() throws Exception {
    Path f = dir.resolve("disk.yaml");
    Files.writeString(f, """
        name: disk
        workloads:
          - {name: disk-bench, sdk: [disk-bench], disk: 1, modes: [native, pvh, pv]}
          - {name: events, sdk: [events], modes: [pvh]}
        modes: [native, hvm, pvh, pv]
        """);
    StudySpec s = StudySpec.read(f);
    assertThat(s.runs()).extracting(r -> r.workload().name() + " " + r.mode())
        .containsExactly("disk-bench native", "disk-bench pvh", "disk-bench pv", "events pvh");
    List<RunRecord> runs = new StudyRunner(dir, 2, new PrintStream(new ByteArrayOutputStream(),
        true, StandardCharsets.UTF_8)).run(s);
    assertThat(runs.get(0).skipped()).isTrue();
    assertThat(runs.get(0).endReason()).contains("native has no hypervisor");
    // 4 KiB x (128 + 16) and 64 KiB x (8 + 16), each written and read.
    long bytes = 2L * (4 * 144 + 64 * 24) << 10;
    for (RunRecord r : runs.subList(1, 3)) {
      assertThat(r.exitStatus()).as(r.spec().mode() + ": " + r.endReason()).isZero();
      assertThat(r.counters().get("disk.bytes")).isEqualTo(bytes);
      assertThat(r.counters().get("disk.grant_copies") + r.counters().get("disk.grant_maps")
          + r.counters().get("disk.dom0_grant_maps") + r.counters().get("disk.dom0_grant_copies"))
          .as(r.spec().mode()).isPositive();
      // The phase is a part of the run.
      assertThat(r.counters().get("disk.virtual_cycles"))
          .isLessThan(r.counters().get("virtual_cycles"));
    }
    assertThat(runs.get(2).counters().get("disk.vm_exits")).isZero();
    assertThat(runs.get(1).counters().get("disk.vm_exits")).isPositive();
    String md = StudyReport.ioPaths(runs);
    assertThat(md).contains("| xen (sdk) | pvh | disk | 4.13 |")
        .contains("| xen (sdk) | pv | disk | 4.13 | 0.00 |")
        .contains("The same blkfront as a classic PV guest and as a PVH guest");
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
    Files.writeString(f, """
        workloads:
          - {name: w, kernel: nanobench, disk: 1}
        """);
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessageContaining("workloads[0].disk: a scratch disk is for sdk programs");
    Files.writeString(f, """
        workloads:
          - {name: w, sdk: [events], modes: [pvh, xen]}
        """);
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessageContaining("workloads[0].modes: unknown mode 'xen'");
  }
}
