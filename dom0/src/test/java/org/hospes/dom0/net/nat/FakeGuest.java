package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.fail;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.function.Predicate;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Ethernet;

/**
 * The test's side of the switch: one scripted guest (a MAC and an IP) wired straight to a
 * {@link NatGateway}. Frames the gateway emits are copied into an inbox; {@link #await} polls the
 * gateway until a matching frame arrives, because behind the gateway are real host sockets whose
 * answers take real (if short) time. Every frame the gateway emits is checked for well-formed
 * checksums by {@link Frames#check}, independently of the production checksum code.
 */
final class FakeGuest implements SwitchPort.FrameSink {

  static final long WAIT_NANOS = 10_000_000_000L;

  final NatGateway gw;
  final long mac;
  int ip;
  final Deque<byte[]> inbox = new ArrayDeque<>();
  final List<byte[]> all = new ArrayList<>();

  FakeGuest(NatGateway gw, long mac, int ip) {
    this.gw = gw;
    this.mac = mac;
    this.ip = ip;
    gw.attach(this);
  }

  @Override
  public void send(SwitchPort from, byte[] frame, int offset, int length) {
    byte[] copy = Arrays.copyOfRange(frame, offset, offset + length);
    Frames.check(copy);
    inbox.add(copy);
    all.add(copy);
  }

  void deliver(byte[] frame) {
    gw.deliver(frame, 0, frame.length);
  }

  /** The first queued frame matching {@code p} (removed), polling the gateway up to 10 s. */
  byte[] await(Predicate<byte[]> p) {
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (true) {
      for (var it = inbox.iterator(); it.hasNext(); ) {
        byte[] f = it.next();
        if (p.test(f)) {
          it.remove();
          return f;
        }
      }
      if (gw.poll() == 0) {
        if (System.nanoTime() - deadline > 0) {
          fail("no matching frame from the gateway within 10 s; inbox has " + inbox.size());
        }
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          fail("interrupted");
        }
      }
    }
  }

  /** Frames addressed to this guest's MAC or broadcast. */
  static Predicate<byte[]> toMac(long mac) {
    return f -> Ethernet.dst(f, 0) == mac || Ethernet.dst(f, 0) == Addresses.BROADCAST_MAC;
  }
}
