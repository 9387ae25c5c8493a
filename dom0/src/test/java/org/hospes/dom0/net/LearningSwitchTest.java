package org.hospes.dom0.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LearningSwitchTest {
  static final long A = 0x00163e000001L;
  static final long B = 0x00163e000002L;
  static final long C = 0x00163e000003L;
  static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

  long now;
  final LearningSwitch sw = new LearningSwitch("bridge:t", true, () -> now);
  final TestPort a = new TestPort("a");
  final TestPort b = new TestPort("b");
  final TestPort c = new TestPort("c");

  LearningSwitchTest() {
    sw.connect(a);
    sw.connect(b);
    sw.connect(c);
  }

  @Test
  void unknownDestinationsAndBroadcastsFloodEveryOtherPort() {
    a.send(TestPort.frame(B, A, 1));
    assertThat(a.got).isEmpty();
    assertThat(b.got).hasSize(1);
    assertThat(c.got).hasSize(1);
    b.send(TestPort.frame(BROADCAST, B, 2));
    assertThat(a.got).hasSize(1);
    assertThat(c.got).hasSize(2);
    assertThat(b.got).hasSize(1);
    assertThat(sw.stats().flooded).isEqualTo(2);
  }

  @Test
  void aLearnedAddressGetsItsFramesAloneAndTheFrameIsUnchanged() {
    b.send(TestPort.frame(BROADCAST, B, 1));
    a.got.clear();
    c.got.clear();
    byte[] f = TestPort.frame(B, A, 7);
    a.send(f);
    assertThat(b.got).hasSize(1);
    assertThat(b.got.get(0)).isEqualTo(f);
    assertThat(c.got).isEmpty();
    assertThat(sw.portOf(B)).isSameAs(b);
    assertThat(sw.portOf(A)).isSameAs(a);
    assertThat(sw.stats().forwarded).isEqualTo(1);
  }

  @Test
  void aFrameForAnAddressOnItsOwnPortIsFiltered() {
    a.send(TestPort.frame(BROADCAST, A, 1));
    a.send(TestPort.frame(A, C, 2));
    assertThat(a.got).isEmpty();
    assertThat(sw.stats().filtered).isEqualTo(1);
  }

  @Test
  void addressesAgeOutAfterThreeHundredVirtualSeconds() {
    b.send(TestPort.frame(BROADCAST, B, 1));
    now = LearningSwitch.AGEING_NANOS;
    a.send(TestPort.frame(B, A, 2));
    assertThat(c.got).hasSize(1); // only the broadcast
    now = 2 * LearningSwitch.AGEING_NANOS + 1;
    a.send(TestPort.frame(B, A, 3));
    assertThat(c.got).hasSize(2); // B aged out: flooded again
    assertThat(sw.portOf(B)).isNull();
  }

  @Test
  void anAddressThatMovesIsFollowed() {
    b.send(TestPort.frame(BROADCAST, B, 1));
    c.send(TestPort.frame(BROADCAST, B, 2));
    a.send(TestPort.frame(B, A, 3));
    assertThat(c.got.get(c.got.size() - 1)[14]).isEqualTo((byte) 3);
    assertThat(sw.portOf(B)).isSameAs(c);
  }

  @Test
  void multicastSourcesAreNotLearnedAndRuntsAreDropped() {
    a.send(TestPort.frame(BROADCAST, 0x0100_5e00_0001L, 1));
    assertThat(sw.portOf(0x0100_5e00_0001L)).isNull();
    a.sink.send(a, new byte[10], 0, 10);
    assertThat(sw.stats().dropped).isEqualTo(1);
  }

  @Test
  void aDisconnectedPortGetsNothingAndIsForgotten() {
    b.send(TestPort.frame(BROADCAST, B, 1));
    sw.disconnect(b);
    a.send(TestPort.frame(B, A, 2));
    assertThat(b.got).isEmpty();
    assertThat(c.got).hasSize(2);
    assertThat(b.sink).isNull();
  }

  @Test
  void anIsolatedNetworkRefusesUplinksAndABridgeTakesThem() {
    LearningSwitch iso = new LearningSwitch("isolated:x", false, () -> 0);
    assertThatThrownBy(() -> iso.connectUplink(new TestPort("gw")))
        .hasMessageContaining("isolated");
    TestPort gw = new TestPort("gw");
    sw.connectUplink(gw);
    a.send(TestPort.frame(BROADCAST, A, 1));
    assertThat(gw.got).hasSize(1);
  }

  @Test
  void manyAddressesFillTheTableWithoutBreakingForwarding() {
    for (int i = 0; i < LearningSwitch.TABLE_SIZE + 100; i++) {
      a.send(TestPort.frame(BROADCAST, 0x020000000000L + i, 1));
    }
    assertThat(sw.addresses()).isEqualTo(LearningSwitch.TABLE_SIZE);
    b.send(TestPort.frame(0x020000000000L + 5, B, 2));
    assertThat(a.got).hasSize(1);
    // Once they age out, new addresses are learned again.
    now = 2 * LearningSwitch.AGEING_NANOS;
    c.send(TestPort.frame(BROADCAST, C, 3));
    assertThat(sw.portOf(C)).isSameAs(c);
  }
}
