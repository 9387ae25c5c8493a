package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.study.LinuxIo;
import org.hospes.dom0.study.RunRecord;
import org.hospes.dom0.study.StudyReport;
import org.hospes.dom0.study.StudyRunner;
import org.hospes.dom0.study.StudySpec;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The I/O-path study at a small size (2 MiB written and read, 32 pings of 1 KiB): Debian's
 * kernel does the same disk and network work through emulated IDE and virtio in hvm and
 * through xen-blkfront and xen-netfront in pvhvm, twice each. The shape must be the published
 * one: per MiB of disk, IDE takes far more VM exits and ioreqs than virtio and xen; the
 * summary says PV I/O is far cheaper than emulated I/O. And the repetitions must give the same
 * counts: every phase runs in virtual time, the network's far end being dom0's gateway.
 */
@Tag("linux-long")
class DebianLinuxIoStudyTest {
  @TempDir
  Path tmp;

  static StudySpec.Workload workload(String name, String kernel, LinuxIo.Params io) {
    return new StudySpec.Workload(name, kernel, null, null, Map.of(), null, io);
  }

  @Test
  @Timeout(value = 3600, unit = TimeUnit.SECONDS)
  void idePaysFarMoreExitsPerMibThanVirtioAndXenAndRunsRepeatExactly() throws Exception {
    String kernel = DebianKernel.vmlinuz().toString();
    StudySpec spec = new StudySpec("io-small", List.of(
        workload("ide", kernel, new LinuxIo.Params("ide", null, 2, null, null)),
        workload("virtio", kernel, new LinuxIo.Params("virtio", null, 2, 32, null)),
        workload("xen", kernel, new LinuxIo.Params("xen", null, 2, 32, null))),
        List.of("hvm", "pvhvm"), List.of(256), null, null, null, 2, 20_000_000_000L)
        .withDefaults();
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    List<RunRecord> records = new StudyRunner(tmp, 2,
        new PrintStream(progress, true, StandardCharsets.UTF_8)).run(spec);
    Path out = tmp.resolve("results");
    StudyReport.write(spec, records, out);
    String summary = Files.readString(out.resolve("summary.md"));
    System.out.println(progress + "\n" + summary);

    // ide in pvhvm, virtio in pvhvm and xen in hvm have no place: listed as skipped.
    assertThat(records).hasSize(12);
    assertThat(records.stream().filter(RunRecord::skipped)).hasSize(6);
    for (RunRecord r : records) {
      if (r.skipped()) {
        continue;
      }
      String path = r.spec().workload().name();
      assertThat(r.spec().mode()).as(r.spec().label())
          .isEqualTo(path.equals("xen") ? "pvhvm" : "hvm");
      assertThat(r.counters()).as("%s: %s", r.spec().label(), r.endReason())
          .containsEntry("disk.bytes", 4L << 20);
      if (!path.equals("ide")) {
        assertThat(r.counters()).as(r.spec().label())
            .containsEntry("net.bytes", 2L * 32 * LinuxIo.PING_BYTES);
      }
    }
    Map<String, Long> ide = counters(records, "ide", 1);
    Map<String, Long> virtio = counters(records, "virtio", 1);
    Map<String, Long> xen = counters(records, "xen", 1);
    // Per MiB, as the disk phases moved the same 4 MiB.
    assertThat(ide.get("disk.vm_exits")).isGreaterThan(5 * virtio.get("disk.vm_exits"))
        .isGreaterThan(5 * xen.get("disk.vm_exits"));
    assertThat(ide.get("disk.ioreqs")).isGreaterThan(5 * virtio.get("disk.ioreqs"))
        .isGreaterThan(5 * Math.max(1, xen.get("disk.ioreqs")));
    assertThat(xen.get("disk.dom0_events_handled")).isPositive();
    assertThat(xen.get("net.dom0_events_handled")).isPositive();
    assertThat(summary).contains("## I/O paths (per MiB moved)")
        .containsPattern("PV I/O far cheaper than emulated I/O.*: agrees")
        .contains("Determinism: every repetition gave the first run's counters exactly"
            + " (3 compared)");
    for (String w : List.of("ide", "virtio", "xen")) {
      assertThat(counters(records, w, 2)).as("%s, second run", w)
          .isEqualTo(counters(records, w, 1));
    }
  }

  private static Map<String, Long> counters(List<RunRecord> records, String workload, int rep) {
    return records.stream().filter(r -> !r.skipped() && r.spec().repetition() == rep
        && r.spec().workload().name().equals(workload)).findFirst().orElseThrow().counters();
  }
}
