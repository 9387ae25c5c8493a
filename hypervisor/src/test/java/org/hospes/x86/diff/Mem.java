package org.hospes.x86.diff;

import java.io.ByteArrayOutputStream;

/**
 * A 32-bit memory operand: {@code [base + index*scale + disp]}, any part optional.
 *
 * <p>It encodes itself twice. For the host CPU in 64-bit mode the instruction carries 0x67, and
 * the absolute form {@code [disp32]} is written with a SIB byte (base=101 "none", index=100 "none")
 * because ModRM mod=00 rm=101 means RIP-relative there. For the emulator the plain form is used
 * when {@link #plainAbsolute} is set.
 */
final class Mem {
  final int base;
  final int index;
  final int scaleLog;
  final int disp;
  /** 0, 1 or 4 bytes of displacement; forced to 4 without a base and to 1 for EBP with none. */
  final int dispBytes;
  final boolean plainAbsolute;

  Mem(int base, int index, int scaleLog, int disp, int dispBytes, boolean plainAbsolute) {
    if (index == Regs.ESP) {
      throw new IllegalArgumentException("ESP cannot be an index");
    }
    if (base < 0) {
      dispBytes = 4;
    } else if (base == Regs.EBP && dispBytes == 0) {
      dispBytes = 1;
    }
    if (dispBytes == 0 && disp != 0 || dispBytes == 1 && disp != (byte) disp) {
      throw new IllegalArgumentException("displacement does not fit: " + disp);
    }
    this.base = base;
    this.index = index;
    this.scaleLog = index < 0 ? 0 : scaleLog;
    this.disp = disp;
    this.dispBytes = dispBytes;
    this.plainAbsolute = plainAbsolute && base < 0 && index < 0;
  }

  static Mem absolute(int address, boolean plain) {
    return new Mem(-1, -1, 0, address, 4, plain);
  }

  /** The effective address this operand computes from {@code regs}, wrapped at 32 bits. */
  int address(int[] regs) {
    int a = disp;
    if (base >= 0) {
      a += regs[base];
    }
    if (index >= 0) {
      a += regs[index] << scaleLog;
    }
    return a;
  }

  /** Appends ModRM, SIB and displacement with {@code reg} in the ModRM reg field. */
  void encode(int reg, boolean host, ByteArrayOutputStream out) {
    int mod = base < 0 ? 0 : dispBytes == 0 ? 0 : dispBytes == 1 ? 1 : 2;
    if (base < 0 && index < 0 && plainAbsolute && !host) {
      out.write(reg << 3 | 5);
    } else if (index < 0 && base >= 0 && base != Regs.ESP) {
      out.write(mod << 6 | reg << 3 | base);
    } else {
      out.write(mod << 6 | reg << 3 | 4);
      out.write(scaleLog << 6 | (index < 0 ? 4 : index) << 3 | (base < 0 ? 5 : base));
    }
    for (int i = 0; i < dispBytes; i++) {
      out.write(disp >>> (8 * i));
    }
  }

  String text(int size) {
    StringBuilder s = new StringBuilder();
    if (size > 0) {
      s.append(Regs.ptr(size)).append(' ');
    }
    s.append('[');
    boolean any = false;
    if (base >= 0) {
      s.append(Regs.r32(base));
      any = true;
    }
    if (index >= 0) {
      s.append(any ? "+" : "").append(Regs.r32(index)).append('*').append(1 << scaleLog);
      any = true;
    }
    if (!any) {
      s.append(Hex.h32(disp));
    } else if (dispBytes > 0) {
      s.append(disp < 0 ? "-" : "+").append(Hex.h32(disp < 0 && disp != Integer.MIN_VALUE ? -disp : disp));
    }
    return s.append(']').toString();
  }
}
