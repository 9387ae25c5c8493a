package org.hospes.dom0.devicemodel.virtio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.disk.DiskImage;

/**
 * virtio-blk (virtio 1.x, 5.2) on a {@link DiskImage}: one request queue of {@value #QUEUE_SIZE}
 * entries. Each request is a chain: the 16-byte header (le32 type, le32 reserved, le64 sector)
 * readable, the data, and one writable status byte at the very end.
 *
 * <ul>
 *   <li>VIRTIO_BLK_T_IN (0) and T_OUT (1) move whole 512-byte sectors within the capacity;
 *       T_OUT on a read-only disk (VIRTIO_BLK_F_RO offered) fails with IOERR.
 *   <li>T_FLUSH (4) makes every completed write durable (VIRTIO_BLK_F_FLUSH offered).
 *   <li>T_GET_ID (8) writes the device ID string: 20 bytes, NUL-padded if shorter.
 *   <li>Any other type: UNSUPP. A request the device cannot make sense of (too short, data
 *       not in the domain's memory, past the end) is IOERR; if it has no room for the status
 *       byte it is returned with nothing written and counted as an error.
 * </ul>
 *
 * <p>Offered besides: SEG_MAX, SIZE_MAX (so Linux bounds its scatter lists), BLK_SIZE 512 and
 * INDIRECT_DESC (Linux puts each request's segments in one indirect table). Data goes between the
 * image and the guest through one 64 KiB bounce buffer, whatever the request's size.
 */
public final class VirtioBlk implements VirtioDevice {
  public static final int DEVICE_TYPE = 2;
  public static final int QUEUE_SIZE = 128;
  public static final int SECTOR = 512;

  // Feature bits (5.2.3).
  public static final int F_SIZE_MAX = 1;
  public static final int F_SEG_MAX = 2;
  public static final int F_RO = 5;
  public static final int F_BLK_SIZE = 6;
  public static final int F_FLUSH = 9;

  // Request types and status values (5.2.6).
  public static final int T_IN = 0;
  public static final int T_OUT = 1;
  public static final int T_FLUSH = 4;
  public static final int T_GET_ID = 8;
  public static final int S_OK = 0;
  public static final int S_IOERR = 1;
  public static final int S_UNSUPP = 2;

  public static final int HEADER = 16;
  public static final int ID_BYTES = 20;
  /** Largest segment (SIZE_MAX) and segments per request (SEG_MAX): queue size - 2, as the
   *  header and status take two descriptors. */
  public static final int SIZE_MAX = 65536;
  public static final int SEG_MAX = QUEUE_SIZE - 2;

  // Configuration layout (5.2.4).
  private static final int CFG_CAPACITY = 0;
  private static final int CFG_SIZE_MAX = 8;
  private static final int CFG_SEG_MAX = 12;
  private static final int CFG_BLK_SIZE = 20;
  private static final int CONFIG_SIZE = 24;

  private final DiskImage disk;
  private final byte[] id;
  private final byte[] bounce = new byte[65536];
  private final byte[] header = new byte[HEADER];
  private final byte[] config = new byte[CONFIG_SIZE];
  private VirtioTransport transport;
  private GuestDma dma;

  public long reads;
  public long writes;
  public long flushes;
  public long getIds;
  public long bytesRead;
  public long bytesWritten;
  public long errors;
  public long unsupported;

  /** @param id the serial number Linux shows as /sys/block/vda/serial (at most 20 bytes used) */
  public VirtioBlk(DiskImage disk, String id) {
    this.disk = disk;
    this.id = id.getBytes(StandardCharsets.US_ASCII);
    long sectors = disk.sizeBytes() / SECTOR;
    for (int i = 0; i < 8; i++) {
      config[CFG_CAPACITY + i] = (byte) (sectors >>> (8 * i));
    }
    SplitVirtqueue.le32(config, CFG_SIZE_MAX, SIZE_MAX);
    SplitVirtqueue.le32(config, CFG_SEG_MAX, SEG_MAX);
    SplitVirtqueue.le32(config, CFG_BLK_SIZE, SECTOR);
  }

  public DiskImage disk() {
    return disk;
  }

  @Override
  public int deviceType() {
    return DEVICE_TYPE;
  }

  @Override
  public int pciClass() {
    return 0x010000; // mass storage, SCSI: what transitional virtio-blk devices report
  }

  @Override
  public int features() {
    int f = 1 << F_SIZE_MAX | 1 << F_SEG_MAX | 1 << F_BLK_SIZE | 1 << F_FLUSH
        | 1 << VirtioConstants.F_RING_INDIRECT_DESC;
    return disk.readOnly() ? f | 1 << F_RO : f;
  }

  @Override
  public int queueCount() {
    return 1;
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
    // Every field offered is read-only (no CONFIG_WCE).
  }

  @Override
  public void attach(VirtioTransport t) {
    this.transport = t;
    this.dma = t.dma();
  }

  @Override
  public void notify(int queue) {
    SplitVirtqueue q = transport.queue(queue);
    boolean any = false;
    DescriptorChain c;
    while ((c = q.pop()) != null) {
      int written = serve(c);
      q.pushUsed(c.head(), written);
      any = true;
    }
    if (any) {
      transport.usedBuffers(queue);
    }
  }

  /** Serves one request; returns the bytes written into the chain (data and status). */
  private int serve(DescriptorChain c) {
    long in = c.writableBytes();
    if (in < 1) {
      errors++;
      return 0;
    }
    long data = in - 1;
    int status;
    long written = 0;
    try {
      if (c.readableBytes() < HEADER) {
        throw new IllegalArgumentException("request header of " + c.readableBytes() + " bytes");
      }
      c.read(dma, 0, header, 0, HEADER);
      int type = SplitVirtqueue.le32(header, 0);
      long sector = SplitVirtqueue.le64(header, 8);
      switch (type) {
        case T_IN -> {
          checkRange(sector, data);
          copyToGuest(c, sector * SECTOR, data);
          reads++;
          bytesRead += data;
          written = data;
          status = S_OK;
        }
        case T_OUT -> {
          long len = c.readableBytes() - HEADER;
          checkRange(sector, len);
          if (disk.readOnly()) {
            throw new IOException("write to a read-only disk");
          }
          copyToDisk(c, sector * SECTOR, len);
          writes++;
          bytesWritten += len;
          status = S_OK;
        }
        case T_FLUSH -> {
          disk.flush();
          flushes++;
          status = S_OK;
        }
        case T_GET_ID -> {
          int n = (int) Math.min(ID_BYTES, data);
          java.util.Arrays.fill(bounce, 0, n, (byte) 0);
          System.arraycopy(id, 0, bounce, 0, Math.min(n, id.length));
          c.write(dma, 0, bounce, 0, n);
          getIds++;
          written = n;
          status = S_OK;
        }
        default -> {
          unsupported++;
          status = S_UNSUPP;
        }
      }
    } catch (IOException | IllegalArgumentException e) {
      errors++;
      status = S_IOERR;
      written = 0;
    }
    bounce[0] = (byte) status;
    try {
      c.write(dma, data, bounce, 0, 1);
    } catch (IllegalArgumentException e) {
      errors++;
      return (int) written;
    }
    return (int) Math.min(written + 1, Integer.MAX_VALUE);
  }

  private void checkRange(long sector, long bytes) {
    long capacity = disk.sizeBytes() / SECTOR;
    if (bytes % SECTOR != 0) {
      throw new IllegalArgumentException(bytes + " bytes is not whole sectors");
    }
    if (sector < 0 || sector > capacity || bytes / SECTOR > capacity - sector) {
      throw new IllegalArgumentException("sectors " + sector + "+" + bytes / SECTOR
          + " past the capacity " + capacity);
    }
  }

  private void copyToGuest(DescriptorChain c, long at, long len) throws IOException {
    for (long done = 0; done < len; ) {
      int n = (int) Math.min(bounce.length, len - done);
      disk.read(at + done, bounce, 0, n);
      c.write(dma, done, bounce, 0, n);
      done += n;
    }
  }

  private void copyToDisk(DescriptorChain c, long at, long len) throws IOException {
    for (long done = 0; done < len; ) {
      int n = (int) Math.min(bounce.length, len - done);
      c.read(dma, HEADER + done, bounce, 0, n);
      disk.write(at + done, bounce, 0, n);
      done += n;
    }
  }
}
