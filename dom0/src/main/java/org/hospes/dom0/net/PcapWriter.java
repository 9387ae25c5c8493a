package org.hospes.dom0.net;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;

/**
 * A capture file in the classic libpcap format (what tcpdump -w writes and Wireshark and tcpdump
 * read): a 24-byte global header with magic 0xa1b2c3d4 in the writer's byte order (little
 * endian here), version 2.4, snaplen 65535 and link type 1 (LINKTYPE_ETHERNET), then for each
 * frame a 16-byte record header (seconds, microseconds, captured length, original length) and
 * the frame. Timestamps are Hospes's virtual time, so two runs write the same file.
 */
public final class PcapWriter implements AutoCloseable {
  public static final int MAGIC = 0xa1b2c3d4;
  public static final int LINKTYPE_ETHERNET = 1;
  public static final int SNAPLEN = 65535;

  private final OutputStream out;
  private final LongSupplier nanos;
  private final byte[] header = new byte[16];
  private long frames;
  private IOException failure;

  public PcapWriter(OutputStream out, LongSupplier nanos) throws IOException {
    this.out = out;
    this.nanos = nanos;
    byte[] h = new byte[24];
    put32(h, 0, MAGIC);
    put16(h, 4, 2);
    put16(h, 6, 4);
    // thiszone 0, sigfigs 0
    put32(h, 16, SNAPLEN);
    put32(h, 20, LINKTYPE_ETHERNET);
    out.write(h);
    // Flushed now, as each frame is: a run that sends nothing, or ends without closing the
    // capture, still leaves a pcap file tcpdump reads (empty), not a zero-byte one it refuses.
    out.flush();
  }

  /** Creates (or truncates) {@code file}. */
  public static PcapWriter create(Path file, LongSupplier nanos) throws IOException {
    return new PcapWriter(new BufferedOutputStream(Files.newOutputStream(file)), nanos);
  }

  /**
   * Appends one frame stamped with the current virtual time. A write error is kept (see
   * {@link #failure}) rather than thrown into the switch: losing the capture must not lose the
   * frame.
   */
  public void write(byte[] f, int off, int len) {
    if (failure != null) {
      return;
    }
    long t = nanos.getAsLong();
    int caplen = Math.min(len, SNAPLEN);
    put32(header, 0, (int) (t / 1_000_000_000L));
    put32(header, 4, (int) (t % 1_000_000_000L / 1000));
    put32(header, 8, caplen);
    put32(header, 12, len);
    try {
      out.write(header);
      out.write(f, off, caplen);
      // Flushed frame by frame: the file can be read while the guest runs, and survives a kill.
      out.flush();
      frames++;
    } catch (IOException e) {
      failure = e;
    }
  }

  public long frames() {
    return frames;
  }

  /** The first write error, or null. */
  public IOException failure() {
    return failure;
  }

  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  private static void put16(byte[] b, int off, int v) {
    b[off] = (byte) v;
    b[off + 1] = (byte) (v >> 8);
  }

  private static void put32(byte[] b, int off, int v) {
    put16(b, off, v);
    put16(b, off + 2, v >> 16);
  }
}
