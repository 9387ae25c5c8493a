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
 * The I/O-path study at a small size (2 MiB written and read, 2 MiB fetched over TCP from dom0's
 * data server): Debian's kernel does the same disk and network work through emulated IDE with
 * the e1000 and through virtio in hvm, and through xen-blkfront and xen-netfront in pvhvm and
 * pvh, twice each. The shape must be the published one: per MiB of disk, IDE takes far more VM
 * exits and ioreqs than virtio and xen; per MiB received, the e1000 far more exits than
 * virtio-net and xen-netfront; the summary says PV I/O is far cheaper than emulated I/O. And
 * the repetitions must give the same counts: every phase runs in virtual time, the network's
 * far end being dom0's gateway and its HTTP data server (no host socket).
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
        workload("ide", kernel, new LinuxIo.Params("ide", "e1000", 2, 2, null)),
        workload("virtio", kernel, new LinuxIo.Params("virtio", null, 2, 2, null)),
        workload("xen", kernel, new LinuxIo.Params("xen", null, 2, 2, null))),
        List.of("hvm", "pvhvm", "pvh"), List.of(256), null, null, null, 2, 20_000_000_000L)
        .withDefaults();
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    List<RunRecord> records = new StudyRunner(tmp, 2,
        new PrintStream(progress, true, StandardCharsets.UTF_8)).run(spec);
    Path out = tmp.resolve("results");
    StudyReport.write(spec, records, out);
    String summary = Files.readString(out.resolve("summary.md"));
    System.out.println(progress + "\n" + summary);

    // ide and virtio in pvhvm and pvh, and xen in hvm, have no place: listed as skipped.
    assertThat(records).hasSize(18);
    assertThat(records.stream().filter(RunRecord::skipped)).hasSize(10);
    for (RunRecord r : records) {
      if (r.skipped()) {
        continue;
      }
      String path = r.spec().workload().name();
      assertThat(r.spec().mode()).as(r.spec().label())
          .isIn(path.equals("xen") ? List.of("pvhvm", "pvh") : List.of("hvm"));
      // Present only if dd succeeded and wget got the data server's 2 MiB, md5 and all.
      assertThat(r.counters()).as("%s: %s", r.spec().label(), r.endReason())
          .containsEntry("disk.bytes", 4L << 20)
          .containsEntry("net.bytes", 2L << 20);
    }
    Map<String, Long> ide = counters(records, "ide", "hvm", 1);
    Map<String, Long> virtio = counters(records, "virtio", "hvm", 1);
    Map<String, Long> xen = counters(records, "xen", "pvhvm", 1);
    Map<String, Long> pvh = counters(records, "xen", "pvh", 1);
    // Per MiB, as the disk phases moved the same 4 MiB.
    assertThat(ide.get("disk.vm_exits")).isGreaterThan(5 * virtio.get("disk.vm_exits"))
        .isGreaterThan(5 * xen.get("disk.vm_exits"));
    assertThat(ide.get("disk.ioreqs")).isGreaterThan(5 * virtio.get("disk.ioreqs"))
        .isGreaterThan(5 * Math.max(1, xen.get("disk.ioreqs")));
    assertThat(xen.get("disk.dom0_events_handled")).isPositive();
    assertThat(xen.get("net.dom0_events_handled")).isPositive();
    assertThat(pvh.get("net.dom0_events_handled")).isPositive();
    // Per MiB received (each fetched the same 2 MiB): the e1000's registers are MMIO and its
    // driver touches several per packet; virtio-net and netfront notify once per batch.
    assertThat(ide.get("net.vm_exits")).isGreaterThan(2 * virtio.get("net.vm_exits"))
        .isGreaterThan(2 * xen.get("net.vm_exits"));
    assertThat(xen.get("net.dom0_grant_copies") + xen.get("net.dom0_grant_maps")).isPositive();
    assertThat(summary).contains("## I/O paths (per MiB moved)")
        .containsPattern("PV I/O far cheaper than emulated I/O.*: agrees")
        // In exits it is (asserted above); in cycles outside the guest dom0's virtio-net model
        // charges more per MiB than the e1000's, so the summary's verdict is "does not agree"
        // (README, "I/O paths"): the line must be there, with the figures, whichever it says.
        .containsPattern("Emulated NIC far costlier than virtio and PV.*the e1000 \\(hvm\\)"
            + " takes [0-9.]+x the VM exits")
        .contains("Determinism: every repetition gave the first run's counters exactly"
            + " (4 compared)");
    for (String w : List.of("ide hvm", "virtio hvm", "xen pvhvm", "xen pvh")) {
      String[] wm = w.split(" ");
      assertThat(counters(records, wm[0], wm[1], 2)).as("%s, second run", w)
          .isEqualTo(counters(records, wm[0], wm[1], 1));
    }
  }

  private static Map<String, Long> counters(List<RunRecord> records, String workload,
      String mode, int rep) {
    return records.stream().filter(r -> !r.skipped() && r.spec().repetition() == rep
        && r.spec().workload().name().equals(workload) && r.spec().mode().equals(mode))
        .findFirst().orElseThrow().counters();
  }
}
