package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NatTcpTest {

  static final int GUEST_IP = Addresses.parseIp("10.0.2.15");
  static final long GUEST_MAC = Addresses.parseMac("52:54:00:12:34:56");
  static final int GW = NatConfig.DEFAULT_GATEWAY;

  long now;
  NatGateway gw;
  FakeGuest guest;
  HttpServer http;
  byte[] page;

  @BeforeEach
  void setUp() throws IOException {
    gw = new NatGateway("nat0", NatConfig.defaults(), () -> now);
    guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
    page = new byte[9000];
    new Random(7).nextBytes(page);
    http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext("/file", ex -> {
      ex.sendResponseHeaders(200, page.length);
      try (OutputStream o = ex.getResponseBody()) {
        o.write(page);
      }
    });
    http.start();
  }

  @AfterEach
  void tearDown() {
    http.stop(0);
    gw.close();
  }

  int httpPort() {
    return http.getAddress().getPort();
  }

  static byte[] body(byte[] response) {
    String s = new String(response, StandardCharsets.ISO_8859_1);
    int i = s.indexOf("\r\n\r\n");
    assertThat(i).as("HTTP header end").isPositive();
    assertThat(s).startsWith("HTTP/1.1 200");
    return java.util.Arrays.copyOfRange(response, i + 4, response.length);
  }

  @Test
  void guestFetchesAPageFromTheHostLoopbackThroughTheGatewayAddress() {
    GuestTcp c = new GuestTcp(guest, 40000, GW, httpPort(), 1000);
    Tcp.Segment synAck = c.connect();
    assertThat(synAck.mss).as("gateway's MSS option").isEqualTo(1460);
    c.write("GET /file HTTP/1.0\r\nHost: 10.0.2.2\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    byte[] got = c.readToEnd();
    assertThat(body(got)).isEqualTo(page);
    c.send(Tcp.FIN | Tcp.ACK_FLAG);
    // The gateway ACKs our FIN, then forgets the connection after TIME_WAIT.
    Tcp.Segment ack = Frames.tcp(guest.await(c.mine()));
    assertThat(ack.ack).isEqualTo(c.sndNxt);
    now += TcpConnection.TIME_WAIT_NANOS;
    gw.poll();
    assertThat(gw.tcpFlows()).isZero();
  }

  @Test
  void segmentsRespectTheGuestsMssAndWindow() {
    GuestTcp c = new GuestTcp(guest, 40001, GW, httpPort(), 5);
    c.mss = 536;
    c.window = 1000;
    c.connect();
    c.write("GET /file HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    int maxInFlight = 0;
    while (!c.peerFin) {
      // Take everything the gateway sends before ACKing: what is in flight never exceeds 1000.
      Tcp.Segment first = Frames.tcp(guest.await(c.mine()));
      int inFlight = first.dataLen;
      assertThat(first.dataLen).isLessThanOrEqualTo(536);
      java.util.List<Tcp.Segment> batch = new java.util.ArrayList<>();
      batch.add(first);
      while (true) {
        byte[] f = guest.inbox.stream().filter(c.mine()).findFirst().orElse(null);
        if (f == null) {
          gw.poll();
          f = guest.inbox.stream().filter(c.mine()).findFirst().orElse(null);
          if (f == null) {
            break;
          }
        }
        guest.inbox.remove(f);
        Tcp.Segment s = Frames.tcp(f);
        assertThat(s.dataLen).isLessThanOrEqualTo(536);
        inFlight += s.dataLen;
        batch.add(s);
      }
      maxInFlight = Math.max(maxInFlight, inFlight);
      assertThat(inFlight).isLessThanOrEqualTo(1000);
      for (Tcp.Segment s : batch) {
        c.accept(s);
      }
    }
    assertThat(body(c.received.toByteArray())).isEqualTo(page);
    assertThat(maxInFlight).isPositive();
  }

  @Test
  void aConnectToAClosedHostPortIsRefusedWithRst() throws IOException {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    GuestTcp c = new GuestTcp(guest, 40002, GW, closed, 77);
    Tcp.Segment rst = c.connect();
    assertThat(rst.flags).isEqualTo(Tcp.RST | Tcp.ACK_FLAG);
    assertThat(rst.ack).isEqualTo(78);
    assertThat(gw.tcpFlows()).isZero();
  }

  @Test
  void unackedDataIsRetransmittedAfterTheRtoInVirtualTime() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      GuestTcp c = new GuestTcp(guest, 40003, GW, server.getLocalPort(), 100);
      c.connect();
      try (Socket s = server.accept()) {
        s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
        Tcp.Segment first = Frames.tcp(guest.await(c.mine()));
        assertThat(first.dataLen).isEqualTo(5);
        // Not ACKed. Nothing more before the RTO...
        now += TcpConnection.INITIAL_RTO - 1;
        gw.poll();
        assertThat(guest.inbox.stream().filter(c.mine())).isEmpty();
        // ...and the same bytes at the same sequence number after it.
        now += 1;
        Tcp.Segment again = Frames.tcp(guest.await(c.mine()));
        assertThat(again.seq).isEqualTo(first.seq);
        assertThat(new String(again.data, again.dataOff, again.dataLen, StandardCharsets.US_ASCII))
            .isEqualTo("hello");
        // The second timeout is twice as long (exponential backoff).
        now += TcpConnection.INITIAL_RTO;
        gw.poll();
        assertThat(guest.inbox.stream().filter(c.mine())).isEmpty();
        now += TcpConnection.INITIAL_RTO;
        assertThat(Frames.tcp(guest.await(c.mine())).seq).isEqualTo(first.seq);
        c.accept(again);
        // Guest data reaches the host, in order, and an out-of-order segment is not delivered.
        int base = c.sndNxt;
        c.sndNxt = base + 3;
        c.write("DEF".getBytes(StandardCharsets.US_ASCII));
        Tcp.Segment dupAck = Frames.tcp(guest.await(c.mine()));
        assertThat(dupAck.ack).isEqualTo(base);
        c.sndNxt = base;
        c.write("abc".getBytes(StandardCharsets.US_ASCII));
        c.sndNxt = base + 3;
        c.write("DEF".getBytes(StandardCharsets.US_ASCII));
        gw.poll();
        InputStream in = s.getInputStream();
        byte[] six = in.readNBytes(6);
        assertThat(new String(six, StandardCharsets.US_ASCII)).isEqualTo("abcDEF");
      }
    }
  }

  @Test
  void aGuestThatNeverAcksIsResetAfterTheRetryLimit() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      GuestTcp c = new GuestTcp(guest, 40004, GW, server.getLocalPort(), 100);
      c.connect();
      try (Socket s = server.accept()) {
        s.getOutputStream().write(1);
        guest.await(c.mine());
        long rto = TcpConnection.INITIAL_RTO;
        for (int i = 0; i < TcpConnection.MAX_RETRIES; i++) {
          now += rto;
          assertThat(Frames.tcp(guest.await(c.mine())).has(Tcp.RST)).isFalse();
          rto = Math.min(rto * 2, TcpConnection.MAX_RTO);
        }
        now += rto;
        assertThat(Frames.tcp(guest.await(c.mine())).has(Tcp.RST)).isTrue();
        assertThat(gw.tcpFlows()).isZero();
      }
    }
  }

  @Test
  void aSegmentForNoConnectionIsAnsweredWithRst() {
    GuestTcp c = new GuestTcp(guest, 40005, GW, 9, 500);
    c.rcvNxt = 1234;
    c.send(Tcp.ACK_FLAG);
    Tcp.Segment rst = Frames.tcp(guest.await(c.mine()));
    assertThat(rst.flags).isEqualTo(Tcp.RST);
    assertThat(rst.seq).isEqualTo(1234);
  }

  @Test
  void aGuestRstResetsTheHostConnection() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      GuestTcp c = new GuestTcp(guest, 40006, GW, server.getLocalPort(), 100);
      c.connect();
      try (Socket s = server.accept()) {
        s.setSoTimeout(5000);
        c.send(Tcp.RST);
        assertThat(gw.tcpFlows()).isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.getInputStream().read())
            .isInstanceOf(java.net.SocketException.class);
      }
    }
  }

  @Test
  void aPageSurvivesAGuestLinkThatLosesAQuarterOfTheSegments() {
    Random loss = new Random(11);
    GuestTcp c = new GuestTcp(guest, 40010, GW, httpPort(), 3000);
    c.mss = 536;
    c.connect();
    c.write("GET /file HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    int dropped = 0;
    int idle = 0;
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!c.peerFin && System.nanoTime() < deadline) {
      byte[] f = guest.inbox.stream().filter(c.mine()).findFirst().orElse(null);
      if (f == null) {
        if (gw.poll() == 0 && ++idle % 20 == 0) {
          now += 1_000_000_000L; // nothing moving: let the gateway's RTO expire
        }
        continue;
      }
      idle = 0;
      guest.inbox.remove(f);
      Tcp.Segment s = Frames.tcp(f);
      if ((s.dataLen > 0 || s.has(Tcp.FIN)) && loss.nextInt(4) == 0) {
        dropped++;
        continue;
      }
      c.accept(s); // in order: taken and ACKed; out of order: duplicate ACK
    }
    assertThat(c.peerFin).as("FIN received").isTrue();
    assertThat(body(c.received.toByteArray())).isEqualTo(page);
    assertThat(dropped).isPositive();
    assertThat(gw.stats().retransmissions()).isPositive();
  }

  @Test
  void aZeroWindowIsProbedWithOneByteAfterTheRto() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      GuestTcp c = new GuestTcp(guest, 40011, GW, server.getLocalPort(), 100);
      c.window = 0;
      c.connect();
      try (Socket s = server.accept()) {
        s.getOutputStream().write("abc".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < 50; i++) {
          gw.poll();
          Thread.sleep(2);
        }
        assertThat(guest.inbox.stream().filter(c.mine())).as("nothing into a zero window").isEmpty();
        now += TcpConnection.INITIAL_RTO;
        Tcp.Segment probe = Frames.tcp(guest.await(c.mine()));
        assertThat(probe.dataLen).isEqualTo(1);
        assertThat(probe.data[probe.dataOff]).isEqualTo((byte) 'a');
        // The window opens: the rest follows at once.
        c.window = 65535;
        c.accept(probe);
        Tcp.Segment rest = Frames.tcp(guest.await(c.mine()));
        assertThat(new String(rest.data, rest.dataOff, rest.dataLen, StandardCharsets.US_ASCII))
            .isEqualTo("bc");
      }
    }
  }

  @Test
  void aLinuxStyleSynWithSackTimestampsAndWindowScaleGetsAPlainSynAck() {
    // Linux's SYN: MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (data offset 10).
    byte[] opts = {2, 4, 0x05, (byte) 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7};
    byte[] f = Tcp.frame(NatConfig.DEFAULT_GATEWAY_MAC, GUEST_MAC, 1, GUEST_IP, 40020, GW,
        httpPort(), 555, 0, Tcp.SYN, 64240, -1, opts, 0, opts.length);
    // Move the options from the payload into the header: data offset 5 -> 10 words.
    int t = org.hospes.dom0.net.packet.Ipv4.payloadOffset();
    f[t + Tcp.DATA_OFFSET] = (byte) (10 << 4);
    org.hospes.dom0.net.packet.Bytes.put16(f, t + Tcp.CHECKSUM, 0);
    org.hospes.dom0.net.packet.Bytes.put16(f, t + Tcp.CHECKSUM, Frames.pseudoSum(f,
        org.hospes.dom0.net.packet.Ethernet.HEADER, 6, 40));
    guest.deliver(f);
    GuestTcp c = new GuestTcp(guest, 40020, GW, httpPort(), 556);
    Tcp.Segment synAck = Frames.tcp(guest.await(c.mine()));
    assertThat(synAck.flags).isEqualTo(Tcp.SYN | Tcp.ACK_FLAG);
    assertThat(synAck.ack).isEqualTo(556);
    assertThat(synAck.mss).isEqualTo(1460);
    assertThat(synAck.dataOff - (org.hospes.dom0.net.packet.Ethernet.HEADER + 20))
        .as("header of 24 bytes: MSS only, so Linux turns off SACK, timestamps and scaling")
        .isEqualTo(24);
    assertThat(gw.tcpFlows()).isEqualTo(1);
  }
}
