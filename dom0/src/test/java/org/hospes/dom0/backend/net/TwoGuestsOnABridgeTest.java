package org.hospes.dom0.backend.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.net.CapturedPort;
import org.hospes.dom0.net.LearningSwitch;
import org.hospes.dom0.net.Network;
import org.hospes.dom0.net.Networks;
import org.hospes.dom0.net.PcapWriter;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two guests' netfronts, their vifs on one bridge, one of them captured: frames cross. */
class TwoGuestsOnABridgeTest {
  @TempDir
  Path dir;

  @Test
  void aFrameFromOneGuestReachesTheOtherAndTheCaptureHoldsBothDirections() throws Exception {
    NetTestbed bed = new NetTestbed();
    Domain g2 = bed.hv.createHvmDomain("g2", DomainMode.PVH, 4);
    String mac2 = "00:16:3e:00:00:02";
    VifNodes.create(bed.xs, g2.domid(), 0, mac2, "br0");
    VifBackend vif2 = VifBackend.start(bed.xs, bed.hv.control(), bed.hv.costModel(),
        g2.domid(), 0, mac2);
    JavaNetfront front2 = new JavaNetfront(bed.hv, bed.xs, g2, 0);
    Networks nets = new Networks(bed.hv::now);
    Network br0 = nets.network(Networks.NetRef.parse("bridge:br0"));
    Path file = dir.resolve("vif1.pcap");
    PcapWriter pcap = PcapWriter.create(file, bed.hv::now);
    br0.connect(new CapturedPort(bed.backend, pcap));
    br0.connect(vif2);
    assertThat(bed.front.connect()).isEqualTo(XenbusState.CONNECTED);
    assertThat(front2.connect()).isEqualTo(XenbusState.CONNECTED);

    // g2 broadcasts (the switch learns it), then g1 sends to g2's MAC.
    byte[] hello = NetTestbed.frame(60, 1);
    hello[0] = (byte) 0xFF;
    hello[1] = (byte) 0xFF;
    hello[2] = (byte) 0xFF;
    hello[3] = (byte) 0xFF;
    hello[4] = (byte) 0xFF;
    hello[5] = (byte) 0xFF;
    System.arraycopy(new byte[] {0, 0x16, 0x3e, 0, 0, 2}, 0, hello, 6, 6);
    front2.send(hello, 0);
    byte[] toG2 = NetTestbed.frame(1514, 2);
    System.arraycopy(new byte[] {0, 0x16, 0x3e, 0, 0, 2}, 0, toG2, 0, 6);
    System.arraycopy(new byte[] {0, 0x16, 0x3e, 0, 0, 1}, 0, toG2, 6, 6);
    bed.front.poll();
    bed.front.send(toG2, 0);
    front2.poll();
    assertThat(front2.takeReceived()).extracting(JavaNetfront.RxPacket::data)
        .containsExactly(toG2);
    assertThat(bed.front.takeReceived()).extracting(JavaNetfront.RxPacket::data)
        .containsExactly(hello);
    assertThat(((LearningSwitch) br0).stats().forwarded).isEqualTo(1);
    pcap.close();
    // The header, then the broadcast into vif1 and g1's frame out of it.
    assertThat(Files.size(file)).isEqualTo(24 + 16 + 60 + 16 + 1514);
  }
}
