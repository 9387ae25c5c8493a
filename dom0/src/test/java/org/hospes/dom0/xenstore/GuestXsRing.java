package org.hospes.dom0.xenstore;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.memory.GuestMemory;

/**
 * The guest's end of a xenstore ring for tests that play a (hostile) guest: it writes raw bytes
 * into req[] and moves the indices as the guest likes, notifies dom0, and takes what dom0 put in
 * rsp[] apart into messages. Whatever dom0 writes must be well formed: a reply whose header
 * claims more than XENSTORE_PAYLOAD_MAX fails the test at once.
 */
final class GuestXsRing {
  /** One message from dom0. */
  record Msg(int type, int reqId, int txId, byte[] payload) {
    String text() {
      return new String(payload, java.nio.charset.StandardCharsets.ISO_8859_1);
    }
  }

  private final Hypervisor hv;
  private final Domain d;
  private final long base;
  private final int port;
  private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
  final ArrayDeque<Msg> replies = new ArrayDeque<>();
  final ArrayDeque<Msg> events = new ArrayDeque<>();

  GuestXsRing(Hypervisor hv, Domain d, long base, int port) {
    this.hv = hv;
    this.d = d;
    this.base = base;
    this.port = port;
  }

  GuestMemory mem() {
    return d.memory();
  }

  int r32(int off) {
    return d.memory().read32(base + off);
  }

  void w32(int off, int v) {
    d.memory().write32(base + off, v);
  }

  /** A fresh page with all four indices at {@code start} (free-running: they may wrap soon). */
  void reset(int start) {
    byte[] zero = new byte[4096];
    d.memory().write(base, zero, 0, zero.length);
    w32(XsWire.REQ_CONS, start);
    w32(XsWire.REQ_PROD, start);
    w32(XsWire.RSP_CONS, start);
    w32(XsWire.RSP_PROD, start);
    partial.reset();
    replies.clear();
    events.clear();
  }

  /** Notifies dom0 without running it: the scheduler runs xenstored in dom0's turn. */
  void notifyDom0() {
    d.eventChannels().send(port);
  }

  /** Notifies dom0 and lets it run its pending work. */
  void kick() {
    d.eventChannels().send(port);
    hv.control().serve(hv.now());
  }

  /** Free bytes in req[] as the guest sees them. */
  int room() {
    return XsWire.RING_SIZE - (r32(XsWire.REQ_PROD) - r32(XsWire.REQ_CONS));
  }

  /** Writes as much of {@code b}[off, end) as fits, without notifying; returns how much. */
  int putSome(byte[] b, int off, int end) {
    int prod = r32(XsWire.REQ_PROD);
    int n = Math.min(Math.max(room(), 0), end - off);
    for (int i = 0; i < n; i++) {
      d.memory().write8(base + XsWire.REQ + ((prod + i) & (XsWire.RING_SIZE - 1)), b[off + i]);
    }
    w32(XsWire.REQ_PROD, prod + n);
    return n;
  }

  /**
   * Writes all of {@code b}, notifying and taking replies whenever the ring is full (a message
   * longer than the ring goes in pieces, as it must). {@code splitAt} in (0, length) also
   * notifies after that many bytes, so dom0 sees part of a message. False if dom0 stopped
   * taking bytes.
   */
  boolean put(byte[] b, int splitAt) {
    int off = 0;
    int stuck = 0;
    while (off < b.length) {
      int end = splitAt > off && splitAt < b.length ? splitAt : b.length;
      int n = putSome(b, off, end);
      off += n;
      if (off < b.length) {
        kick();
        drain();
        stuck = n == 0 ? stuck + 1 : 0;
        if (stuck > 8) {
          return false;
        }
      }
    }
    return true;
  }

  static byte[] message(int type, int reqId, int txId, byte[] payload, int len) {
    ByteBuffer b = ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(type).putInt(reqId).putInt(txId).putInt(len).put(payload);
    return b.array();
  }

  /** Bytes dom0 has written and the guest not taken. */
  int pendingOutput() {
    return r32(XsWire.RSP_PROD) - r32(XsWire.RSP_CONS);
  }

  /**
   * Takes everything in rsp[], splits it into replies and watch events, and notifies dom0 when
   * it made room (so that it writes more). Returns the bytes taken.
   */
  int drain() {
    int cons = r32(XsWire.RSP_CONS);
    int prod = r32(XsWire.RSP_PROD);
    int n = prod - cons;
    if (n < 0 || n > XsWire.RING_SIZE) {
      throw new AssertionError("dom0 left response indices " + cons + "/" + prod);
    }
    for (int i = 0; i < n; i++) {
      partial.write(d.memory().read8(base + XsWire.RSP + ((cons + i) & (XsWire.RING_SIZE - 1))));
    }
    w32(XsWire.RSP_CONS, prod);
    byte[] all = partial.toByteArray();
    ByteBuffer r = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    while (r.remaining() >= 16) {
      int at = r.position();
      int type = r.getInt();
      int reqId = r.getInt();
      int txId = r.getInt();
      int len = r.getInt();
      if (len < 0 || len > XsWire.PAYLOAD_MAX) {
        throw new AssertionError("dom0 sent a message of type " + type + " with length "
            + Integer.toUnsignedString(len));
      }
      if (r.remaining() < len) {
        r.position(at);
        break;
      }
      byte[] p = new byte[len];
      r.get(p);
      Msg m = new Msg(type, reqId, txId, p);
      (type == XsWire.WATCH_EVENT ? events : replies).add(m);
    }
    partial.reset();
    partial.write(all, r.position(), all.length - r.position());
    if (n > 0) {
      kick();
    }
    return n;
  }
}
