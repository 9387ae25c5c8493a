package org.hospes.dom0.net;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A switch port for tests: records what the switch delivers, sends what the test says. */
final class TestPort implements SwitchPort {
  final String name;
  final List<byte[]> got = new ArrayList<>();
  FrameSink sink;

  TestPort(String name) {
    this.name = name;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void attach(FrameSink toSwitch) {
    sink = toSwitch;
  }

  @Override
  public void deliver(byte[] frame, int offset, int length) {
    got.add(Arrays.copyOfRange(frame, offset, offset + length));
  }

  void send(byte[] f) {
    sink.send(this, f, 0, f.length);
  }

  /** A frame from MAC {@code src} to MAC {@code dst} with a 46-byte body. */
  static byte[] frame(long dst, long src, int tag) {
    byte[] f = new byte[60];
    RoutedNetwork.putMac(f, 0, dst);
    RoutedNetwork.putMac(f, 6, src);
    f[12] = (byte) 0x88;
    f[13] = (byte) 0xB5;
    f[14] = (byte) tag;
    return f;
  }
}
