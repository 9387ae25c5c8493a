package org.hospes.dom0.backend.net;

import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.hv.sched.Scheduler;

/**
 * A hypervisor, xenstored, one guest with a Java netfront and its vif (devid 0), whose frames
 * to the switch are collected in {@link #out}.
 */
final class NetTestbed {
  static final String MAC = "00:16:3e:00:00:01";

  final Hypervisor hv;
  final XenstoreService xs;
  final Domain guest;
  final VifBackend backend;
  final JavaNetfront front;
  final List<byte[]> out = new ArrayList<>();

  NetTestbed() {
    this(new RoundRobinScheduler());
  }

  NetTestbed(Scheduler scheduler) {
    hv = new Hypervisor(64, scheduler, new DefaultCostModel());
    xs = new XenstoreService(hv.control(), hv.costModel());
    guest = hv.createHvmDomain("g", DomainMode.PVH, 4);
    VifNodes.create(xs, guest.domid(), 0, MAC, "xenbr0");
    backend = VifBackend.start(xs, hv.control(), hv.costModel(), guest.domid(), 0, MAC);
    backend.attach((from, f, off, len) -> out.add(java.util.Arrays.copyOfRange(f, off,
        off + len)));
    front = new JavaNetfront(hv, xs, guest, 0);
  }

  /** An Ethernet frame of {@code len} bytes: to {@code dst}, from the guest, a seeded body. */
  static byte[] frame(int len, long seed) {
    byte[] f = new byte[len];
    new java.util.Random(seed).nextBytes(f);
    f[0] = 0x02;
    f[6] = 0x00;
    f[7] = 0x16;
    f[8] = 0x3e;
    f[12] = (byte) 0x88;
    f[13] = (byte) 0xB5; // IEEE local experimental ethertype: never checksummed
    return f;
  }
}
