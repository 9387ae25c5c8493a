package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Arp;
import org.hospes.dom0.net.packet.Bytes;
import org.hospes.dom0.net.packet.Checksum;
import org.hospes.dom0.net.packet.Dhcp;
import org.hospes.dom0.net.packet.DhcpMessageType;
import org.hospes.dom0.net.packet.Ethernet;
import org.hospes.dom0.net.packet.Icmp;
import org.hospes.dom0.net.packet.IpProtocol;
import org.hospes.dom0.net.packet.Ipv4;
import org.hospes.dom0.net.packet.Tcp;
import org.hospes.dom0.net.packet.Udp;
import org.hospes.hv.testing.TestProperties;
import org.junit.jupiter.api.Test;

/**
 * Hostile guests: 100,000 seeded random and mutated frames into {@link NatGateway#deliver}, with
 * the gateway polled and virtual time advanced between them. Half of the mutated frames get their
 * IPv4 and transport checksums recomputed after mutation, so that the damage reaches the
 * parsers behind the checksum checks (truncated options, absurd TCP option lengths, lengths that
 * disagree with the frame). Real host sockets are behind it, but only to two loopback test
 * servers: every other connect is refused by the test's {@link HostNetwork}. The gateway must
 * never throw, every frame it emits must be well formed (checked independently), and afterwards
 * it must still answer ARP and ping.
 */
class NatGatewayFuzzTest {

  static final long SEED = TestProperties.longValue("hospes.fuzz.seed", 0x5eed_0a7L);
  static final int FRAMES = TestProperties.count("hospes.fuzz.frames", 100_000);
  static final int GW = NatConfig.DEFAULT_GATEWAY;
  static final long GW_MAC = NatConfig.DEFAULT_GATEWAY_MAC;

  long now;
  long deliverNanos;
  long pollNanos;

  @Test
  void randomAndMutatedFramesNeverEscapeTheGateway() throws Exception {
    Random rnd = new Random(SEED);
    try (ServerSocketChannel tcpSink = ServerSocketChannel.open();
        DatagramChannel udpEcho = DatagramChannel.open()) {
      tcpSink.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      tcpSink.configureBlocking(false);
      udpEcho.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      udpEcho.configureBlocking(false);
      int tcpPort = ((InetSocketAddress) tcpSink.getLocalAddress()).getPort();
      int udpPort = ((InetSocketAddress) udpEcho.getLocalAddress()).getPort();
      Guarded host = new Guarded(tcpPort, udpPort);
      List<SocketChannel> accepted = new ArrayList<>();
      long[] emitted = new long[1];
      try (NatGateway gw = new NatGateway("nat0", NatConfig.defaults()
          .withForwards(List.of(PortForward.parse("tcp::0-10.0.2.15:80"))), () -> now, host)) {
        gw.attach((SwitchPort from, byte[] f, int off, int len) -> {
          Frames.check(Arrays.copyOfRange(f, off, off + len));
          emitted[0]++;
        });
        byte[][] templates = templates(tcpPort, udpPort);
        byte[] big = new byte[4096];
        int i = 0;
        try {
          for (; i < FRAMES; i++) {
            int kind = rnd.nextInt(10);
            byte[] f;
            if (kind == 0) {
              f = new byte[rnd.nextInt(1600)];
              rnd.nextBytes(f);
              if (f.length >= 14 && rnd.nextBoolean()) {
                Bytes.putMac(f, 0, rnd.nextBoolean() ? GW_MAC : Addresses.BROADCAST_MAC);
                Bytes.put16(f, 12, rnd.nextBoolean() ? Ethernet.TYPE_IPV4 : Ethernet.TYPE_ARP);
              }
            } else {
              f = mutate(templates[rnd.nextInt(templates.length)], rnd, kind);
            }
            long t0 = System.nanoTime();
            if (rnd.nextInt(8) == 0 && f.length < big.length - 64) {
              int off = rnd.nextInt(64);
              System.arraycopy(f, 0, big, off, f.length);
              gw.deliver(big, off, f.length);
            } else {
              gw.deliver(f, 0, f.length);
            }
            long t1 = System.nanoTime();
            deliverNanos += t1 - t0;
            if (i % 64 == 0) {
              now += rnd.nextInt(500_000_000);
              serveHost(tcpSink, udpEcho, accepted, rnd);
              long t2 = System.nanoTime();
              gw.poll();
              pollNanos += System.nanoTime() - t2;
            }
          }
        } catch (Throwable t) {
          fail("seed " + SEED + " frame " + i + ": " + t, t);
        }
        assertThat(emitted[0]).as("the gateway answered some of it").isPositive();
        assertThat(gw.tcpFlows()).isLessThanOrEqualTo(NatGateway.MAX_TCP_FLOWS);
        assertThat(gw.udpFlows()).isLessThanOrEqualTo(NatGateway.MAX_UDP_FLOWS);

        // Still alive: ARP and ping from a fresh guest.
        FakeGuest fresh = new FakeGuest(gw, Addresses.parseMac("52:54:00:77:77:77"),
            Addresses.parseIp("10.0.2.200"));
        fresh.deliver(Arp.frame(Addresses.BROADCAST_MAC, Arp.OP_REQUEST, fresh.mac, fresh.ip, 0,
            GW));
        assertThat(Arp.senderMac(fresh.await(Frames::isArp), Ethernet.HEADER)).isEqualTo(GW_MAC);
        byte[] echo = NatArpIcmpTest.echo(GW, 1, new byte[16]);
        Bytes.putMac(echo, 6, fresh.mac);
        Bytes.put32(echo, Ethernet.HEADER + 12, fresh.ip);
        fixChecksums(echo);
        fresh.deliver(echo);
        assertThat(Ipv4.dst(fresh.await(Frames::isIcmp), Ethernet.HEADER)).isEqualTo(fresh.ip);
      } finally {
        for (SocketChannel s : accepted) {
          s.close();
        }
      }
      System.out.printf("NAT fuzz: seed %#x, %d frames in, host connects allowed %d, refused %d"
          + " (deliver %d ms, poll %d ms)%n", SEED, FRAMES, host.allowed, host.refused,
          deliverNanos / 1_000_000, pollNanos / 1_000_000);
    }
  }

  /** The loopback test servers: accept, read and discard, sometimes answer or close. */
  private static void serveHost(ServerSocketChannel sink, DatagramChannel echo,
      List<SocketChannel> accepted, Random rnd) throws IOException {
    SocketChannel s;
    while ((s = sink.accept()) != null) {
      s.configureBlocking(false);
      accepted.add(s);
    }
    ByteBuffer buf = ByteBuffer.allocate(4096);
    for (var it = accepted.iterator(); it.hasNext(); ) {
      SocketChannel c = it.next();
      buf.clear();
      try {
        int n = c.read(buf);
        if (n < 0 || rnd.nextInt(20) == 0) {
          c.close();
          it.remove();
          continue;
        }
        if (rnd.nextInt(4) == 0) {
          c.write(ByteBuffer.wrap(new byte[1 + rnd.nextInt(3000)]));
        }
      } catch (IOException e) {
        c.close();
        it.remove();
      }
    }
    buf.clear();
    var from = echo.receive(buf);
    if (from != null) {
      buf.flip();
      echo.send(buf, from);
    }
  }

  private static final class Guarded implements HostNetwork {
    final int tcpPort;
    final int udpPort;
    final List<SocketChannel> open = new ArrayList<>();
    long allowed;
    long refused;

    Guarded(int tcpPort, int udpPort) {
      this.tcpPort = tcpPort;
      this.udpPort = udpPort;
    }

    @Override
    public SocketChannel connect(InetSocketAddress to) throws IOException {
      open.removeIf(c -> !c.isOpen());
      if (!to.getAddress().isLoopbackAddress() || to.getPort() != tcpPort || open.size() >= 64) {
        refused++;
        throw new IOException("refused by the test");
      }
      allowed++;
      SocketChannel c = REAL.connect(to);
      open.add(c);
      return c;
    }

    @Override
    public DatagramChannel udp(InetSocketAddress to) throws IOException {
      if (!to.getAddress().isLoopbackAddress() || to.getPort() != udpPort) {
        refused++;
        throw new IOException("refused by the test");
      }
      allowed++;
      return REAL.udp(to);
    }

    @Override
    public ServerSocketChannel listenTcp(InetSocketAddress at) throws IOException {
      return REAL.listenTcp(at);
    }

    @Override
    public DatagramChannel listenUdp(InetSocketAddress at) throws IOException {
      return REAL.listenUdp(at);
    }
  }

  static final long[] MACS = {Addresses.parseMac("52:54:00:00:00:01"),
      Addresses.parseMac("52:54:00:00:00:02")};
  static final int[] IPS = {Addresses.parseIp("10.0.2.15"), Addresses.parseIp("10.0.2.16")};

  private static byte[][] templates(int tcpPort, int udpPort) {
    List<byte[]> t = new ArrayList<>();
    for (int g = 0; g < 2; g++) {
      long mac = MACS[g];
      int ip = IPS[g];
      t.add(Arp.frame(Addresses.BROADCAST_MAC, Arp.OP_REQUEST, mac, ip, 0, GW));
      t.add(Arp.frame(GW_MAC, Arp.OP_REPLY, mac, ip, GW_MAC, GW));
      byte[] echo = NatArpIcmpTest.echo(GW, 1, new byte[40]);
      Bytes.putMac(echo, 6, mac);
      Bytes.put32(echo, Ethernet.HEADER + 12, ip);
      fixChecksums(echo);
      t.add(echo);
      byte[] d = "fuzz".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      t.add(Udp.frame(GW_MAC, mac, 1, ip, 3000 + g, GW, udpPort, d, 0, d.length));
      t.add(NatDhcpTest.udhcpc(mac, DhcpMessageType.DISCOVER, 7, 0, 0, 0, true));
      t.add(NatDhcpTest.udhcpc(mac, DhcpMessageType.REQUEST, 8, 0, ip, GW, true));
      t.add(NatDhcpTest.udhcpc(mac, DhcpMessageType.REQUEST, 9, ip, 0, 0, false));
      for (int port = 40000; port < 40004; port++) {
        t.add(tcp(mac, ip, port, tcpPort, 100, 0, Tcp.SYN, -1, 0));
        t.add(tcp(mac, ip, port, tcpPort, 101, 0, Tcp.ACK_FLAG, 0, 0));
        t.add(tcp(mac, ip, port, tcpPort, 101, 0, Tcp.ACK_FLAG | Tcp.PSH, 0, 300));
        t.add(tcp(mac, ip, port, tcpPort, 101, 0, Tcp.FIN | Tcp.ACK_FLAG, 0, 0));
        t.add(tcp(mac, ip, port, tcpPort, 101, 0, Tcp.RST, 0, 0));
      }
      t.add(tcp(mac, ip, 80, 49152, 5, 0, Tcp.SYN | Tcp.ACK_FLAG, 0, 0));
    }
    return t.toArray(new byte[0][]);
  }

  private static byte[] tcp(long mac, int ip, int sport, int dport, int seq, int ack, int flags,
      int mss, int dataLen) {
    return Tcp.frame(GW_MAC, mac, 1, ip, sport, GW, dport, seq, ack, flags, 8192,
        (flags & Tcp.SYN) != 0 ? 1460 : mss < 0 ? -1 : -1, new byte[dataLen], 0, dataLen);
  }

  private static byte[] mutate(byte[] template, Random rnd, int kind) {
    byte[] f = template.clone();
    int ip = Ethernet.HEADER;
    boolean tcp = Frames.isTcp(f);
    switch (kind) {
      case 1, 2, 3 -> {
        int flips = 1 + rnd.nextInt(6);
        for (int k = 0; k < flips; k++) {
          f[rnd.nextInt(f.length)] = (byte) rnd.nextInt(256);
        }
      }
      case 4 -> f = Arrays.copyOf(f, rnd.nextInt(f.length + 1));
      case 5 -> {
        if (tcp) {
          // Absurd options: a random data offset and random option bytes.
          int t = ip + 20;
          f = Arrays.copyOf(f, f.length + 40);
          Bytes.put16(f, ip + 2, Bytes.u16(f, ip + 2) + 40);
          Bytes.put8(f, t + 12, (5 + rnd.nextInt(11)) << 4);
          for (int k = 20; k < 60; k++) {
            f[t + k] = (byte) (rnd.nextInt(4) == 0 ? rnd.nextInt(4) : rnd.nextInt(256));
          }
        } else {
          f[ip + rnd.nextInt(Math.max(1, f.length - ip))] = (byte) rnd.nextInt(256);
        }
      }
      case 6 -> {
        // Length fields that lie.
        if (f.length > ip + 28) {
          int which = rnd.nextInt(3);
          int at = which == 0 ? ip + 2 : which == 1 ? ip + 24 : ip;
          Bytes.put16(f, at, rnd.nextInt(65536));
        }
      }
      case 7 -> {
        // Random TCP sequence space and flags on an otherwise valid segment.
        if (tcp) {
          Bytes.put32(f, ip + 24, rnd.nextInt());
          Bytes.put32(f, ip + 28, rnd.nextInt());
          Bytes.put8(f, ip + 33, rnd.nextInt(64));
          Bytes.put16(f, ip + 34, rnd.nextInt(65536));
        } else if (Frames.isUdp(f) && f.length > ip + 28 + Dhcp.OPTIONS) {
          // DHCP: garbage options.
          for (int k = ip + 28 + Dhcp.OPTIONS; k < f.length; k++) {
            f[k] = (byte) rnd.nextInt(256);
          }
        }
      }
      default -> {
        int flips = 1 + rnd.nextInt(3);
        for (int k = 0; k < flips && f.length > ip; k++) {
          f[ip + rnd.nextInt(f.length - ip)] = (byte) rnd.nextInt(256);
        }
      }
    }
    if (rnd.nextBoolean()) {
      fixChecksums(f);
    }
    return f;
  }

  /** Recomputes the IPv4 header and TCP/UDP/ICMP checksums where the lengths allow it. */
  static void fixChecksums(byte[] f) {
    int ip = Ethernet.HEADER;
    if (f.length < ip + 20 || Ethernet.type(f, 0) != Ethernet.TYPE_IPV4) {
      return;
    }
    int ihl = (f[ip] & 15) * 4;
    if (ihl < 20 || ip + ihl > f.length) {
      return;
    }
    Bytes.put16(f, ip + 10, 0);
    Bytes.put16(f, ip + 10, Checksum.of(f, ip, ihl));
    int total = Bytes.u16(f, ip + 2);
    if (total < ihl || ip + total > f.length) {
      return;
    }
    int t = ip + ihl;
    int len = total - ihl;
    int proto = f[ip + 9] & 0xff;
    int src = Ipv4.src(f, ip);
    int dst = Ipv4.dst(f, ip);
    if (proto == IpProtocol.TCP.code() && len >= 20) {
      Bytes.put16(f, t + Tcp.CHECKSUM, 0);
      Bytes.put16(f, t + Tcp.CHECKSUM, Checksum.finish(
          Checksum.add(Checksum.pseudoHeader(src, dst, 6, len), f, t, len)));
    } else if (proto == IpProtocol.UDP.code() && len >= 8) {
      int ulen = Math.min(Bytes.u16(f, t + 4), len);
      Bytes.put16(f, t + Udp.CHECKSUM, 0);
      Bytes.put16(f, t + Udp.CHECKSUM, Checksum.finish(
          Checksum.add(Checksum.pseudoHeader(src, dst, 17, ulen), f, t, ulen)));
    } else if (proto == IpProtocol.ICMP.code() && len >= 8) {
      Bytes.put16(f, t + Icmp.CHECKSUM, 0);
      Bytes.put16(f, t + Icmp.CHECKSUM, Checksum.of(f, t, len));
    }
  }
}
