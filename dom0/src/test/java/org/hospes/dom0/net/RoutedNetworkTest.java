package org.hospes.dom0.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RoutedNetworkTest {
  static final long A = 0x00163e000001L;
  static final long B = 0x00163e000002L;
  static final int IP_A = RoutedNetwork.parseIp("10.0.3.5");
  static final int IP_B = RoutedNetwork.parseIp("10.0.3.6");

  final RoutedNetwork net = new RoutedNetwork("routed");
  final TestPort a = new TestPort("vif1.0");
  final TestPort b = new TestPort("vif2.0");

  RoutedNetworkTest() {
    net.connect(a);
    net.connect(b);
  }

  static byte[] arpRequest(long srcMac, int srcIp, int targetIp) {
    byte[] f = new byte[42];
    RoutedNetwork.putMac(f, 0, 0xFFFF_FFFF_FFFFL);
    RoutedNetwork.putMac(f, 6, srcMac);
    RoutedNetwork.put16(f, 12, 0x0806);
    RoutedNetwork.put16(f, 14, 1);
    RoutedNetwork.put16(f, 16, 0x0800);
    f[18] = 6;
    f[19] = 4;
    RoutedNetwork.put16(f, 20, 1);
    RoutedNetwork.putMac(f, 22, srcMac);
    RoutedNetwork.put32(f, 28, srcIp);
    RoutedNetwork.put32(f, 38, targetIp);
    return f;
  }

  /** An ICMP echo request from (srcMac, src) to dst via the router. */
  static byte[] ping(long srcMac, int src, int dst, int ttl) {
    byte[] f = new byte[14 + 20 + 8 + 16];
    RoutedNetwork.putMac(f, 0, RoutedNetwork.ROUTER_MAC);
    RoutedNetwork.putMac(f, 6, srcMac);
    RoutedNetwork.put16(f, 12, 0x0800);
    f[14] = 0x45;
    RoutedNetwork.put16(f, 16, 44);
    f[22] = (byte) ttl;
    f[23] = 1;
    RoutedNetwork.put32(f, 26, src);
    RoutedNetwork.put32(f, 30, dst);
    RoutedNetwork.ipChecksum(f, 14, 20);
    f[34] = 8;
    RoutedNetwork.put16(f, 38, 0x1234);
    RoutedNetwork.put16(f, 40, 1);
    for (int i = 0; i < 16; i++) {
      f[42 + i] = (byte) i;
    }
    RoutedNetwork.put16(f, 36, L4Checksum.finish(L4Checksum.sum(f, 34, 24, 0)));
    return f;
  }

  static boolean ipHeaderOk(byte[] f) {
    return L4Checksum.finish(L4Checksum.sum(f, 14, 20, 0)) == 0;
  }

  @Test
  void theRouterAnswersArpForAnyOtherAddressWithItsOwnMac() {
    a.send(arpRequest(A, IP_A, IP_B));
    assertThat(a.got).hasSize(1);
    byte[] r = a.got.get(0);
    assertThat(LearningSwitch.mac(r, 0)).isEqualTo(A);
    assertThat(RoutedNetwork.u16(r, 20)).isEqualTo(2);
    assertThat(LearningSwitch.mac(r, 22)).isEqualTo(RoutedNetwork.ROUTER_MAC);
    assertThat(RoutedNetwork.u32(r, 28)).isEqualTo(IP_B);
    assertThat(RoutedNetwork.u32(r, 38)).isEqualTo(IP_A);
    // No L2 segment: b hears nothing, and the asker's address is now routed to a.
    assertThat(b.got).isEmpty();
    assertThat(net.addressOf(a)).isEqualTo(IP_A);
    // A probe for one's own address (duplicate address detection) gets no answer.
    a.send(arpRequest(A, 0, IP_A));
    assertThat(a.got).hasSize(1);
  }

  @Test
  void aPingIsRoutedWithNewMacsALowerTtlAndAGoodHeaderChecksum() {
    a.send(arpRequest(A, IP_A, IP_B));
    b.send(arpRequest(B, IP_B, IP_A));
    byte[] p = ping(A, IP_A, IP_B, 64);
    a.send(p);
    assertThat(b.got).hasSize(2);
    byte[] r = b.got.get(1);
    assertThat(LearningSwitch.mac(r, 0)).isEqualTo(B);
    assertThat(LearningSwitch.mac(r, 6)).isEqualTo(RoutedNetwork.ROUTER_MAC);
    assertThat(r[22]).isEqualTo((byte) 63);
    assertThat(ipHeaderOk(r)).isTrue();
    assertThat(java.util.Arrays.copyOfRange(r, 34, r.length))
        .isEqualTo(java.util.Arrays.copyOfRange(p, 34, p.length));
    assertThat(net.stats().routed).isEqualTo(1);
  }

  @Test
  void theGatewayAddressAnswersEcho() {
    a.send(ping(A, IP_A, RoutedNetwork.ROUTER_IP, 64));
    assertThat(a.got).hasSize(1);
    byte[] r = a.got.get(0);
    assertThat(r[34]).isEqualTo((byte) 0);
    assertThat(RoutedNetwork.u32(r, 26)).isEqualTo(RoutedNetwork.ROUTER_IP);
    assertThat(RoutedNetwork.u32(r, 30)).isEqualTo(IP_A);
    assertThat(ipHeaderOk(r)).isTrue();
    assertThat(L4Checksum.finish(L4Checksum.sum(r, 34, 24, 0))).isZero();
  }

  @Test
  void spoofedSourcesUnroutedDestinationsAndExpiringTtlsAreDropped() {
    a.send(arpRequest(A, IP_A, IP_B));
    b.send(arpRequest(B, IP_B, IP_A));
    // a claims b's address: dropped.
    a.send(ping(A, IP_B, IP_B, 64));
    assertThat(net.stats().spoofed).isEqualTo(1);
    a.send(ping(A, IP_A, RoutedNetwork.parseIp("10.0.3.99"), 64));
    assertThat(net.stats().noRoute).isEqualTo(1);
    a.send(ping(A, IP_A, IP_B, 1));
    assertThat(net.stats().ttlExpired).isEqualTo(1);
    assertThat(b.got).hasSize(1); // only the ARP reply to its own request
  }

  @Test
  void aConfiguredAddressIsRoutedBeforeTheGuestSpeaks() {
    net.route(b, IP_B, B);
    a.send(ping(A, IP_A, IP_B, 64));
    assertThat(b.got).hasSize(1);
    assertThatThrownBy(() -> net.route(a, IP_B, A)).hasMessageContaining("already routed");
    // b's address cannot be claimed by a guest either.
    TestPort c = new TestPort("vif3.0");
    net.connect(c);
    c.send(arpRequest(0x00163e000003L, IP_B, IP_A));
    assertThat(net.addressOf(c)).isZero();
  }

  @Test
  void dottedQuadsParseOrAreRefused() {
    assertThat(RoutedNetwork.parseIp("10.0.3.1")).isEqualTo(RoutedNetwork.ROUTER_IP);
    assertThat(RoutedNetwork.ipText(0xC0A80101)).isEqualTo("192.168.1.1");
    assertThatThrownBy(() -> RoutedNetwork.parseIp("10.0.3")).hasMessageContaining("IPv4");
    assertThatThrownBy(() -> RoutedNetwork.parseIp("10.0.3.256")).hasMessageContaining("IPv4");
  }
}
