package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.hospes.dom0.net.packet.Addresses;
import org.junit.jupiter.api.Test;

class NatConfigTest {

  @Test
  void theDefaultsAreQemuUserNetworkings() {
    NatConfig c = NatConfig.defaults();
    assertThat(Addresses.formatIp(c.network())).isEqualTo("10.0.2.0");
    assertThat(c.prefixLength()).isEqualTo(24);
    assertThat(Addresses.formatIp(c.gatewayIp())).isEqualTo("10.0.2.2");
    assertThat(Addresses.formatMac(c.gatewayMac())).isEqualTo("52:55:0a:00:02:02");
    assertThat(Addresses.formatIp(c.dhcpStart())).isEqualTo("10.0.2.15");
    assertThat(Addresses.formatIp(c.broadcast())).isEqualTo("10.0.2.255");
    assertThat(c.leaseSeconds()).isEqualTo(86400);
    assertThat(c.restrict()).isFalse();
    assertThat(c.isGuestAddress(c.gatewayIp())).isFalse();
    assertThat(c.isGuestAddress(Addresses.parseIp("10.0.2.3"))).isTrue();
  }

  @Test
  void portForwardsParseQemusHostfwdSyntax() {
    PortForward f = PortForward.parse("tcp::8080-10.0.2.15:80");
    assertThat(f.protocol()).isEqualTo(PortForward.Protocol.TCP);
    assertThat(f.hostIp()).isEqualTo(PortForward.DEFAULT_HOST_IP);
    assertThat(f.hostPort()).isEqualTo(8080);
    assertThat(Addresses.formatIp(f.guestIp())).isEqualTo("10.0.2.15");
    assertThat(f.guestPort()).isEqualTo(80);
    assertThat(f.toString()).isEqualTo("tcp:127.0.0.1:8080-10.0.2.15:80");
    assertThat(PortForward.parse("UDP:0.0.0.0:53-10.0.2.15:53").protocol())
        .isEqualTo(PortForward.Protocol.UDP);
    assertThatThrownBy(() -> PortForward.parse("sctp::1-10.0.2.15:2"))
        .hasMessageContaining("tcp or udp");
    assertThatThrownBy(() -> PortForward.parse("tcp:8080-10.0.2.15:80"))
        .hasMessageContaining("PROTO:[HOSTADDR]:HOSTPORT-GUESTADDR:GUESTPORT");
    assertThatThrownBy(() -> PortForward.parse("tcp::x-10.0.2.15:80")).hasMessageContaining("bad port");
    assertThatThrownBy(() -> PortForward.parse("tcp::1-10.0.2.15:0"))
        .hasMessageContaining("guest port");
  }

  @Test
  void inconsistentConfigsAreRejectedWithOneLineMessages() {
    NatConfig d = NatConfig.defaults();
    assertThatThrownBy(() -> new NatConfig(d.network(), 24, Addresses.parseIp("10.0.3.2"),
        d.gatewayMac(), d.dhcpStart(), 3600, false, List.of(), 0, 80))
        .hasMessageContaining("not a host address");
    assertThatThrownBy(() -> new NatConfig(d.network() | 1, 24, d.gatewayIp(), d.gatewayMac(),
        d.dhcpStart(), 3600, false, List.of(), 0, 80)).hasMessageContaining("host bits");
    assertThatThrownBy(() -> new NatConfig(d.network(), 24, d.gatewayIp(), 0x0100_0000_0001L,
        d.dhcpStart(), 3600, false, List.of(), 0, 80)).hasMessageContaining("unicast");
    assertThatThrownBy(() -> d.withForwards(List.of(PortForward.parse("tcp::1-10.0.9.1:2"))))
        .hasMessageContaining("guest address");
    assertThatThrownBy(() -> d.withLeaseSeconds(5)).hasMessageContaining("lease");
    assertThatThrownBy(() -> d.withDataPort(65536)).hasMessageContaining("data server port");
  }
}
