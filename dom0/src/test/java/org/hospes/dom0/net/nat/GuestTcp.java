package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.function.Predicate;
import org.hospes.dom0.net.packet.Ethernet;
import org.hospes.dom0.net.packet.Ipv4;
import org.hospes.dom0.net.packet.Tcp;

/**
 * A scripted guest TCP endpoint, the test's stand-in for a guest kernel's TCP: it speaks to the
 * gateway in frames built with the packet builders, ACKs every in-order segment and checks what
 * the gateway sends. Lossless and in-order on its own side (the tests that need loss drop frames
 * themselves).
 */
final class GuestTcp {

  final FakeGuest guest;
  final int localPort;
  int peerIp;
  int peerPort;
  int sndNxt;
  int rcvNxt;
  int window = 65535;
  int peerMss = -1;
  int mss = 1460;
  boolean peerFin;
  final ByteArrayOutputStream received = new ByteArrayOutputStream();

  GuestTcp(FakeGuest guest, int localPort, int peerIp, int peerPort, int iss) {
    this.guest = guest;
    this.localPort = localPort;
    this.peerIp = peerIp;
    this.peerPort = peerPort;
    this.sndNxt = iss;
  }

  /** Frames of this connection (gateway to guest). */
  Predicate<byte[]> mine() {
    return f -> {
      if (!Frames.isTcp(f) || Ipv4.dst(f, Ethernet.HEADER) != guest.ip
          || Ipv4.src(f, Ethernet.HEADER) != peerIp) {
        return false;
      }
      Tcp.Segment s = Frames.tcp(f);
      return s.dstPort == localPort && (peerPort == 0 || s.srcPort == peerPort);
    };
  }

  byte[] segment(int flags, byte[] data, int off, int len) {
    return Tcp.frame(NatConfig.DEFAULT_GATEWAY_MAC, guest.mac, 7, guest.ip, localPort, peerIp,
        peerPort, sndNxt, rcvNxt, flags, window, (flags & Tcp.SYN) != 0 ? mss : -1, data, off, len);
  }

  void send(int flags) {
    guest.deliver(segment(flags, null, 0, 0));
    if ((flags & (Tcp.SYN | Tcp.FIN)) != 0) {
      sndNxt++;
    }
  }

  /** Active open; returns the SYN-ACK (or RST) segment. */
  Tcp.Segment connect() {
    send(Tcp.SYN);
    Tcp.Segment s = Frames.tcp(guest.await(mine()));
    if (s.has(Tcp.RST)) {
      return s;
    }
    assertThat(s.flags & (Tcp.SYN | Tcp.ACK_FLAG)).isEqualTo(Tcp.SYN | Tcp.ACK_FLAG);
    assertThat(s.ack).isEqualTo(sndNxt);
    peerMss = s.mss;
    rcvNxt = s.seq + 1;
    send(Tcp.ACK_FLAG);
    return s;
  }

  void write(byte[] data) {
    for (int off = 0; off < data.length; off += mss) {
      int n = Math.min(mss, data.length - off);
      guest.deliver(segment(Tcp.ACK_FLAG | Tcp.PSH, data, off, n));
      sndNxt += n;
    }
  }

  /** Takes one segment from the gateway, accepts in-order data and FIN, ACKs; returns it. */
  Tcp.Segment receiveOne() {
    byte[] f = guest.await(mine());
    Tcp.Segment s = Frames.tcp(f);
    accept(s);
    return s;
  }

  void accept(Tcp.Segment s) {
    if (s.dataLen > 0 || s.has(Tcp.FIN)) {
      if (s.seq == rcvNxt) {
        received.write(s.data, s.dataOff, s.dataLen);
        rcvNxt += s.dataLen;
        if (s.has(Tcp.FIN)) {
          rcvNxt++;
          peerFin = true;
        }
      }
      send(Tcp.ACK_FLAG);
    }
  }

  /** Receives until the gateway's FIN. */
  byte[] readToEnd() {
    while (!peerFin) {
      Tcp.Segment s = receiveOne();
      assertThat(s.has(Tcp.RST)).as("unexpected RST").isFalse();
      if (s.dataLen > 0) {
        assertThat(s.dataLen).isLessThanOrEqualTo(peerMssLimit());
      }
    }
    return received.toByteArray();
  }

  int peerMssLimit() {
    return mss;
  }
}
