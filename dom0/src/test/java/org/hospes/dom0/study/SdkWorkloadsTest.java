package org.hospes.dom0.study;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.hospes.dom0.bench.KernelSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    StudyRunner runner = new StudyRunner(dir, 2, new PrintStream(progress, true,
        StandardCharsets.UTF_8));
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
    // Its progress line says why: the results keep no console, and "debug-exit" (or, in a
    // Xen mode, "shutdown: crash") alone did not.
    assertThat(progress.toString(StandardCharsets.UTF_8)).contains("events native ram=64"
        + " sched=credit cost=default engine=jit rep=1: debug-exit; its last output: events: no"
        + " hypervisor, so no event channels (-ENOSYS) / guest: main returned 1; shutting down"
        + " as crashed\n");
    assertThat(byMode.get("pv").lastOutput()).isNotEmpty();
    assertThat(progress.toString(StandardCharsets.UTF_8)).as("a run that ended well")
        .contains(" pv ram=64 sched=credit cost=default engine=jit rep=1: shutdown: poweroff\n");
    Map<String, Long> pv = byMode.get("pv").counters();
    // 64 MiB: the builder maps 4 MiB, the runtime maps the other 60 with 30 L1 tables.
    assertThat(pv.get("hypercalls.mmu_update")).isEqualTo(30);
    assertThat(pv.get("hypercalls.callback_op")).isEqualTo(2);
    assertThat(pv.get("vm_exits")).isZero();
    assertThat(byMode.get("pvh").counters().getOrDefault("hypercalls.mmu_update", 0L)).isZero();
    StudyReport.write(s, runs, dir.resolve("out"));
    assertThat(Files.readString(dir.resolve("out/runs.csv"))).contains(",pv,").contains(",native,");
  }

  /**
   * disk-bench on a scratch disk, no Linux: PV rows (blkfront in pvh and pv) and emulated rows
   * (the ATA driver on IDE in native and hvm), and the finding "PV I/O far cheaper than
   * emulated I/O" with its verdict from the measured numbers.
   */
  @Test
  void anSdkProgramWithAScratchDiskGivesTheIoTablePvAndEmulatedRows() throws Exception {
    Path f = dir.resolve("disk.yaml");
    Files.writeString(f, """
        name: disk
        workloads:
          - {name: disk-bench, sdk: [disk-bench], disk: 1, modes: [native, hvm, pvh, pv]}
          - {name: events, sdk: [events], modes: [pvh]}
        modes: [native, hvm, pvh, pv]
        """);
    StudySpec s = StudySpec.read(f);
    assertThat(s.runs()).extracting(r -> r.workload().name() + " " + r.mode())
        .containsExactly("disk-bench native", "disk-bench hvm", "disk-bench pvh",
            "disk-bench pv", "events pvh");
    List<RunRecord> runs = new StudyRunner(dir, 2, new PrintStream(new ByteArrayOutputStream(),
        true, StandardCharsets.UTF_8)).run(s);
    // 4 KiB x (128 + 16) and 64 KiB x (8 + 16), each written and read.
    long bytes = 2L * (4 * 144 + 64 * 24) << 10;
    for (RunRecord r : runs.subList(0, 4)) {
      assertThat(r.exitStatus()).as(r.spec().mode() + ": " + r.endReason()).isZero();
      assertThat(r.counters().get("disk.bytes")).as(r.spec().mode()).isEqualTo(bytes);
      // The phase is a part of the run.
      assertThat(r.counters().get("disk.virtual_cycles"))
          .isLessThan(r.counters().get("virtual_cycles"));
    }
    RunRecord nat = runs.get(0);
    RunRecord hvm = runs.get(1);
    RunRecord pvh = runs.get(2);
    RunRecord pv = runs.get(3);
    // The emulated path: the IDE disk (no vbd offered), ports and ioreqs, no grants.
    assertThat(nat.counters().get("disk.ide")).isEqualTo(1);
    assertThat(hvm.counters().get("disk.ide")).isEqualTo(1);
    assertThat(nat.counters().get("disk.port_accesses")).isPositive();
    // On the bare PC nearly every access is REP INSD/OUTSD on the data port: two ATA PIO mode 4
    // cycles, 912 cycles at the model's clock, not the 3,200 of port 0x80 (the task file's
    // byte accesses cost half that, the console's a little more).
    long natPorts = nat.counters().get("disk.port_accesses");
    assertThat(nat.counters().get("disk.charged_cycles")).isBetween(890 * natPorts,
        930 * natPorts);
    assertThat(hvm.counters().get("disk.ioreqs")).isPositive();
    assertThat(hvm.counters().get("disk.exits.IO_INSTRUCTION")).isPositive();
    assertThat(hvm.counters().get("disk.grant_maps") + hvm.counters().get("disk.dom0_grant_maps"))
        .isZero();
    // The PV path: grants and events, no ioreqs.
    for (RunRecord r : List.of(pvh, pv)) {
      assertThat(r.counters()).doesNotContainKey("disk.ide");
      assertThat(r.counters().get("disk.grant_copies") + r.counters().get("disk.grant_maps")
          + r.counters().get("disk.dom0_grant_maps") + r.counters().get("disk.dom0_grant_copies"))
          .as(r.spec().mode()).isPositive();
      assertThat(r.counters().get("disk.ioreqs")).isZero();
    }
    assertThat(pv.counters().get("disk.vm_exits")).isZero();
    assertThat(pvh.counters().get("disk.vm_exits")).isPositive();
    String md = StudyReport.ioPaths(runs);
    assertThat(md).contains("| xen (sdk) | pvh | disk | 4.13 |")
        .contains("| xen (sdk) | pv | disk | 4.13 | 0.00 |")
        .contains("| ide (sdk) | native | disk | 4.13 | 0.00 |")
        .contains("| ide (sdk) | hvm | disk | 4.13 |")
        .contains("The same blkfront as a classic PV guest and as a PVH guest")
        .containsPattern("On the bare PC \\(native\\) the same PIO costs [0-9,]+ kcycles per"
            + " MiB \\([0-9.]+x hvm's\\), all the guest's: each 32-bit data-port access is two"
            + " 16-bit cycles on the ATA cable \\(PIO mode 4, 120 ns each: at most 16.7 MB/s");
    // The finding, and its verdict as the measured counts give it.
    List<IoPathsSummary.Row> rows = IoPathsSummary.rows(runs);
    IoPathsSummary.Row ide = rows.stream().filter(r -> r.path().equals(SdkWorkloads.IDE_PATH)
        && r.mode().equals("hvm")).findFirst().orElseThrow();
    IoPathsSummary.Row xen = rows.stream().filter(r -> r.path().equals(SdkWorkloads.DISK_PATH)
        && r.mode().equals("pvh")).findFirst().orElseThrow();
    double hvOutside = (hvm.counters().get("disk.guest_cycles")
        - hvm.counters().get("disk.guest_execution_cycles")
        + hvm.counters().get("disk.dom0_cycles")) / (bytes / (double) (1 << 20));
    assertThat(ide.outsideGuest()).isCloseTo(hvOutside, org.assertj.core.data.Offset.offset(1.0));
    // Emulated I/O: many times PV's exits and hypervisor-plus-dom0 cycles per MiB.
    assertThat(ide.exits()).isGreaterThan(5 * xen.exits());
    assertThat(ide.outsideGuest()).isGreaterThan(5 * xen.outsideGuest());
    assertThat(IoPathsSummary.agrees(ide, xen)).isTrue();
    assertThat(md).contains("- **PV I/O far cheaper than emulated I/O** (the SDK's disk-bench")
        .contains("blkfront in pvh takes")
        .containsPattern("IDE costs [0-9.]+x the cycles outside the guest, [0-9.]+x the exits"
            + " and [0-9.]+x the total cycles: agrees\\.");
    // The verdict follows the numbers: the same rows the other way round do not agree.
    assertThat(IoPathsSummary.agrees(xen, ide)).isFalse();
    StringBuilder swapped = new StringBuilder();
    IoPathsSummary.sdkFinding(swapped, List.of(
        new IoPathsSummary.Row(SdkWorkloads.IDE_PATH, "hvm", "disk", 1, xen.exits(), 0, 0, 0,
            0, xen.guestCycles(), xen.hvCycles(), xen.dom0Cycles(), java.util.Map.of(), 0),
        new IoPathsSummary.Row(SdkWorkloads.DISK_PATH, "pvh", "disk", 1, ide.exits(), 0, 0, 0,
            0, ide.guestCycles(), ide.hvCycles(), ide.dom0Cycles(), java.util.Map.of(), 0)));
    assertThat(swapped.toString()).contains(": does not agree.");
  }

  /**
   * Two studies at once with a workload of the same name, each its own program: both build
   * into the one NAME.elf, so one could read back the other's program and run it. A build
   * waits for the workload's lock, held here by another process (as another study's build
   * would hold it), and then builds and reads its own program.
   */
  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void aBuildWaitsForAnotherProcesssBuildOfTheSameWorkload() throws Exception {
    String name = "lock-test-" + ProcessHandle.current().pid();
    Study s = study(name, "A-" + System.nanoTime());
    Path lock = KernelSources.findRoot().resolve("samples/guests/build/study")
        .resolve(name + ".lock");
    // Built once first: the build under test is then make finding it up to date, at once
    // unless it waits.
    assertThat(text(s.runner().images(s.spec()).get(name))).contains(s.mark());
    Process holder = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HoldLock.class.getName(), lock.toString())
        .redirectErrorStream(true).start();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      BufferedReader in = new BufferedReader(new InputStreamReader(holder.getInputStream(),
          StandardCharsets.UTF_8));
      assertThat(in.readLine()).as("the other process").isEqualTo("locked");
      Future<Map<String, byte[]>> built = pool.submit(() -> s.runner().images(s.spec()));
      Thread.sleep(3000);
      assertThat(built.isDone()).as(() -> "built while another process held " + lock + ": "
          + outcome(built)).isFalse();
      holder.getOutputStream().close(); // the other build is done: it lets go
      assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(text(built.get(120, TimeUnit.SECONDS).get(name))).contains(s.mark());
    } finally {
      holder.destroyForcibly();
      pool.shutdownNow();
      removeBuilt(name);
    }
  }

  /** And in one JVM: two builds of one workload name on two threads each get their program. */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void twoStudiesBuildingOneWorkloadNameAtOnceEachGetTheirOwnProgram() throws Exception {
    String name = "lock-twins-" + ProcessHandle.current().pid();
    Study a = study(name, "A-" + System.nanoTime());
    Study b = study(name, "B-" + System.nanoTime());
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<Map<String, byte[]>> ia = pool.submit(() -> a.runner().images(a.spec()));
      Future<Map<String, byte[]>> ib = pool.submit(() -> b.runner().images(b.spec()));
      assertThat(text(ia.get().get(name))).contains(a.mark()).doesNotContain(b.mark());
      assertThat(text(ib.get().get(name))).contains(b.mark()).doesNotContain(a.mark());
    } finally {
      pool.shutdownNow();
      removeBuilt(name);
    }
  }

  /** The image, its variables and its lock that a test's workload left in the build folder. */
  private static void removeBuilt(String name) throws Exception {
    Path build = KernelSources.findRoot().resolve("samples/guests/build/study");
    for (String ext : List.of(".elf", ".vars", ".lock")) {
      Files.deleteIfExists(build.resolve(name + ext));
    }
  }

  /** A study of one SDK workload, whose program's image holds {@code mark}. */
  private record Study(StudySpec spec, String mark, StudyRunner runner) {}

  /** A study of SDK workload {@code name}, in a directory of its own, printing its mark. */
  private Study study(String name, String tag) throws Exception {
    Path d = Files.createDirectories(dir.resolve(tag));
    String mark = "mark:" + tag;
    Files.writeString(d.resolve("prog.c"), "#include <hospes/guest.h>\n"
        + "int main(void) { printf(\"%s\\n\", \"" + mark + "\"); return 0; }\n");
    Path f = d.resolve("s.yaml");
    Files.writeString(f, "workloads:\n  - {name: " + name + ", sdk: [prog.c]}\nmodes: [pvh]\n");
    return new Study(StudySpec.read(f), mark, new StudyRunner(d, 1, System.err));
  }

  /** What a finished build gave: its workloads, or its exception. */
  private static String outcome(Future<Map<String, byte[]>> f) {
    try {
      return "built " + f.get().keySet();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static String text(byte[] image) {
    return new String(image, StandardCharsets.ISO_8859_1);
  }

  /** Holds a file's lock, as another study's build would, until its stdin is closed. */
  public static final class HoldLock {
    public static void main(String[] args) throws Exception {
      try (FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE)) {
        ch.lock();
        System.out.println("locked");
        System.out.flush();
        System.in.readAllBytes();
      }
    }
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
    // Found as the study runs, not as it is read: still at the key's line of the file.
    assertThatThrownBy(() -> new StudyRunner(dir, 1, System.err).images(s))
        .hasMessageStartingWith(f + ":2:20: workload w: sdk source "
            + dir.resolve("no-such-guest.c"));
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
