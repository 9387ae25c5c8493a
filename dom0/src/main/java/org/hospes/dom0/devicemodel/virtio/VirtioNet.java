package org.hospes.dom0.devicemodel.virtio;

import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.net.FrameBacklog;
import org.hospes.dom0.net.SwitchPort;

/**
 * virtio-net (virtio 1.x, 5.1) as a port of dom0's virtual switch, like a netback vif: queue 0
 * receives, queue 1 transmits, {@value #QUEUE_SIZE} entries each. Offered: VIRTIO_NET_F_MAC
 * (the configured address), VIRTIO_NET_F_STATUS (link up from the start) and INDIRECT_DESC; no
 * checksum or segmentation offload and no MRG_RXBUF, so every buffer starts with the legacy
 * 10-byte struct virtio_net_hdr (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset),
 * all zero on receive, and the driver sends whole, checksummed frames.
 *
 * <p>Transmit: each chain's readable bytes after the header are one Ethernet frame, sent to the
 * switch at once. Receive: a frame from the switch goes into the next receive buffer; while the
 * driver has posted none, up to {@value #BACKLOG} frames wait (as a NIC's FIFO does) and the
 * rest are dropped and counted. A frame larger than its buffer is dropped and counted too.
 */
public final class VirtioNet implements VirtioDevice, SwitchPort {
  public static final int DEVICE_TYPE = 1;
  public static final int QUEUE_SIZE = 256;
  public static final int RX = 0;
  public static final int TX = 1;

  public static final int F_MAC = 5;
  public static final int F_STATUS = 16;
  public static final int S_LINK_UP = 1;

  /** The legacy header without VIRTIO_NET_F_MRG_RXBUF. */
  public static final int HEADER = 10;
  /** The largest frame either way: 64 KiB, as a frame without GSO cannot be larger anyway. */
  public static final int MAX_FRAME = 65536;
  public static final int BACKLOG = 64;

  private static final int CONFIG_SIZE = 8;

  private final String name;
  private final byte[] config = new byte[CONFIG_SIZE];
  private final byte[] txFrame = new byte[MAX_FRAME];
  private final byte[] zeroHeader = new byte[HEADER];
  private final FrameBacklog backlog = new FrameBacklog(BACKLOG, this::receive);
  private VirtioTransport transport;
  private GuestDma dma;
  private FrameSink toSwitch;

  public long txFrames;
  public long txBytes;
  public long rxFrames;
  public long rxBytes;
  public long txErrors;
  public long rxDropped;
  public long rxTooBig;

  /** @param mac the interface's address, six bytes */
  public VirtioNet(String name, byte[] mac) {
    if (mac.length != 6) {
      throw new IllegalArgumentException("a MAC address has 6 bytes, not " + mac.length);
    }
    this.name = name;
    System.arraycopy(mac, 0, config, 0, 6);
    config[6] = S_LINK_UP;
  }

  /** Parses "00:16:3e:01:02:03". */
  public static byte[] mac(String text) {
    String[] parts = text.split(":");
    if (parts.length != 6) {
      throw new IllegalArgumentException("bad MAC address " + text);
    }
    byte[] b = new byte[6];
    for (int i = 0; i < 6; i++) {
      b[i] = (byte) Integer.parseInt(parts[i], 16);
    }
    return b;
  }

  @Override
  public int deviceType() {
    return DEVICE_TYPE;
  }

  @Override
  public int pciClass() {
    return 0x020000; // network, Ethernet
  }

  @Override
  public int features() {
    return 1 << F_MAC | 1 << F_STATUS | 1 << VirtioConstants.F_RING_INDIRECT_DESC;
  }

  @Override
  public int queueCount() {
    return 2;
  }

  @Override
  public int queueSize() {
    return QUEUE_SIZE;
  }

  @Override
  public int configSize() {
    return CONFIG_SIZE;
  }

  @Override
  public int readConfig(int offset) {
    return config[offset] & 0xFF;
  }

  @Override
  public void writeConfig(int offset, int value) {
    // A legacy driver may write the MAC when VIRTIO_NET_F_MAC is not offered; it is offered.
  }

  @Override
  public void attach(VirtioTransport t) {
    this.transport = t;
    this.dma = t.dma();
  }

  @Override
  public void statusChanged(int status) {
    if (status == 0) {
      backlog.clear();
    }
  }

  @Override
  public void notify(int queue) {
    if (queue == TX) {
      transmit();
    } else if (queue == RX) {
      drainBacklog();
    }
  }

  private void transmit() {
    SplitVirtqueue q = transport.queue(TX);
    boolean any = false;
    DescriptorChain c;
    while ((c = q.pop()) != null) {
      long len = c.readableBytes() - HEADER;
      if (len < 14 || len > MAX_FRAME) {
        txErrors++;
      } else {
        try {
          c.read(dma, HEADER, txFrame, 0, (int) len);
          txFrames++;
          txBytes += len;
          FrameSink s = toSwitch;
          if (s != null && transport.driverOk()) {
            s.send(this, txFrame, 0, (int) len);
          }
        } catch (IllegalArgumentException e) {
          txErrors++;
        }
      }
      q.pushUsed(c.head(), 0);
      any = true;
    }
    if (any) {
      transport.usedBuffers(TX);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void attach(FrameSink sink) {
    this.toSwitch = sink;
  }

  @Override
  public void deliver(byte[] frame, int offset, int length) {
    if (!transport.driverOk() || length > MAX_FRAME) {
      rxDropped++;
      return;
    }
    FrameBacklog.Outcome outcome;
    try {
      outcome = backlog.offer(frame, offset, length);
    } catch (VirtqueueException e) {
      transport.needsReset(e.getMessage());
      return;
    }
    switch (outcome) {
      case RECEIVED -> transport.usedBuffers(RX);
      case QUEUED -> { }
      case DROPPED -> rxDropped++;
    }
  }

  private void drainBacklog() {
    if (backlog.drain() > 0) {
      transport.usedBuffers(RX);
    }
  }

  /** Puts one frame into the next receive buffer; false if the driver has posted none. */
  private boolean receive(byte[] frame, int offset, int length) {
    SplitVirtqueue q = transport.queue(RX);
    if (!q.ready()) {
      return false;
    }
    DescriptorChain c = q.pop();
    if (c == null) {
      return false;
    }
    int written = 0;
    if (c.writableBytes() < HEADER + (long) length) {
      rxTooBig++;
    } else {
      try {
        c.write(dma, 0, zeroHeader, 0, HEADER);
        c.write(dma, HEADER, frame, offset, length);
        written = HEADER + length;
        rxFrames++;
        rxBytes += length;
      } catch (IllegalArgumentException e) {
        rxDropped++;
      }
    }
    q.pushUsed(c.head(), written);
    return true;
  }
}
