package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long-running host (run-many, the host daemon) gives a domain's emulated disks back when the
 * domain ends or is destroyed: the images are closed and their write locks released, so the next
 * domain (or another program) can open the same image. Before, IDE and virtio images stayed open,
 * and locked, for the host's life.
 */
class DeviceImagesReleasedTest {
  @TempDir
  Path dir;

  private Path image() throws Exception {
    Path p = dir.resolve("disk.img");
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    return p;
  }

  private static DomainSpec withDisk(String name, Path kernel, String disk) {
    DomainSpec s = DomainSpec.of(name, kernel, null).withRam(8);
    return new DomainSpec(s.name(), s.kernel(), DomainMode.HVM_EPT, s.ramMiB(), s.weight(),
        s.cap(), s.cmdline(), s.loader(), List.of(DiskSpec.parse(disk, 0, null)), List.of(), 1);
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aDestroyedOrEndedDomainsIdeAndVirtioImagesCanBeOpenedAgain() throws Exception {
    Path img = image();
    HostRunner host = HostRunner.create(96, new ByteArrayOutputStream());
    Path spin = TestKernels.anyElf("spin");
    Path hello = TestKernels.elf("hello");

    // Destroyed while it runs: an IDE disk.
    host.start(withDisk("first", spin, img + ",format=raw"));
    host.run(2_000_000);
    host.destroy("first", "test");
    host.run(1_000);
    // Ended by itself: the same image on virtio.
    GuestDomain second = host.start(withDisk("second", hello, img + ",format=raw,bus=virtio"));
    host.run(2_000_000_000L);
    assertThat(second.outcome().kind()).isEqualTo(DomainOutcome.Kind.EXITED);
    // And once more, as IDE: it opens, so both earlier domains let go of it.
    GuestDomain third = host.start(withDisk("third", hello, img + ",format=raw"));
    host.run(2_000_000_000L);
    assertThat(third.outcome().kind()).isEqualTo(DomainOutcome.Kind.EXITED);
    host.finish();
  }
}
