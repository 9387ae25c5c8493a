package org.hospes.dom0.net.nat;

import static org.hospes.dom0.net.packet.Tcp.ACK_FLAG;
import static org.hospes.dom0.net.packet.Tcp.FIN;
import static org.hospes.dom0.net.packet.Tcp.PSH;
import static org.hospes.dom0.net.packet.Tcp.RST;
import static org.hospes.dom0.net.packet.Tcp.SYN;
import static org.hospes.dom0.net.packet.Tcp.seqLt;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.hospes.dom0.net.packet.Tcp;

/**
 * The gateway's end of one guest TCP connection, relayed to a host socket. The guest's connection
 * is terminated here (RFC 9293): the gateway is a real TCP endpoint towards the guest, and moves
 * the byte stream to and from its {@link TcpPeer}: a non-blocking host socket, or a service in
 * dom0 such as the {@link DataServer}.
 *
 * <p>Two ways in. A guest's SYN to a mapped address creates the connection in {@code CONNECTING}
 * while the host connect completes; then the gateway answers SYN-ACK ({@code SYN_RECEIVED}), or RST
 * if the host refused, which is what the guest would have seen from the real server. A port
 * forward's accepted host socket creates it in {@code SYN_SENT}: the gateway sends the SYN.
 *
 * <p>What is implemented: MSS option both ways (we offer 1460, the Ethernet MTU less 40; the
 * guest's MSS, clamped to 64..1460, or RFC 9293's default 536, bounds our segments); the guest's
 * advertised window bounds what we have in flight (no window scaling is offered, so windows are
 * plain 16-bit values); in-order receive only (an out-of-order segment is dropped and answered
 * with a duplicate ACK, so the guest retransmits); every data segment is ACKed at once; FIN both
 * ways, with half-close carried to the host ({@code shutdownOutput}); RST both ways. The
 * retransmission timer runs in the owner's virtual time: an initial RTO of one second (RFC 6298
 * §2.1), doubled per expiry up to 60 s, go-back-N from the oldest unacknowledged byte, a one-byte
 * probe into a zero window, and an abort with RST after {@link #MAX_RETRIES} expiries. No RTT
 * estimation, delayed ACKs, SACK or congestion control: the link is a memory copy.
 *
 * <p>Both buffers are bounded (64 KiB): when the guest is slow the gateway stops reading from
 * the host, and when the host is slow the advertised window closes.
 */
final class TcpConnection {

  enum State {
    /** Guest SYN seen; host connect in progress. */
    CONNECTING,
    /** Port forward: our SYN sent to the guest. */
    SYN_SENT,
    /** Host connected; our SYN-ACK sent to the guest. */
    SYN_RECEIVED,
    ESTABLISHED,
    /** Both directions closed; waiting to re-ACK a retransmitted FIN before forgetting it. */
    TIME_WAIT,
    CLOSED
  }

  /** What the connection needs from the gateway. */
  interface Link {
    long now();

    /** Sends a segment to the guest (false if its MAC is still being resolved). */
    boolean send(TcpConnection c, int seq, int ack, int flags, int window, int mss, byte[] data,
        int off, int len);

    /** Counts one retransmission timeout (for stats). */
    void retransmitted();
  }

  static final int OUR_MSS = 1460;
  static final int DEFAULT_MSS = 536;
  static final int BUFFER = 65535;
  static final long INITIAL_RTO = 1_000_000_000L;
  static final long MAX_RTO = 60_000_000_000L;
  static final int MAX_RETRIES = 8;
  static final long TIME_WAIT_NANOS = 2_000_000_000L;

  final int guestIp;
  final int guestPort;
  /** The address and port the guest sees at the other end. */
  final int peerIp;
  final int peerPort;
  private final TcpPeer host;
  private final Link link;

  State state;
  private final int iss;
  private int sndUna;
  private int sndNxt;
  private int sndMax;
  private int sndWnd;
  private int sndMss = DEFAULT_MSS;
  private boolean synAcked;
  /** Bytes from the host not yet acknowledged by the guest; sendBuf[0] has sequence dataSeq. */
  private final byte[] sendBuf = new byte[BUFFER];
  private final ByteBuffer sendBb = ByteBuffer.wrap(sendBuf);
  private int sendLen;
  private int dataSeq;
  private boolean hostEof;
  private boolean finSent;
  private boolean finAcked;

  private int irs;
  private int rcvNxt;
  /** Bytes from the guest not yet written to the host. */
  private final byte[] recvBuf = new byte[BUFFER];
  private final ByteBuffer recvBb = ByteBuffer.wrap(recvBuf);
  private int recvLen;
  private boolean guestFin;
  private boolean hostOutputShut;
  private int lastWindow;

  private long rtoDeadline = -1;
  private long rto = INITIAL_RTO;
  private int retries;
  private long timeWaitUntil;

  private TcpConnection(int guestIp, int guestPort, int peerIp, int peerPort, TcpPeer host,
      Link link, int iss, State state) {
    this.guestIp = guestIp;
    this.guestPort = guestPort;
    this.peerIp = peerIp;
    this.peerPort = peerPort;
    this.host = host;
    this.link = link;
    this.iss = iss;
    this.state = state;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.dataSeq = iss + 1;
  }

  /** A guest's SYN ({@code seg}) whose host connect has been started on {@code host}. */
  static TcpConnection fromGuestSyn(int guestIp, int peerIp, Tcp.Segment seg, TcpPeer host,
      Link link, int iss) {
    TcpConnection c = new TcpConnection(guestIp, seg.srcPort, peerIp, seg.dstPort, host, link, iss,
        State.CONNECTING);
    c.irs = seg.seq;
    c.rcvNxt = seg.seq + 1;
    c.sndWnd = seg.window;
    c.sndMss = clampMss(seg.mss);
    return c;
  }

  /** A port forward's accepted {@code host} socket: sends the SYN to the guest now. */
  static TcpConnection toGuest(int guestIp, int guestPort, int peerIp, int peerPort,
      TcpPeer host, Link link, int iss) {
    TcpConnection c = new TcpConnection(guestIp, guestPort, peerIp, peerPort, host, link, iss,
        State.SYN_SENT);
    c.sendSyn();
    return c;
  }

  private static int clampMss(int mss) {
    return mss < 0 ? DEFAULT_MSS : Math.max(64, Math.min(OUR_MSS, mss));
  }

  boolean isClosed() {
    return state == State.CLOSED;
  }

  // ---------------------------------------------------------------------------------------------
  // Segments from the guest.

  void onSegment(Tcp.Segment seg) {
    switch (state) {
      case CLOSED:
        return;
      case CONNECTING:
        if (seg.has(RST)) {
          close(false);
        }
        return; // a retransmitted SYN waits for the host connect
      case SYN_SENT:
        onSegmentSynSent(seg);
        return;
      case TIME_WAIT:
        if (seg.has(FIN)) {
          sendAck();
        }
        return;
      default:
        break;
    }
    if (seg.has(RST)) {
      // RFC 5961 §3: only a RST at exactly rcvNxt resets; one elsewhere in the window gets a
      // challenge ACK. A RST outside the window is dropped.
      if (seg.seq == rcvNxt) {
        close(true);
      } else if (seqLt(rcvNxt, seg.seq) && seqLt(seg.seq, rcvNxt + window())) {
        sendAck();
      }
      return;
    }
    if (seg.has(SYN)) {
      if (state == State.SYN_RECEIVED && seg.seq == irs) {
        sendSynAck(); // our SYN-ACK was lost
      } else {
        sendAck(); // RFC 5961 §4: challenge ACK
      }
      return;
    }
    if (!seg.has(ACK_FLAG)) {
      return;
    }
    if (state == State.SYN_RECEIVED) {
      if (seg.ack != iss + 1) {
        link.send(this, seg.ack, 0, RST, 0, -1, null, 0, 0);
        return;
      }
      state = State.ESTABLISHED;
    }
    if (seqLt(sndMax, seg.ack)) {
      sendAck(); // acknowledges something never sent
      return;
    }
    onAck(seg.ack, seg.window);
    onData(seg);
    flushToHost();
    if (host.immediate() && state != State.CLOSED) {
      // A service in dom0 answered within flushToHost's call: send its answer now, in the same
      // instant of virtual time, rather than at the gateway's next poll.
      try {
        readHost();
      } catch (IOException e) {
        link.send(this, sndNxt, rcvNxt, RST | ACK_FLAG, 0, -1, null, 0, 0);
        close(false);
        return;
      }
    }
    pump();
    checkDone();
  }

  private void onSegmentSynSent(Tcp.Segment seg) {
    boolean ackOk = seg.has(ACK_FLAG) && seg.ack == iss + 1;
    if (seg.has(RST)) {
      if (ackOk) {
        close(true); // the guest refused: the host client sees a reset
      }
      return;
    }
    if (seg.has(ACK_FLAG) && !ackOk) {
      link.send(this, seg.ack, 0, RST, 0, -1, null, 0, 0);
      return;
    }
    if (!seg.has(SYN) || !ackOk) {
      return;
    }
    irs = seg.seq;
    rcvNxt = seg.seq + 1;
    sndMss = clampMss(seg.mss);
    state = State.ESTABLISHED;
    onAck(seg.ack, seg.window);
    sendAck();
    pump();
  }

  private void onAck(int ack, int window) {
    if (seqLt(ack, sndUna)) {
      return; // old duplicate
    }
    sndWnd = window;
    if (ack == sndUna) {
      return;
    }
    if (!synAcked) {
      synAcked = true;
    }
    int acked = Math.max(0, Math.min(ack - dataSeq, sendLen));
    if (acked > 0) {
      System.arraycopy(sendBuf, acked, sendBuf, 0, sendLen - acked);
      sendLen -= acked;
      dataSeq += acked;
    }
    if (finSent && ack == dataSeq + 1 && sendLen == 0) {
      finAcked = true;
    }
    sndUna = ack;
    if (seqLt(sndNxt, ack)) {
      sndNxt = ack;
    }
    retries = 0;
    rto = INITIAL_RTO;
    rtoDeadline = sndNxt != sndUna ? link.now() + rto : -1;
  }

  private void onData(Tcp.Segment seg) {
    int seq = seg.seq;
    int off = seg.dataOff;
    int len = seg.dataLen;
    boolean fin = seg.has(FIN);
    if (len == 0 && !fin) {
      return;
    }
    if (guestFin) {
      sendAck(); // retransmitted FIN, or data after it (ignored)
      return;
    }
    if (seqLt(seq, rcvNxt)) {
      int skip = rcvNxt - seq;
      if (skip > len) {
        sendAck(); // wholly old, FIN included
        return;
      }
      off += skip;
      len -= skip;
      seq = rcvNxt;
    }
    if (seq != rcvNxt) {
      sendAck(); // out of order: dropped, duplicate ACK asks for what we are missing
      return;
    }
    int n = Math.min(len, BUFFER - recvLen);
    System.arraycopy(seg.data, off, recvBuf, recvLen, n);
    recvLen += n;
    rcvNxt += n;
    if (fin && n == len) {
      guestFin = true;
      rcvNxt++;
    }
    sendAck();
  }

  // ---------------------------------------------------------------------------------------------
  // The host side and timers, from the gateway's poll.

  /** Moves bytes between the host socket and the guest, runs the timer; true if anything moved. */
  boolean poll() {
    if (state == State.CLOSED) {
      return false;
    }
    long now = link.now();
    if (state == State.TIME_WAIT) {
      if (now - timeWaitUntil >= 0) {
        state = State.CLOSED;
      }
      return false;
    }
    boolean moved = false;
    try {
      if (state == State.CONNECTING) {
        if (!host.finishConnect()) {
          return false;
        }
        state = State.SYN_RECEIVED;
        sendSynAck();
        moved = true;
      }
      moved |= readHost();
    } catch (IOException e) {
      // Connection refused (the guest gets RST, as from the real server) or reset by the host.
      link.send(this, state == State.CONNECTING ? 0 : sndNxt, rcvNxt, RST | ACK_FLAG, 0, -1, null,
          0, 0);
      close(false);
      return true;
    }
    moved |= flushToHost();
    if (state == State.ESTABLISHED) {
      moved |= pump();
    }
    if (rtoDeadline >= 0 && now - rtoDeadline >= 0) {
      onTimeout(now);
      moved = true;
    }
    checkDone();
    return moved;
  }

  private boolean readHost() throws IOException {
    boolean moved = false;
    while (!hostEof && sendLen < BUFFER) {
      sendBb.limit(BUFFER).position(sendLen);
      int n = host.read(sendBb);
      if (n < 0) {
        hostEof = true;
        moved = true;
      } else if (n == 0) {
        break;
      } else {
        sendLen += n;
        moved = true;
      }
    }
    return moved;
  }

  private boolean flushToHost() {
    if (state == State.CONNECTING || state == State.SYN_SENT || state == State.CLOSED) {
      return false;
    }
    boolean moved = false;
    try {
      while (recvLen > 0) {
        recvBb.limit(recvLen).position(0);
        int n = host.write(recvBb);
        if (n <= 0) {
          break;
        }
        System.arraycopy(recvBuf, n, recvBuf, 0, recvLen - n);
        recvLen -= n;
        moved = true;
      }
      if (guestFin && recvLen == 0 && !hostOutputShut) {
        hostOutputShut = true;
        host.shutdownOutput();
      }
    } catch (IOException e) {
      link.send(this, sndNxt, rcvNxt, RST | ACK_FLAG, 0, -1, null, 0, 0);
      close(false);
      return true;
    }
    if (moved && lastWindow < OUR_MSS && window() >= OUR_MSS) {
      sendAck(); // window update after the window had (nearly) closed
    }
    return moved;
  }

  /** Sends what the guest's window allows, then our FIN once the host closed and all is sent. */
  private boolean pump() {
    if (state != State.ESTABLISHED) {
      return false;
    }
    boolean sent = false;
    if (!finSent) {
      int inFlight = sndNxt - dataSeq;
      while (inFlight < sendLen) {
        int usable = sndWnd - inFlight;
        if (usable <= 0) {
          break;
        }
        int n = Math.min(Math.min(sndMss, sendLen - inFlight), usable);
        int flags = ACK_FLAG | (inFlight + n == sendLen ? PSH : 0);
        link.send(this, dataSeq + inFlight, rcvNxt, flags, window(), -1, sendBuf, inFlight, n);
        inFlight += n;
        sndNxt = dataSeq + inFlight;
        sent = true;
      }
      if (hostEof && inFlight == sendLen) {
        link.send(this, sndNxt, rcvNxt, FIN | ACK_FLAG, window(), -1, null, 0, 0);
        sndNxt++;
        finSent = true;
        sent = true;
      }
      if (seqLt(sndMax, sndNxt)) {
        sndMax = sndNxt;
      }
    }
    boolean outstanding = sndNxt != sndUna;
    boolean blocked = !finSent && sndWnd == 0 && sendLen > 0;
    if ((outstanding || blocked) && rtoDeadline < 0) {
      rtoDeadline = link.now() + rto;
    }
    return sent;
  }

  private void onTimeout(long now) {
    if (++retries > MAX_RETRIES) {
      link.send(this, sndNxt, rcvNxt, RST | ACK_FLAG, 0, -1, null, 0, 0);
      close(false);
      return;
    }
    link.retransmitted();
    rto = Math.min(rto * 2, MAX_RTO);
    rtoDeadline = now + rto;
    switch (state) {
      case SYN_SENT:
        sendSyn();
        return;
      case SYN_RECEIVED:
        sendSynAck();
        return;
      case ESTABLISHED:
        break;
      default:
        return;
    }
    // Go back to the oldest unacknowledged byte.
    sndNxt = sndUna;
    if (finSent && !finAcked) {
      finSent = false;
    }
    if (sndWnd == 0 && sendLen > 0) {
      // Zero-window probe: one byte past the window (RFC 9293 §3.8.6.1).
      link.send(this, dataSeq, rcvNxt, ACK_FLAG, window(), -1, sendBuf, 0, 1);
      sndNxt = dataSeq + 1;
      if (seqLt(sndMax, sndNxt)) {
        sndMax = sndNxt;
      }
      return;
    }
    long keep = rtoDeadline;
    pump();
    rtoDeadline = keep;
  }

  private void checkDone() {
    if (state == State.ESTABLISHED && guestFin && finAcked && hostOutputShut) {
      state = State.TIME_WAIT;
      timeWaitUntil = link.now() + TIME_WAIT_NANOS;
      rtoDeadline = -1;
      closeHost(false);
    }
  }

  /** The guest's MAC became known: send the SYN that could not go out. */
  void resendSyn() {
    if (state == State.SYN_SENT) {
      sendSyn();
    }
  }

  private void sendSyn() {
    link.send(this, iss, 0, SYN, window(), OUR_MSS, null, 0, 0);
    sndNxt = iss + 1;
    sndMax = sndNxt;
    if (rtoDeadline < 0) {
      rtoDeadline = link.now() + rto;
    }
  }

  private void sendSynAck() {
    link.send(this, iss, rcvNxt, SYN | ACK_FLAG, window(), OUR_MSS, null, 0, 0);
    sndNxt = iss + 1;
    sndMax = sndNxt;
    if (rtoDeadline < 0) {
      rtoDeadline = link.now() + rto;
    }
  }

  private void sendAck() {
    int w = window();
    lastWindow = w;
    link.send(this, sndNxt, rcvNxt, ACK_FLAG, w, -1, null, 0, 0);
  }

  private int window() {
    return BUFFER - recvLen;
  }

  /** Drops the connection; {@code reset} closes the host socket abortively (RST to the host). */
  void close(boolean reset) {
    state = State.CLOSED;
    rtoDeadline = -1;
    closeHost(reset);
  }

  private void closeHost(boolean reset) {
    host.close(reset);
  }

  /** Sequence space sent to the guest and not yet acknowledged. */
  int unacknowledged() {
    return sndNxt - sndUna;
  }

  @Override
  public String toString() {
    return "tcp " + guestPort + "->" + peerPort + " " + state;
  }
}
