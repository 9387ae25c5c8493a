package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.sdk.GuestBuilder;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.memory.P2m;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Isolation between HVM domains on one hypervisor, with EPT and with shadow paging: a crashing
 * and a spinning domain do not disturb the others, and no domain can reach another's memory,
 * also not through frames that a finished domain gave back.
 */
class IsolationTest {
  /** Virtual-time bound of every run here: far more than any of them needs. */
  private static final long LIMIT = 20_000_000_000L;

  private final ByteArrayOutputStream console = new ByteArrayOutputStream();

  private static Path elf(String name) throws Exception {
    return TestKernels.anyElf(name);
  }

  /** Starts a marker domain that holds its markers, and runs until they are all written. */
  private static GuestDomain holdingMarker(HostRunner host, String name, String tag)
      throws Exception {
    return holdingMarker(host, name, tag, DomainMode.HVM_EPT);
  }

  private static GuestDomain holdingMarker(HostRunner host, String name, String tag,
      DomainMode mode) throws Exception {
    GuestDomain m = host.start(DomainSpec.of(name, elf("marker"), "tag=" + tag + " hold=1")
        .withMode(mode));
    assertThat(host.runUntil(LIMIT, () -> m.consoleText().contains("holding"))).isTrue();
    assertThat(m.consoleText()).contains("marker: 0 units changed");
    return m;
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void crashingAndSpinningDomainsDoNotDisturbTheOthersAndNoneSeesAnothersMemory(
      DomainMode mode) throws Exception {
    HostRunner host = HostRunner.create(256, console);
    GuestDomain marker = holdingMarker(host, "marker", "alpha", mode);

    GuestDomain hello = host.start(DomainSpec.of("hello", elf("hello"), null).withRam(64)
        .withMode(mode));
    GuestDomain crasher = host.start(DomainSpec.of("crasher", elf("triplefault"), null)
        .withMode(mode));
    GuestDomain spinner = host.start(DomainSpec.of("spinner", elf("spin"), null)
        .withMode(mode));
    GuestDomain scanner = host.start(DomainSpec.of("scanner", elf("memscan"), "find=alpha")
        .withMode(mode));
    long destroyAt = host.hypervisor().now() + 300_000_000L;
    host.destroyAt("spinner", destroyAt);

    host.runUntil(LIMIT, () -> !hello.isLive() && !crasher.isLive() && !spinner.isLive()
        && !scanner.isLive());

    DomainOutcome crashed = crasher.outcome();
    assertThat(crashed.kind()).isEqualTo(DomainOutcome.Kind.CRASHED);
    assertThat(crashed.reason()).startsWith("triple fault");
    assertThat(crasher.consoleText())
        .isEqualTo("triplefault: loading an empty IDT and faulting\n");

    DomainOutcome spun = spinner.outcome();
    assertThat(spun.kind()).isEqualTo(DomainOutcome.Kind.DESTROYED);
    assertThat(spun.reason()).startsWith("destroyed on request");
    assertThat(spun.instructions()).isGreaterThan(10_000_000L);
    assertThat(spinner.consoleText()).isEqualTo("spin: spinning forever\n");

    assertThat(hello.outcome().status()).as("hello: %s", hello.outcome()).isEqualTo(33);
    assertThat(hello.consoleText())
        .isEqualTo(new String(TestKernels.golden("hello"), StandardCharsets.ISO_8859_1));

    assertThat(scanner.outcome().status()).as("scanner: %s", scanner.consoleText())
        .isEqualTo(33);
    // Above RAM everything reads as all ones, except the local APIC, HPET and I/O APIC pages
    // (the hypervisor emulates them, reached through EPT violations or shadow MMIO faults).
    int devicePages = 3;
    assertThat(scanner.consoleText())
        .contains("memscan: 1044480 pages above RAM scanned, " + devicePages
            + " of them not all ones")
        .endsWith("memscan: found 0 foreign markers\n");
    // The markers existed, intact, for the whole scan.
    assertThat(marker.isLive()).isTrue();
    assertThat(marker.outcome().kind()).isEqualTo(DomainOutcome.Kind.RUNNING);

    host.destroy("marker", "destroyed by the test");
    host.finish();
    assertThat(marker.outcome().kind()).isEqualTo(DomainOutcome.Kind.DESTROYED);
    // The shared console: whole lines, each with its domain's name.
    String all = console.toString(StandardCharsets.ISO_8859_1);
    assertThat(all.lines()).allSatisfy(line -> assertThat(line)
        .matches("\\[(marker|hello|crasher|spinner|scanner)\\] .*"));
    assertThat(all).contains("[scanner] memscan: found 0 foreign markers\n",
        "[hello]   Goodbye: writing 0x10 to port 0xf4 to power off.\n");
  }

  /**
   * The control for the test above: a marker frame mapped into the scanner's physical space on
   * purpose (a deliberate isolation bug) is found, so "0 found" means something.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aMarkerFrameLeakedIntoTheScannerIsFound() throws Exception {
    HostRunner host = HostRunner.create(128, console);
    GuestDomain marker = holdingMarker(host, "marker", "beta");
    GuestDomain scanner = host.start(DomainSpec.of("scanner", elf("memscan"), "find=beta"));
    long leakedMfn = marker.domain().p2m().lookup(0x400); // 4 MiB: a marked page
    long gfn = 0x2000000 >>> 12; // 32 MiB, above the scanner's 16 MiB
    Domain s = scanner.domain();
    s.p2m().set(gfn, leakedMfn);
    s.ept().map(gfn, leakedMfn);

    host.runUntil(LIMIT, () -> !scanner.isLive());

    assertThat(scanner.consoleText()).contains("memscan: found 128 foreign markers\n",
        "memscan: the first at 0x02000000\n");
    assertThat(scanner.outcome().status()).isEqualTo(35);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void framesGivenBackByAFinishedDomainAreZeroedForTheNextOne(DomainMode mode)
      throws Exception {
    HostRunner host = HostRunner.create(64, console);
    GuestDomain marker = host.start(DomainSpec.of("marker", elf("marker"), "tag=gamma")
        .withMode(mode));
    host.run(LIMIT);
    assertThat(marker.outcome().status()).as(marker.consoleText()).isEqualTo(33);
    Set<Long> markerFrames = frames(marker.domain().p2m());
    // A domain that ended keeps its memory until the toolstack destroys it, as in Xen.
    host.forget("marker");

    GuestDomain scanner = host.start(DomainSpec.of("scanner", elf("memscan"), "find=gamma")
        .withMode(mode));
    Set<Long> reused = frames(scanner.domain().p2m());
    reused.retainAll(markerFrames);
    assertThat(reused.size()).as("marker frames the scanner got")
        .isGreaterThan(markerFrames.size() * 9 / 10);
    host.run(LIMIT);

    assertThat(scanner.consoleText()).endsWith("memscan: found 0 foreign markers\n");
    assertThat(scanner.outcome().status()).isEqualTo(33);
  }

  /**
   * A hostile PVH guest making random hypercalls beside HVM domains, all on one host through
   * the toolstack: the others finish with their exact output and the scanner still finds none
   * of the marker's bytes.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aHostilePvhGuestBesideHvmDomains() throws Exception {
    Path root = TestKernels.root();
    Path hostileElf = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests")).build("hostile",
        List.of(root.resolve("samples/guests/hostile/hostile.c")));
    HostRunner host = HostRunner.create(192, console);
    GuestDomain marker = holdingMarker(host, "marker", "zeta");
    GuestDomain hostile = host.start(new DomainSpec("hostile", hostileElf, DomainMode.PVH, 16,
        256, 0, null));
    GuestDomain hello = host.start(DomainSpec.of("hello", elf("hello"), null).withRam(64));
    GuestDomain scanner = host.start(DomainSpec.of("scanner", elf("memscan"), "find=zeta"));

    host.runUntil(LIMIT, () -> !hostile.isLive() && !hello.isLive() && !scanner.isLive());

    assertThat(hostile.outcome().reason()).isEqualTo("shutdown: poweroff");
    assertThat(hostile.consoleText()).contains("hostile: 100000 hypercalls,",
        " 0 undocumented results");
    assertThat(hello.outcome().status()).isEqualTo(33);
    assertThat(hello.consoleText())
        .isEqualTo(new String(TestKernels.golden("hello"), StandardCharsets.ISO_8859_1));
    assertThat(scanner.consoleText()).endsWith("memscan: found 0 foreign markers\n");
    assertThat(scanner.outcome().status()).isEqualTo(33);
    assertThat(marker.isLive()).isTrue();
  }

  private static Set<Long> frames(P2m p2m) {
    Set<Long> s = new HashSet<>();
    for (int gfn = 0; gfn < p2m.size(); gfn++) {
      if (p2m.lookup(gfn) != P2m.INVALID) {
        s.add(p2m.lookup(gfn));
      }
    }
    return s;
  }
}
