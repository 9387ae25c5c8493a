package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Tcp;
import org.junit.jupiter.api.Test;

/**
 * dom0's HTTP data server on the NAT gateway: a guest's fetch completes inside the gateway's
 * {@code deliver} calls (no {@code poll}, so no host socket and no host timing), the bytes are
 * SplitMix64's, the same run gives the same frames, and bad requests get HTTP's errors.
 */
class DataServerTest {
  static final int GUEST_IP = Addresses.parseIp("10.0.2.15");
  static final long GUEST_MAC = Addresses.parseMac("52:54:00:12:34:56");
  static final int GW = NatConfig.DEFAULT_GATEWAY;

  @Test
  void theBodyIsSplitMix64SeededWithZeroLittleEndian() {
    byte[] b = new byte[19];
    DataServer.content(0, b, 0, b.length);
    // SplitMix64(0)'s first outputs: 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f.
    assertThat(ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0))
        .isEqualTo(0xe220a8397b1dcdafL);
    assertThat(ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(8))
        .isEqualTo(0x6e789e6aa1b965f4L);
    // An unaligned slice is the same bytes.
    byte[] part = new byte[7];
    DataServer.content(5, part, 0, 7);
    assertThat(part).isEqualTo(java.util.Arrays.copyOfRange(b, 5, 12));
    // md5sum of the first 4 MiB, computed with an independent SplitMix64 (Python).
    assertThat(DataServer.md5Hex(4 << 20)).isEqualTo(MD5_4MIB);
  }

  /** A host network that fails every socket: the data server must not need one. */
  static final HostNetwork NO_HOST = new HostNetwork() {
    @Override
    public java.nio.channels.SocketChannel connect(InetSocketAddress to) throws IOException {
      throw new IOException("no host sockets in this test");
    }

    @Override
    public java.nio.channels.DatagramChannel udp(InetSocketAddress to) throws IOException {
      throw new IOException("no host sockets in this test");
    }

    @Override
    public java.nio.channels.ServerSocketChannel listenTcp(InetSocketAddress at)
        throws IOException {
      throw new IOException("no host sockets in this test");
    }

    @Override
    public java.nio.channels.DatagramChannel listenUdp(InetSocketAddress at) throws IOException {
      throw new IOException("no host sockets in this test");
    }
  };

  static final String MD5_4MIB = "d54e33b78c67969fc3626635bd9c64fe";

  /** One fetch by a scripted guest that only delivers frames and reads the inbox: no poll. */
  static List<byte[]> fetchWithoutPolling(NatGateway gw, FakeGuest guest, String request,
      ByteArrayOutputStream body) {
    List<byte[]> frames = new ArrayList<>();
    GuestTcp c = new GuestTcp(guest, 40000, GW, NatConfig.DEFAULT_DATA_PORT, 1000);
    c.send(Tcp.SYN);
    Tcp.Segment synAck = Frames.tcp(take(guest, c, frames));
    assertThat(synAck.flags).isEqualTo(Tcp.SYN | Tcp.ACK_FLAG);
    c.rcvNxt = synAck.seq + 1;
    c.send(Tcp.ACK_FLAG);
    c.write(request.getBytes(StandardCharsets.US_ASCII));
    while (!c.peerFin) {
      Tcp.Segment s = Frames.tcp(take(guest, c, frames));
      assertThat(s.has(Tcp.RST)).as("RST").isFalse();
      c.accept(s);
    }
    c.send(Tcp.FIN | Tcp.ACK_FLAG);
    body.writeBytes(c.received.toByteArray());
    return frames;
  }

  private static byte[] take(FakeGuest guest, GuestTcp c, List<byte[]> frames) {
    byte[] f = guest.inbox.stream().filter(c.mine()).findFirst().orElse(null);
    assertThat(f).as("a frame from the gateway without a poll").isNotNull();
    guest.inbox.remove(f);
    frames.add(f);
    return f;
  }

  @Test
  void aGuestFetchesGeneratedBytesWithinItsOwnFramesDeliveryInVirtualTime() throws IOException {
    List<List<byte[]>> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      try (NatGateway gw = new NatGateway("nat0", NatConfig.defaults(), () -> 0,
          NO_HOST)) {
        FakeGuest guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        runs.add(fetchWithoutPolling(gw, guest, "GET /data/300001 HTTP/1.1\r\nHost: 10.0.2.2\r\n"
            + "User-Agent: Wget\r\nConnection: close\r\n\r\n", got));
        String s = got.toString(StandardCharsets.ISO_8859_1);
        int end = s.indexOf("\r\n\r\n");
        assertThat(s.substring(0, end)).startsWith("HTTP/1.1 200 OK\r\n")
            .contains("Content-Length: 300001").contains("Connection: close");
        byte[] body = java.util.Arrays.copyOfRange(got.toByteArray(), end + 4, got.size());
        byte[] want = new byte[300001];
        DataServer.content(0, want, 0, want.length);
        assertThat(body).isEqualTo(want);
        assertThat(gw.stats().dataServed()).isEqualTo(1);
        assertThat(gw.stats().retransmissions()).isZero();
      }
    }
    assertThat(runs.get(1)).hasSameSizeAs(runs.get(0));
    for (int i = 0; i < runs.get(0).size(); i++) {
      assertThat(runs.get(1).get(i)).as("frame %d", i).isEqualTo(runs.get(0).get(i));
    }
  }

  @Test
  void theDataPortShadowsTheHostsLoopbackAndPortZeroTurnsItOff() throws IOException {
    AtomicInteger hostRequests = new AtomicInteger();
    HttpServer http = HttpServer.create(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext("/", ex -> {
      hostRequests.incrementAndGet();
      byte[] b = "host\n".getBytes(StandardCharsets.US_ASCII);
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    http.start();
    int port = http.getAddress().getPort();
    try (NatGateway gw = new NatGateway("nat0", NatConfig.defaults().withDataPort(port),
        () -> 0)) {
      FakeGuest guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
      GuestTcp c = new GuestTcp(guest, 40001, GW, port, 5);
      c.connect();
      c.write("GET /data/10 HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(new String(c.readToEnd(), StandardCharsets.ISO_8859_1))
          .contains("Content-Length: 10");
      assertThat(hostRequests.get()).isZero();
    }
    try (NatGateway gw = new NatGateway("nat0", NatConfig.defaults().withDataPort(0),
        () -> 0)) {
      FakeGuest guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
      GuestTcp c = new GuestTcp(guest, 40002, GW, port, 5);
      c.connect();
      c.write("GET /data/10 HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(new String(c.readToEnd(), StandardCharsets.ISO_8859_1)).endsWith("host\n");
      assertThat(hostRequests.get()).isEqualTo(1);
      assertThat(gw.stats().dataServed()).isZero();
    } finally {
      http.stop(0);
    }
  }

  /** The whole response a fresh server gives to {@code request} then the guest's FIN. */
  static String exchange(String request) {
    DataServer s = new DataServer();
    assertThat(s.finishConnect()).isTrue();
    ByteBuffer in = ByteBuffer.wrap(request.getBytes(StandardCharsets.ISO_8859_1));
    while (in.hasRemaining()) {
      assertThat(s.write(in)).isPositive();
    }
    s.shutdownOutput();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer buf = ByteBuffer.allocate(1000);
    for (int n; (n = s.read(buf.clear())) >= 0; ) {
      assertThat(n).as("the server has its answer at once").isPositive();
      out.write(buf.array(), 0, n);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void requestsItCannotServeGetHttpErrors() {
    assertThat(exchange("GET /data/4K HTTP/1.1\r\n\r\n")).contains("Content-Length: 4096\r\n")
        .hasSize(4096 + exchange("HEAD /data/4K HTTP/1.1\r\n\r\n").length());
    assertThat(exchange("HEAD /data/4K HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 200 OK\r\n")
        .contains("Content-Length: 4096\r\n").endsWith("\r\n\r\n");
    assertThat(exchange("GET /data/2m HTTP/1.1\n\n")).contains("Content-Length: 2097152\r\n");
    assertThat(exchange("GET / HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 200 OK")
        .contains("GET /data/N");
    assertThat(exchange("GET /etc/passwd HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 404 ");
    assertThat(exchange("POST /data/1 HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 405 ")
        .contains("Allow: GET, HEAD\r\n");
    assertThat(exchange("GET /data/2G HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 400 ");
    assertThat(exchange("GET /data/-1 HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 400 ");
    assertThat(exchange("GET /data/1x HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 400 ");
    assertThat(exchange("GET /data/1\r\n\r\n")).startsWith("HTTP/1.1 400 ");
    assertThat(exchange("GET /data/1 HTTP/1.1\r\nHost: x\r\n")).as("FIN before the end")
        .startsWith("HTTP/1.1 400 ");
    assertThat(exchange("GET /data/1 HTTP/1.1\r\nX: " + "a".repeat(9000) + "\r\n\r\n"))
        .startsWith("HTTP/1.1 431 ");
    assertThat(DataServer.parseSize("1G")).isEqualTo(DataServer.MAX_BYTES);
    assertThat(DataServer.parseSize("1073741825")).isEqualTo(-1);
    assertThat(DataServer.parseSize("99999999999999")).isEqualTo(-1);
    assertThat(DataServer.parseSize("K")).isEqualTo(-1);
  }
}
