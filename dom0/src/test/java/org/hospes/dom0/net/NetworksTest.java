package org.hospes.dom0.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.function.LongSupplier;
import org.hospes.dom0.net.Networks.NetRef;
import org.junit.jupiter.api.Test;

class NetworksTest {
  final Networks nets = new Networks(() -> 0);

  @Test
  void theSameNameIsTheSameNetworkAndKindsAreWhatTheySay() throws Exception {
    Network br0 = nets.network(NetRef.parse("bridge:br0"));
    assertThat(nets.network(NetRef.parse("bridge:br0"))).isSameAs(br0);
    assertThat(nets.network(NetRef.parse("bridge:br1"))).isNotSameAs(br0);
    assertThat(br0).isInstanceOf(LearningSwitch.class);
    assertThat(nets.network(NetRef.parse("isolated:lab"))).isInstanceOf(LearningSwitch.class);
    assertThat(nets.network(NetRef.parse("routed"))).isInstanceOf(RoutedNetwork.class);
    assertThat(nets.names()).containsExactly("bridge", "isolated", "nat", "routed");
    assertThat(nets.networks()).containsOnlyKeys("bridge:br0", "bridge:br1", "isolated:lab",
        "routed");
  }

  @Test
  void natIsASwitchWithTheGatewayAsUplinkAnsweringArpForTenZeroTwoTwo() throws Exception {
    Network nat = nets.network(NetRef.parse("nat"));
    try {
      assertThat(nat).isInstanceOf(NatTopology.NatNetwork.class);
      TestPort g = new TestPort("vif1.0");
      nat.connect(g);
      g.send(RoutedNetworkTest.arpRequest(0x00163e000001L, 0x0A00020F, 0x0A000202));
      assertThat(g.got).hasSize(1);
      assertThat(RoutedNetwork.u16(g.got.get(0), 20)).isEqualTo(2);
      assertThat(RoutedNetwork.u32(g.got.get(0), 28)).isEqualTo(0x0A000202);
    } finally {
      nets.close();
    }
  }

  @Test
  void badNetValuesGetOneLineReasons() {
    assertThatThrownBy(() -> nets.network(NetRef.parse("bridge")))
        .hasMessageContaining("write bridge:NAME");
    assertThatThrownBy(() -> nets.network(NetRef.parse("routed:x")))
        .hasMessageContaining("write net=routed");
    assertThatThrownBy(() -> nets.network(NetRef.parse("vlan:3")))
        .hasMessageContaining("unknown topology 'vlan'; known: bridge, isolated, nat, routed");
    assertThatThrownBy(() -> NetRef.parse("Bridge:x")).hasMessageContaining("topology name");
    assertThatThrownBy(() -> NetRef.parse("bridge:a b")).hasMessageContaining("network name");
  }

  @Test
  void aPluginTopologyIsFoundByNameButCannotReplaceABuiltIn() throws Exception {
    Topology hub = new Topology() {
      @Override
      public String name() {
        return "hub";
      }

      @Override
      public boolean named() {
        return false;
      }

      @Override
      public String describe() {
        return "hub  floods everything";
      }

      @Override
      public Network create(String name, LongSupplier nanos) {
        return new LearningSwitch("hub", true, () -> Long.MAX_VALUE);
      }
    };
    Networks withHub = new Networks(Map.of("hub", hub, "bridge", hub), () -> 0);
    assertThat(withHub.network(NetRef.parse("hub")).name()).isEqualTo("hub");
    assertThat(withHub.network(NetRef.parse("bridge:x")).name()).isEqualTo("bridge:x");
  }
}
