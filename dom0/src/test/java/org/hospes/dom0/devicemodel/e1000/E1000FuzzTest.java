package org.hospes.dom0.devicemodel.e1000;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.devicemodel.FuzzDma;
import org.hospes.hv.testing.TestProperties;
import org.junit.jupiter.api.Test;

/**
 * A hostile e1000 driver: transmit and receive rings whose base and length lie past guest RAM
 * or across its end, heads and tails out of range, descriptors of every type with any length
 * and address (context descriptors with any offsets, TSO with any MSS and header length,
 * reserved types), random register writes of every size at every offset, CTRL.RST at any time,
 * the I/O window, and frames from the switch whenever. Invariants after each step (about 40,000
 * of them): no exception leaves the device; every write to guest RAM is one the 8254x may make
 * (a transmit descriptor's status byte, a receive descriptor's write-back half, or a buffer a
 * receive descriptor names, within the buffer size RCTL sets); a head the device moved is inside
 * its ring; each frame it sends is a frame (1 to 64 KiB + 4 bytes); no step takes more than a
 * bounded number of memory accesses. In the well-formed steps (legacy transmit descriptors,
 * plain receive) the frames and the written buffers must be exactly right. The seed and step
 * are printed on failure.
 */
class E1000FuzzTest {
  private static final long SEED = TestProperties.longValue("hospes.e1000fuzz.seed", 0x5EED_E1000L);
  private static final int STEPS = TestProperties.count("hospes.e1000fuzz.steps", 40_000);
  private static final int RAM = 256 << 10;
  private static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  private static final int[] KNOWN = {CTRL, STATUS, EECD, EERD, CTRL_EXT, MDIC, VET, ICR, ITR,
      ICS, IMS, IMC, RCTL, TCTL, TIPG, RDBAL, RDBAH, RDLEN, RDH, RDT, RDTR, RADV, TDBAL, TDBAH,
      TDLEN, TDH, TDT, TIDV, TADV, RXCSUM, MTA, RA, RA + 4, MPC, GPRC, TPT};

  private Random rnd;
  private FuzzDma dma;
  private E1000 nic;
  private final List<byte[]> sent = new ArrayList<>();
  private int step;
  private String what = "";
  private int exactTx;
  private int exactRx;

  private int r(int reg) {
    return nic.read(reg, 4);
  }

  private void w(int reg, int v) {
    nic.write(reg, 4, v);
  }

  /**
   * Something that makes the device work (a tail write, a frame): a head it moves must stay
   * inside its ring.
   */
  private void work(Runnable r) {
    int tdh = r(TDH);
    int rdh = r(RDH);
    r.run();
    int tn = r(TDLEN) / 16;
    int rn = r(RDLEN) / 16;
    if (r(TDH) != tdh && tn > 0) {
      assertThat(r(TDH)).as("TDH the device moved").isLessThan(tn);
    }
    if (r(RDH) != rdh && rn > 0) {
      assertThat(r(RDH)).as("RDH the device moved").isLessThan(rn);
    }
  }

  private long le64(long at) {
    long v = 0;
    for (int i = 7; i >= 0; i--) {
      v = v << 8 | (dma.ram[(int) at + i] & 0xFF);
    }
    return v;
  }

  private void put(long at, byte[] b) {
    if (b.length > 0 && dma.inRam(at, b.length)) {
      System.arraycopy(b, 0, dma.ram, (int) at, b.length);
    }
  }

  private static byte[] desc(long addr, long lower, long upper) {
    byte[] d = new byte[16];
    for (int i = 0; i < 8; i++) {
      d[i] = (byte) (addr >>> (8 * i));
    }
    for (int i = 0; i < 4; i++) {
      d[8 + i] = (byte) (lower >>> (8 * i));
      d[12 + i] = (byte) (upper >>> (8 * i));
    }
    return d;
  }

  /** The receive buffer size RCTL selects (8254x manual, RCTL.BSIZE and BSEX). */
  private int bufferSize() {
    int rctl = r(RCTL);
    int bsize = (rctl >>> RCTL_BSIZE_SHIFT) & 3;
    if ((rctl & RCTL_BSEX) != 0) {
      return bsize == 0 ? 2048 : 32768 >>> bsize;
    }
    return 2048 >>> bsize;
  }

  private long ringBase(int lo, int hi) {
    return (r(hi) & 0xFFFF_FFFFL) << 32 | (r(lo) & 0xFFFF_FFFFL);
  }

  /**
   * Vets each write the device makes: it must be a transmit descriptor's status byte, the
   * write-back half of a receive descriptor, or inside the buffer a receive descriptor names.
   */
  private void checkWrite(long gpa, int len) {
    int tn = r(TDLEN) / 16;
    long tb = ringBase(TDBAL, TDBAH);
    if (len == 1 && tn > 0 && gpa >= tb && gpa - tb < 16L * tn && (gpa - tb) % 16 == 12) {
      return;
    }
    int rn = r(RDLEN) / 16;
    long rb = ringBase(RDBAL, RDBAH);
    if (rn > 0 && len == 8 && gpa >= rb && gpa - rb < 16L * rn && (gpa - rb) % 16 == 8) {
      return;
    }
    int size = bufferSize();
    int head = r(RDH);
    for (int k = 0; k < rn; k++) {
      long at = rb + 16L * ((head + k) % rn);
      if (!dma.inRam(at, 8)) {
        continue;
      }
      long buf = le64(at);
      if (gpa >= buf && gpa - buf <= size - len) {
        return;
      }
    }
    throw new AssertionError(String.format("the device wrote %d bytes at 0x%x, which no"
        + " descriptor names", len, gpa));
  }

  @Test
  void aHostileDriverNeverMakesTheCardWriteWhereItMayNotOrThrow() {
    long t0 = System.nanoTime();
    rnd = new Random(SEED);
    dma = new FuzzDma(RAM);
    rnd.nextBytes(dma.ram);
    nic = new E1000("e1000fuzz", MAC, dma);
    nic.attach((from, f, off, len) -> {
      if (len < 1 || len > 0x10000 + 256 + 4) {
        throw new AssertionError("a frame of " + len + " bytes");
      }
      sent.add(Arrays.copyOfRange(f, off, off + len));
    });
    dma.onWrite(this::checkWrite);
    long slowest = 0;
    try {
      for (step = 0; step < STEPS; step++) {
        dma.resetBudget();
        long s0 = System.nanoTime();
        step();
        slowest = Math.max(slowest, System.nanoTime() - s0);
        sent.clear();
      }
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("E1000FuzzTest seed 0x" + Long.toHexString(SEED) + ", step "
          + step + " (" + what + "): " + e, e);
    }
    E1000Stats st = nic.stats();
    assertThat(exactTx).isGreaterThan(STEPS / 20);
    assertThat(exactRx).isGreaterThan(STEPS / 20);
    System.out.printf("e1000 fuzz: %d steps in %.1f s (slowest %.1f ms), %s%n", STEPS,
        (System.nanoTime() - t0) / 1e9, slowest / 1e6, st);
  }

  private void step() {
    int k = rnd.nextInt(100);
    if (k < 15) {
      exactTransmit();
    } else if (k < 30) {
      exactReceive();
    } else if (k < 50) {
      hostileTransmit();
    } else if (k < 65) {
      hostileReceive();
    } else if (k < 85) {
      randomRegisters();
    } else if (k < 92) {
      what = "I/O window";
      for (int i = 0; i < 8; i++) {
        int port = rnd.nextInt(E1000.IO_SIZE);
        int size = new int[] {1, 2, 4}[rnd.nextInt(3)];
        if (rnd.nextBoolean()) {
          nic.ioWindow().in(port, size);
        } else {
          nic.ioWindow().out(port, size, rnd.nextBoolean() ? KNOWN[rnd.nextInt(KNOWN.length)]
              : rnd.nextInt());
        }
      }
    } else {
      what = "frames from the switch";
      for (int i = 0; i < 1 + rnd.nextInt(4); i++) {
        byte[] f = new byte[rnd.nextInt(20) == 0 ? 14 + rnd.nextInt(20000) : 14 + rnd.nextInt(1600)];
        rnd.nextBytes(f);
        if (rnd.nextBoolean()) {
          System.arraycopy(MAC, 0, f, 0, 6);
        }
        work(() -> nic.deliver(f, 0, f.length));
      }
    }
  }

  /** A ring base: usually in RAM, now and then past it, across its end, or above 4 GiB. */
  private long hostileBase(int bytes) {
    return switch (rnd.nextInt(10)) {
      case 0 -> RAM - 16L * (1 + rnd.nextInt(8));
      case 1 -> RAM + 16L * rnd.nextInt(1 << 16);
      case 2 -> (long) rnd.nextInt(16) << 32 | rnd.nextInt() & 0xFFFF_FFF0L;
      default -> 16L * rnd.nextInt((RAM - bytes) / 16);
    };
  }

  private long hostileAddress(int len) {
    return switch (rnd.nextInt(12)) {
      case 0 -> RAM - len / 2;
      case 1 -> RAM + rnd.nextInt(1 << 20);
      case 2 -> -1L - rnd.nextInt(100);
      case 3 -> 1L << 40;
      default -> rnd.nextInt(RAM - Math.max(len, 1));
    };
  }

  private void program(int lo, int hi, int len, long base, int lenBytes) {
    w(lo, (int) base);
    w(hi, (int) (base >>> 32));
    w(len, lenBytes);
  }

  /** Legacy transmit descriptors, well formed: the frames sent must be exactly theirs. */
  private void exactTransmit() {
    int n = 8 * (1 + rnd.nextInt(16));
    long base = 16L * rnd.nextInt(0x1000);
    long bufs = 0x20000;
    what = "well-formed transmit";
    boolean pad = rnd.nextBoolean();
    w(CTRL, CTRL_RST); // no half-gathered packet from before
    w(CTRL, CTRL_SLU | CTRL_FD);
    program(TDBAL, TDBAH, TDLEN, base, n * 16);
    int head = rnd.nextInt(n);
    w(TDH, head);
    w(TDT, head);
    w(TCTL, TCTL_EN | (pad ? TCTL_PSP : 0));
    int frames = 1 + rnd.nextInt(3);
    List<byte[]> expect = new ArrayList<>();
    int slot = head;
    long at = bufs;
    int used = 0;
    for (int f = 0; f < frames && used + 4 < n; f++) {
      int parts = 1 + rnd.nextInt(3);
      java.io.ByteArrayOutputStream frame = new java.io.ByteArrayOutputStream();
      for (int p = 0; p < parts; p++) {
        int len = 1 + rnd.nextInt(500);
        byte[] data = new byte[len];
        rnd.nextBytes(data);
        put(at, data);
        frame.write(data, 0, len);
        int cmd = TXD_CMD_RS | (p + 1 == parts ? TXD_CMD_EOP : 0);
        put(base + 16L * slot, desc(at, len | (long) cmd << 24, 0));
        at += len;
        slot = (slot + 1) % n;
        used++;
      }
      byte[] fr = frame.toByteArray();
      if (pad && fr.length < 60) {
        fr = Arrays.copyOf(fr, 60);
      }
      expect.add(fr);
    }
    w(TDT, slot);
    assertThat(r(TDH)).isEqualTo(slot);
    assertThat(sent).hasSameSizeAs(expect);
    for (int i = 0; i < expect.size(); i++) {
      assertThat(sent.get(i)).as("frame %d", i).isEqualTo(expect.get(i));
    }
    for (int s = head; s != slot; s = (s + 1) % n) {
      assertThat(dma.ram[(int) (base + 16L * s + 12)] & TXD_STAT_DD_BIT).as("DD").isNotZero();
    }
    exactTx++;
  }

  private static final int TXD_STAT_DD_BIT = 1;

  /** Plain receive into good buffers: each frame must land whole in its own buffer. */
  private void exactReceive() {
    what = "well-formed receive";
    w(CTRL, CTRL_RST); // forget what the packet buffer holds
    w(CTRL, CTRL_SLU | CTRL_FD);
    int n = 8 * (1 + rnd.nextInt(16));
    long base = 16L * rnd.nextInt(0x1000);
    long bufs = 0x20000;
    program(RDBAL, RDBAH, RDLEN, base, n * 16);
    for (int i = 0; i < n; i++) {
      put(base + 16L * i, desc(bufs + 2048L * (i % 48), 0, 0));
    }
    int head = rnd.nextInt(n);
    w(RDH, head);
    int frames = 1 + rnd.nextInt(4);
    w(RDT, (head + frames + 1) % n);
    w(RCTL, RCTL_EN | RCTL_UPE | RCTL_MPE | RCTL_BAM | RCTL_SECRC);
    w(RXCSUM, 0);
    for (int f = 0; f < frames; f++) {
      byte[] fr = new byte[60 + rnd.nextInt(1455)];
      rnd.nextBytes(fr);
      int slot = (head + f) % n;
      nic.deliver(fr, 0, fr.length);
      long d = base + 16L * slot;
      long buf = le64(d);
      assertThat(Arrays.copyOfRange(dma.ram, (int) buf, (int) buf + fr.length)).as("frame %d", f)
          .isEqualTo(fr);
      int len = (dma.ram[(int) d + 8] & 0xFF) | (dma.ram[(int) d + 9] & 0xFF) << 8;
      assertThat(len).isEqualTo(fr.length);
      assertThat(dma.ram[(int) d + 12] & (RXD_STAT_DD | RXD_STAT_EOP))
          .isEqualTo(RXD_STAT_DD | RXD_STAT_EOP);
    }
    assertThat(r(RDH)).isEqualTo((head + frames) % n);
    exactRx++;
  }

  /** Any descriptors, any ring, any head and tail. */
  private void hostileTransmit() {
    what = "hostile transmit";
    if (rnd.nextInt(4) == 0) {
      int lenBytes = rnd.nextInt(10) == 0 ? rnd.nextInt() : 128 * (1 + rnd.nextInt(32));
      program(TDBAL, TDBAH, TDLEN, hostileBase(4096), lenBytes);
      w(TDH, rnd.nextInt(10) == 0 ? rnd.nextInt(0x10000) : rnd.nextInt(Math.max(1,
          (lenBytes & 0xFFF80) / 16)));
    }
    if (rnd.nextInt(8) == 0) {
      w(TCTL, rnd.nextInt(8) == 0 ? rnd.nextInt() : TCTL_EN | (rnd.nextBoolean() ? TCTL_PSP : 0));
    }
    int n = r(TDLEN) / 16;
    long base = ringBase(TDBAL, TDBAH);
    int tail = r(TDT);
    int count = 1 + rnd.nextInt(8);
    for (int i = 0; i < count && n > 0; i++) {
      int slot = (tail + i) % n;
      long addr = hostileAddress(2048);
      int kind = rnd.nextInt(10);
      long lower;
      long upper;
      if (kind < 4) {
        // Legacy: length, CSO, CMD (any bits).
        int len = rnd.nextInt(10) == 0 ? rnd.nextInt(0x10000) : rnd.nextInt(2000);
        lower = len | (long) rnd.nextInt(256) << 16 | (long) (rnd.nextInt(256) & ~TXD_CMD_DEXT)
            << 24;
        upper = rnd.nextLong() & 0xFFFF_FFFFL;
      } else if (kind < 7) {
        // Context: any offsets, MSS small or large, TSE or not.
        addr = rnd.nextLong();
        lower = rnd.nextInt(0x10000) | (long) (TXD_DTYP_CONTEXT << 20)
            | (long) (TXD_CMD_DEXT | rnd.nextInt(256)) << 24;
        int mss = rnd.nextInt(4) == 0 ? rnd.nextInt(4) : rnd.nextInt(0x10000);
        upper = (long) rnd.nextInt(256) << 8 | (long) mss << 16 | rnd.nextInt(256);
      } else if (kind < 9) {
        int len = rnd.nextInt(10) == 0 ? rnd.nextInt(0x100000) : rnd.nextInt(3000);
        lower = len | (long) TXD_DTYP_DATA << 20 | (long) (TXD_CMD_DEXT | rnd.nextInt(256)) << 24;
        upper = rnd.nextLong() & 0xFFFF_FFFFL;
      } else {
        // A reserved descriptor type.
        lower = rnd.nextInt(0x100000) | (long) (2 + rnd.nextInt(14)) << 20
            | (long) (TXD_CMD_DEXT | rnd.nextInt(256)) << 24;
        upper = rnd.nextLong();
      }
      put(base + 16L * slot, desc(addr, lower, upper));
    }
    int newTail = n == 0 ? rnd.nextInt(0x10000) : rnd.nextInt(12) == 0 ? rnd.nextInt(0x10000)
        : (tail + count) % n;
    work(() -> w(TDT, newTail));
  }

  /** Receive rings anywhere, buffers anywhere, tails anywhere; then frames. */
  private void hostileReceive() {
    what = "hostile receive";
    if (rnd.nextInt(4) == 0) {
      int lenBytes = rnd.nextInt(10) == 0 ? rnd.nextInt() : 128 * (1 + rnd.nextInt(32));
      program(RDBAL, RDBAH, RDLEN, hostileBase(4096), lenBytes);
      w(RDH, rnd.nextInt(10) == 0 ? rnd.nextInt(0x10000) : rnd.nextInt(Math.max(1,
          (lenBytes & 0xFFF80) / 16)));
    }
    if (rnd.nextInt(6) == 0) {
      w(RCTL, rnd.nextInt(6) == 0 ? rnd.nextInt() : RCTL_EN | RCTL_UPE | RCTL_BAM
          | rnd.nextInt(4) << RCTL_BSIZE_SHIFT | (rnd.nextBoolean() ? RCTL_BSEX : 0)
          | (rnd.nextBoolean() ? RCTL_LPE : 0) | (rnd.nextBoolean() ? RCTL_SECRC : 0));
    }
    if (rnd.nextInt(6) == 0) {
      w(RXCSUM, rnd.nextInt());
    }
    if (rnd.nextInt(10) == 0) {
      w(CTRL, CTRL_SLU | (rnd.nextBoolean() ? CTRL_VME : 0));
    }
    int n = r(RDLEN) / 16;
    long base = ringBase(RDBAL, RDBAH);
    int tail = r(RDT);
    int count = rnd.nextInt(8);
    for (int i = 0; i < count && n > 0; i++) {
      put(base + 16L * ((tail + i) % n), desc(hostileAddress(16384), rnd.nextLong(),
          rnd.nextLong()));
    }
    int newTail = n == 0 || rnd.nextInt(12) == 0 ? rnd.nextInt(0x10000) : (tail + count) % n;
    work(() -> w(RDT, newTail));
    for (int i = 0; i < rnd.nextInt(4); i++) {
      int len = rnd.nextInt(10) == 0 ? 14 + rnd.nextInt(17000) : 14 + rnd.nextInt(1600);
      byte[] f = new byte[len];
      rnd.nextBytes(f);
      if (rnd.nextInt(3) == 0 && len > 14) {
        // An IPv4 header, so that the checksum offload has something to parse.
        f[12] = 0x08;
        f[13] = 0x00;
        f[14] = 0x45;
      }
      if (rnd.nextInt(5) == 0) {
        f[12] = (byte) 0x81;
        f[13] = 0x00;
      }
      work(() -> nic.deliver(f, 0, len));
    }
  }

  /** Register writes of every size at any offset, mostly the known registers. */
  private void randomRegisters() {
    what = "random registers";
    for (int i = 0; i < 4; i++) {
      int off = rnd.nextInt(3) == 0 ? rnd.nextInt(E1000.MMIO_SIZE)
          : KNOWN[rnd.nextInt(KNOWN.length)] + (rnd.nextInt(4) == 0 ? rnd.nextInt(4) : 0);
      int size = new int[] {1, 2, 4}[rnd.nextInt(3)];
      if (rnd.nextBoolean()) {
        nic.read(off, size);
      } else {
        int value = off == CTRL && rnd.nextInt(3) == 0 ? CTRL_RST : rnd.nextInt();
        nic.write(off, size, value);
      }
    }
  }
}
