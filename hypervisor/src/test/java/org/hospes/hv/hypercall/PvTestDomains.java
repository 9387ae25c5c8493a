package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;

/**
 * Classic PV domains for hypercall tests, built the way a domain builder would but small: 1 MiB,
 * pfns 0..3 its L3, L2, Xen's L2 and one L1, mapped read-only at VA 0..0x3fff; pfns 4..31
 * mapped writable at VA pfn << 12; the vCPU booted in ring 1 over these tables with ESP at
 * 0x7ff0 (stack in pfn 7).
 */
final class PvTestDomains {
  static final long P = 1, RW = 2, US = 4;
  static final int STACK_TOP = 0x7FF0;
  static final int ENTRY = 0x5000;

  private PvTestDomains() {}

  static Domain create(Hypervisor hv, String name) {
    Domain d = hv.createPvDomain(name, 1);
    long l3 = mfn(d, 0), l2 = mfn(d, 1), xenL2 = mfn(d, 2), l1 = mfn(d, 3);
    var m = hv.machineMemory();
    m.write64(l3 << 12, l2 << 12 | P);
    m.write64((l3 << 12) + 24, xenL2 << 12 | P);
    m.write64(l2 << 12, l1 << 12 | P | RW | US);
    for (int pfn = 0; pfn < 32; pfn++) {
      m.write64((l1 << 12) + 8L * pfn, mfn(d, pfn) << 12 | P | US | (pfn >= 4 ? RW : 0));
    }
    assertThat(d.pv().boot(l3, ENTRY, STACK_TOP, 0x6000)).isZero();
    return d;
  }

  static long mfn(Domain d, int pfn) {
    return d.p2m().lookup(pfn);
  }
}
