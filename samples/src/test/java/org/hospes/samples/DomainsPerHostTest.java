package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.bench.DomainsBench;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many domains on one host: 200 copies of the hello PVH guest (4 MiB each) built and booted
 * side by side in one toolstack, each to its first console line, within a bound on host memory
 * per domain beyond the guest frames it touched. Machine memory is backed on first touch, so
 * the 1,016 MiB of machine memory the host has cost only what the domains wrote.
 */
class DomainsPerHostTest {
  private static final int DOMAINS = 200;
  /**
   * Measured at about 560 KiB per domain (TLBs and decoded code of its vCPU, event channels,
   * grant table, xenstore and console state); the goal is under 1 MiB.
   */
  private static final double MAX_OVERHEAD_KIB = 1024;

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void twoHundredHelloDomainsBootWithinTheirMemoryBound() throws Exception {
    Path root = TestKernels.root();
    Path hello = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"))
        .build("hello", List.of(root.resolve("samples/guests/hello/hello.c")));

    DomainsBench.Row row = DomainsBench.measure(hello, DOMAINS, false);

    assertThat(row.completed()).as("domains that printed their first line").isEqualTo(DOMAINS);
    DomainSpec one = DomainSpec.parse("x=" + hello + ",mode=pvh,ram=4", null);
    long machineBytes = (long) HostRunner.machineMiBFor(
        java.util.Collections.nCopies(DOMAINS, one)) << 20;
    // First touch: the domains wrote a small part of their 4 MiB (kernel, stacks, rings).
    assertThat(row.touchedBytes()).isPositive().isLessThan(machineBytes / 8);
    assertThat(row.touchedKiBPerDomain()).isLessThan(1024);
    assertThat(row.overheadKiBPerDomain()).as("host memory per domain beyond touched frames")
        .isLessThan(MAX_OVERHEAD_KIB);
    System.out.printf(java.util.Locale.ROOT,
        "DomainsPerHostTest: %d domains, %.0f KiB heap per domain (%.0f touched, %.0f beyond),"
            + " %.2f ms build and %.2f ms boot per domain (CPU %.2f ms)%n",
        DOMAINS, row.heapKiBPerDomain(), row.touchedKiBPerDomain(), row.overheadKiBPerDomain(),
        row.buildMsPerDomain(), row.bootMsPerDomain(), row.bootCpuMsPerDomain());
  }
}
