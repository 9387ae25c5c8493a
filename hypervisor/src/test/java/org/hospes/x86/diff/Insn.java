package org.hospes.x86.diff;

import java.io.ByteArrayOutputStream;

/**
 * One encoded instruction: the bytes run on the reference (host CPU in 64-bit mode, or QEMU), the
 * bytes run on the emulator, and a disassembly-like text.
 */
record Insn(byte[] ref, byte[] emu, String text) {

  /**
   * Builds an instruction from its parts in the order the SDM gives them: legacy prefixes, (0x67
   * on the host when the instruction addresses memory), opcode, ModRM/SIB/displacement, immediate.
   */
  static final class Builder {
    private final ByteArrayOutputStream prefixes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream opcode = new ByteArrayOutputStream();
    private final ByteArrayOutputStream imm = new ByteArrayOutputStream();
    private boolean addressesMemory;
    private Mem mem;
    private Mem16 mem16;
    private int modrmReg = -1;
    private int modrmRm = -1;
    private final boolean host;

    /** {@code host}: encode for the 64-bit host (adds 0x67 to memory forms, SIB absolute). */
    Builder(boolean host) {
      this.host = host;
    }

    Builder prefix(int b) {
      prefixes.write(b);
      return this;
    }

    Builder op(int... bytes) {
      for (int b : bytes) {
        opcode.write(b);
      }
      return this;
    }

    /** ModRM with a register operand in rm. */
    Builder modrmReg(int reg, int rm) {
      modrmReg = reg;
      modrmRm = rm;
      return this;
    }

    /** ModRM with a memory operand. */
    Builder modrmMem(int reg, Mem m) {
      modrmReg = reg;
      mem = m;
      addressesMemory = true;
      return this;
    }

    /** ModRM with a 16-bit memory operand; the caller adds the 0x67 prefix. */
    Builder modrmMem16(int reg, Mem16 m) {
      modrmReg = reg;
      mem16 = m;
      return this;
    }

    /** Marks an instruction that addresses memory implicitly (strings, XLAT, moffs). */
    Builder implicitMemory() {
      addressesMemory = true;
      return this;
    }

    Builder imm(int value, int bytes) {
      for (int i = 0; i < bytes; i++) {
        imm.write(value >>> (8 * i));
      }
      return this;
    }

    byte[] bytes(boolean forHost) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(prefixes.toByteArray());
      if (forHost && host && addressesMemory) {
        out.write(0x67);
      }
      out.writeBytes(opcode.toByteArray());
      if (mem16 != null) {
        mem16.encode(modrmReg, out);
      } else if (mem != null) {
        mem.encode(modrmReg, forHost && host, out);
      } else if (modrmReg >= 0) {
        out.write(0xC0 | modrmReg << 3 | modrmRm);
      }
      out.writeBytes(imm.toByteArray());
      return out.toByteArray();
    }

    Insn build(String text) {
      return new Insn(bytes(true), bytes(false), text);
    }
  }
}
