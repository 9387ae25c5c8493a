package org.hospes.dom0.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PcapWriterTest {
  @TempDir
  Path dir;

  long now;

  @Test
  void aCaptureWithNoFramesIsAValidFileBeforeItIsClosed() throws Exception {
    // The trial: run --vif ...,pcap=eth0.pcap with a guest that sent nothing left a zero-byte
    // file ("tcpdump: truncated dump file"), the header still in the writer's buffer.
    Path file = dir.resolve("none.pcap");
    PcapWriter pcap = PcapWriter.create(file, () -> now);
    ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(h.capacity()).isEqualTo(24);
    assertThat(h.getInt(0)).isEqualTo(PcapWriter.MAGIC);
    assertThat(h.getInt(20)).isEqualTo(PcapWriter.LINKTYPE_ETHERNET);
    pcap.close();
  }

  @Test
  void aCapturedPortWritesBothDirectionsAsLibpcapLinktype1() throws Exception {
    Path file = dir.resolve("a.pcap");
    LearningSwitch sw = new LearningSwitch("bridge:t", true, () -> now);
    TestPort a = new TestPort("a");
    TestPort b = new TestPort("b");
    PcapWriter pcap = PcapWriter.create(file, () -> now);
    sw.connect(new CapturedPort(a, pcap));
    sw.connect(b);
    now = 1_500_000_000L; // 1.5 s
    byte[] out = RoutedNetworkTest.arpRequest(0x00163e000001L, 0x0A000305, 0x0A000306);
    a.send(out);
    now = 2_000_001_000L;
    byte[] in = RoutedNetworkTest.ping(0x00163e000002L, 0x0A000306, 0x0A000305, 64);
    b.send(in);
    pcap.close();
    assertThat(b.got).hasSize(1);
    assertThat(a.got).hasSize(1);

    ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(bb.getInt()).isEqualTo(0xa1b2c3d4);
    assertThat(bb.getShort()).isEqualTo((short) 2);
    assertThat(bb.getShort()).isEqualTo((short) 4);
    assertThat(bb.getInt()).isZero();
    assertThat(bb.getInt()).isZero();
    assertThat(bb.getInt()).isEqualTo(65535);
    assertThat(bb.getInt()).isEqualTo(1);
    List<long[]> stamps = new ArrayList<>();
    List<byte[]> frames = new ArrayList<>();
    while (bb.hasRemaining()) {
      long sec = bb.getInt();
      long usec = bb.getInt();
      int incl = bb.getInt();
      int orig = bb.getInt();
      assertThat(incl).isEqualTo(orig);
      byte[] f = new byte[incl];
      bb.get(f);
      stamps.add(new long[] {sec, usec});
      frames.add(f);
    }
    assertThat(frames).containsExactly(out, in);
    assertThat(stamps.get(0)).containsExactly(1, 500_000);
    assertThat(stamps.get(1)).containsExactly(2, 1);
  }

  @Test
  void tcpdumpReadsTheFile() throws Exception {
    Path file = dir.resolve("t.pcap");
    try (PcapWriter pcap = PcapWriter.create(file, () -> now)) {
      now = 3_000_000_000L;
      byte[] p = RoutedNetworkTest.ping(0x00163e000001L, 0x0A000305, 0x0A000306, 64);
      pcap.write(p, 0, p.length);
      byte[] arp = RoutedNetworkTest.arpRequest(0x00163e000001L, 0x0A000305, 0x0A000306);
      pcap.write(arp, 0, arp.length);
    }
    String text = tcpdump(file);
    org.junit.jupiter.api.Assumptions.assumeTrue(text != null, "tcpdump is not installed");
    assertThat(text).contains("10.0.3.5 > 10.0.3.6: ICMP echo request, id 4660, seq 1");
    assertThat(text).contains("ARP, Request who-has 10.0.3.6 tell 10.0.3.5");
    assertThat(text).doesNotContain("truncated");
  }

  private static String tcpdump(Path file) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder("tcpdump", "-nn", "-tt", "-r", file.toString())
          .redirectErrorStream(true).start();
    } catch (IOException e) {
      return null;
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    return out;
  }
}
