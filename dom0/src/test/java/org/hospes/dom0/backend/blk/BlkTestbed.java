package org.hospes.dom0.backend.blk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.abi.Blkif;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.disk.RawImage;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.hv.sched.Scheduler;

/** A hypervisor, xenstored, one guest with a Java blkfront, and a disk for it (xvda). */
final class BlkTestbed {
  static final int XVDA = Blkif.devidOf("xvda");

  final Hypervisor hv;
  final XenstoreService xs;
  final Domain guest;
  final DiskImage disk;
  final VbdBackend backend;
  final JavaBlkfront front;

  BlkTestbed(DiskImage disk) {
    this(disk, true, true);
  }

  BlkTestbed(DiskImage disk, boolean persistent, boolean indirect) {
    this(disk, persistent, indirect, new RoundRobinScheduler());
  }

  BlkTestbed(DiskImage disk, boolean persistent, boolean indirect, Scheduler scheduler) {
    this.hv = new Hypervisor(64, scheduler, new DefaultCostModel());
    this.xs = new XenstoreService(hv.control(), hv.costModel());
    this.guest = hv.createHvmDomain("g", DomainMode.PVH, 4);
    this.disk = disk;
    VbdNodes.create(xs, guest.domid(), XVDA, "xvda", "/images/test.img", "raw", disk.readOnly());
    backend = VbdBackend.start(xs, hv.control(), hv.costModel(), guest.domid(), XVDA, disk,
        persistent, indirect);
    front = new JavaBlkfront(hv, xs, guest, XVDA);
  }

  static RawImage rawImage(Path dir, int mib, boolean readOnly) throws IOException {
    Path p = dir.resolve("disk.img");
    if (!Files.exists(p)) {
      try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.WRITE)) {
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.allocate(1), (long) mib * 1024 * 1024 - 1);
      }
    }
    return RawImage.open(p, readOnly);
  }
}
