package org.hospes.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.dom0.backend.net.VifNodes;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.ForeignPage;
import org.hospes.hv.testing.TestProperties;
import org.junit.jupiter.api.Test;

/**
 * The SDK's netfront against a scripted, hostile backend in the test: rx responses with an id
 * that was never posted, an offset plus length past the page, a negative status, then one good
 * frame; a tx response with an unknown id; finally a rsp_prod 1000 slots ahead of what was posted.
 * The guest must take the good frame (and only it), count the rest in bad_responses, keep
 * sending, and exit cleanly.
 */
class NetfrontHostileBackendTest {
  private static final int HDR = 64;

  /** The guest, connected to a backend that is this test: both ring pages and the port. */
  private record Rig(HostRunner host, GuestDomain g, DomainControl control, ForeignPage tx,
      ForeignPage rx, int port, int domid) {}

  private static Rig connect() throws Exception {
    Path sdk = GuestBuilder.defaultSdk();
    Path elf = new GuestBuilder(sdk, sdk.getParent().resolve("target/guests"))
        .build("netfront-hostile", List.of(sdk.getParent().resolve("src/test/c/netfront-hostile.c")));
    DomainSpec spec = DomainSpec.parse("g=" + elf + ",mode=pvh,ram=16", null);
    HostRunner host = HostRunner.create(HostRunner.machineMiBFor(List.of(spec)),
        new ByteArrayOutputStream());
    GuestDomain g = host.start(spec, Files.readAllBytes(elf));
    int domid = g.domain().domid();
    XenstoreService xs = host.xenstore();
    VifNodes.create(xs, domid, 0, "00:16:3e:00:00:42", "none");
    String fe = VifNodes.frontendPath(domid, 0);
    String be = VifNodes.backendPath(domid, 0);
    xs.write(be + "/state", "2");
    host.runUntil(5_000_000_000L, () -> "4".equals(xs.read(fe + "/state")));
    assertThat(xs.read(fe + "/request-rx-copy")).isEqualTo("1");
    assertThat(xs.read(fe + "/feature-rx-notify")).isEqualTo("1");
    DomainControl control = host.hypervisor().control();
    ForeignPage tx = control.mapGrant(domid, Integer.parseInt(xs.read(fe + "/tx-ring-ref")), false);
    ForeignPage rx = control.mapGrant(domid, Integer.parseInt(xs.read(fe + "/rx-ring-ref")), false);
    int port = control.channels().bindInterdomain(domid,
        Integer.parseInt(xs.read(fe + "/event-channel")));
    assertThat(port).isPositive();
    xs.write(be + "/state", "4");
    host.runUntil(5_000_000_000L, () -> g.consoleText().contains("hostile: connected"));
    assertThat(rx.read32(0)).as("rx buffers posted").isEqualTo(128);
    return new Rig(host, g, control, tx, rx, port, domid);
  }

  @Test
  void hostileResponsesAreCountedAndSkippedNeverFollowed() throws Exception {
    Rig rig = connect();
    HostRunner host = rig.host();
    GuestDomain g = rig.g();
    DomainControl control = rig.control();
    ForeignPage tx = rig.tx();
    ForeignPage rx = rig.rx();
    int port = rig.port();
    int domid = rig.domid();
    // Request i of the rx ring: id u16 @0, gref @4. Put a frame in buffer 2's page.
    int gref2 = rx.read32(HDR + 2 * 8 + 4);
    ForeignPage buf = control.mapGrant(domid, gref2, false);
    byte[] f = new byte[60];
    f[14] = (byte) 0xab;
    buf.write(0, f, 0, f.length);
    buf.unmap();
    rsp(rx, 0, 9999, 0, 0, 60);      // an id never posted
    rsp(rx, 1, 1, 4000, 0, 1000);    // reaches past the page
    rsp(rx, 2, 3, 0, 0, -1);         // an error status: counted, buffer reposted
    rsp(rx, 3, 2, 0, 0, 60);         // the good one
    rx.write32(8, 4);                // rsp_prod
    control.channels().send(port);
    host.runUntil(1_000_000_000L, () -> g.consoleText().contains("byte 14"));
    // The guest echoed the good frame: answer its tx request with unknown ids first.
    assertThat(tx.read32(0)).as("tx req_prod").isEqualTo(1);
    int txId = tx.read32(HDR + 8) & 0xFFFF;
    tx.write32(HDR, 77);                       // id 77 (of 64), OKAY
    tx.write32(8, 1);
    control.channels().send(port);
    host.run(1_000_000L);
    rx.write32(8, 4 + 1000);          // more responses than requests
    control.channels().send(port);
    host.run(200_000_000L);
    String out = g.consoleText();
    assertThat(out).as(out).containsOnlyOnce("hostile: frame of")
        .contains("hostile: frame of 60 bytes, byte 14 = ab");
    assertThat(g.outcome().kind()).as(out).isEqualTo(DomainOutcome.Kind.EXITED);
    assertThat(g.outcome().status()).as(out).isZero();
    // Bad rx: id 9999, past the page; bad tx: 77; the impossible rx rsp_prod (at least once).
    assertThat(out).containsPattern("hostile: rx 1, tx 4, bad responses ([4-9]|\\d\\d+), "
        + "rx errors 1, sent 3 more");
    assertThat(txId).isLessThan(64);
  }

  /**
   * The seed: {@code -Dhospes.fuzz.seed}, else 20261202. A value that is not a number stops
   * the test (Long.getLong ran the default seed for it, looking like a run of another one).
   */
  static long fuzzSeed() {
    return TestProperties.longValue("hospes.fuzz.seed", 20261202L);
  }

  /** -Dhospes.fuzz.seed=abc is refused with the property named, not run as the default. */
  @Test
  void aSeedThatIsNotANumberIsRefused() {
    String old = System.getProperty("hospes.fuzz.seed");
    try {
      System.setProperty("hospes.fuzz.seed", "abc");
      assertThatThrownBy(NetfrontHostileBackendTest::fuzzSeed)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("-Dhospes.fuzz.seed=abc: not a number (give a decimal or 0x hexadecimal"
              + " one)");
      System.setProperty("hospes.fuzz.seed", "0xfeedface12345678");
      assertThat(fuzzSeed()).isEqualTo(0xfeedface12345678L);
    } finally {
      if (old == null) {
        System.clearProperty("hospes.fuzz.seed");
      } else {
        System.setProperty("hospes.fuzz.seed", old);
      }
    }
  }

  /**
   * Seeded random rx responses (ids, offsets, flags and statuses over and past their ranges),
   * published in batches no larger than what the guest posted: whatever they say, the guest
   * never takes a frame longer than its page allows, and it exits cleanly.
   */
  @Test
  void randomRxResponsesNeverCrashTheGuest() throws Exception {
    long seed = fuzzSeed();
    Random rnd = new Random(seed);
    Rig rig = connect();
    int prod = 0;
    for (int batch = 0; batch < 12; batch++) {
      int posted = rig.rx().read32(0);
      int n = Math.max(0, Math.min(16, posted - prod));
      for (int i = 0; i < n; i++) {
        int slot = (prod + i) % 256;
        rsp(rig.rx(), slot, rnd.nextInt(300), rnd.nextInt(4200), rnd.nextInt(32),
            rnd.nextInt(4300) - 3);
      }
      prod += n;
      rig.rx().write32(8, prod);
      rig.control().channels().send(rig.port());
      rig.host().run(2_000_000L);
    }
    rig.host().run(500_000_000L);
    String out = rig.g().consoleText();
    assertThat(rig.g().outcome().kind()).as("seed %d:\n%s", seed, out)
        .isEqualTo(DomainOutcome.Kind.EXITED);
    assertThat(rig.g().outcome().status()).as("seed %d", seed).isZero();
    Matcher m = Pattern.compile("hostile: frame of (\\d+) bytes").matcher(out);
    while (m.find()) {
      assertThat(Integer.parseInt(m.group(1))).as("seed %d", seed).isBetween(1, 4096);
    }
    Matcher last = Pattern.compile("hostile: rx (\\d+), tx \\d+, bad responses (\\d+), rx errors "
        + "(\\d+)").matcher(out);
    assertThat(last.find()).as("seed %d:\n%s", seed, out).isTrue();
    int taken = Integer.parseInt(last.group(1));
    int bad = Integer.parseInt(last.group(2));
    int errors = Integer.parseInt(last.group(3));
    // Every response was judged: a frame, an error status or a bad response (a frame's
    // continuation slots fold into it, so frames + errors + bad can be fewer than sent).
    assertThat(bad).as("seed %d", seed).isPositive();
    assertThat(taken + errors + bad).as("seed %d", seed).isPositive().isLessThanOrEqualTo(prod);
  }

  /** Rx response slot i: id u16 @0, offset u16 @2, flags u16 @4, status s16 @6. */
  private static void rsp(ForeignPage rx, int i, int id, int offset, int flags, int status) {
    rx.write32(HDR + i * 8, (id & 0xFFFF) | (offset & 0xFFFF) << 16);
    rx.write32(HDR + i * 8 + 4, (flags & 0xFFFF) | (status & 0xFFFF) << 16);
  }
}
