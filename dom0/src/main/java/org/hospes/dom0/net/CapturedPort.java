package org.hospes.dom0.net;

/**
 * A switch port whose traffic, both ways, is copied to a {@link PcapWriter}: frames the switch
 * delivers to the port and frames the port sends to the switch, in the order they pass. It
 * wraps any port (a vif, a gateway), and goes on the network in the port's place.
 */
public final class CapturedPort implements SwitchPort {
  private final SwitchPort inner;
  private final PcapWriter pcap;

  public CapturedPort(SwitchPort inner, PcapWriter pcap) {
    this.inner = inner;
    this.pcap = pcap;
  }

  public SwitchPort inner() {
    return inner;
  }

  public PcapWriter pcap() {
    return pcap;
  }

  @Override
  public String name() {
    return inner.name();
  }

  @Override
  public void attach(FrameSink toSwitch) {
    if (toSwitch == null) {
      inner.attach(null);
      return;
    }
    inner.attach((from, f, off, len) -> {
      pcap.write(f, off, len);
      toSwitch.send(this, f, off, len);
    });
  }

  @Override
  public void deliver(byte[] frame, int offset, int length) {
    pcap.write(frame, offset, length);
    inner.deliver(frame, offset, length);
  }
}
