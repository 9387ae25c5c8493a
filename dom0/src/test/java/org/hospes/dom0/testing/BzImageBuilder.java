package org.hospes.dom0.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds a small bzImage byte by byte: a boot sector with a 2.15 setup header, {@code
 * setupSects} sectors of (never run) setup code, and the given protected-mode code, so loader
 * tests need no kernel build.
 */
public final class BzImageBuilder {
  private int setupSects = 1;
  private int version = 0x20F;
  private int loadflags = 0x01;
  private long code32Start = 0x10_0000;
  private long initrdAddrMax = 0x7FFF_FFFFL;
  private long kernelAlignment = 0x20_0000;
  private boolean relocatable = true;
  private long cmdlineSize = 0x7FF;
  private long prefAddress = 0x20_0000;
  private long initSize = 0x1_0000;
  private byte[] code = {(byte) 0xF4};

  public BzImageBuilder setupSects(int n) {
    setupSects = n;
    return this;
  }

  public BzImageBuilder version(int v) {
    version = v;
    return this;
  }

  public BzImageBuilder loadflags(int f) {
    loadflags = f;
    return this;
  }

  public BzImageBuilder relocatable(boolean r) {
    relocatable = r;
    return this;
  }

  public BzImageBuilder prefAddress(long a) {
    prefAddress = a;
    return this;
  }

  public BzImageBuilder initSize(long s) {
    initSize = s;
    return this;
  }

  public BzImageBuilder initrdAddrMax(long a) {
    initrdAddrMax = a;
    return this;
  }

  public BzImageBuilder cmdlineSize(long s) {
    cmdlineSize = s;
    return this;
  }

  public BzImageBuilder code(byte[] c) {
    code = c.clone();
    return this;
  }

  public byte[] build() {
    int offset = (setupSects + 1) * 512;
    int paras = (code.length + 15) / 16;
    ByteBuffer b = ByteBuffer.allocate(offset + paras * 16).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0x1F1, (byte) setupSects);
    b.putInt(0x1F4, paras);
    b.putShort(0x1FE, (short) 0xAA55);
    b.put(0x200, (byte) 0xEB).put(0x201, (byte) 0x6A); // the header ends at 0x26C
    b.putInt(0x202, 0x5372_6448);
    b.putShort(0x206, (short) version);
    b.put(0x211, (byte) loadflags);
    b.putInt(0x214, (int) code32Start);
    b.putInt(0x22C, (int) initrdAddrMax);
    b.putInt(0x230, (int) kernelAlignment);
    b.put(0x234, (byte) (relocatable ? 1 : 0));
    b.putInt(0x238, (int) cmdlineSize);
    b.putLong(0x258, prefAddress);
    b.putInt(0x260, (int) initSize);
    // Setup code and anything past the header: a pattern that must never reach the kernel.
    for (int i = 0x26C; i < offset; i++) {
      b.put(i, (byte) 0xCC);
    }
    b.put(offset, code);
    return b.array();
  }
}
