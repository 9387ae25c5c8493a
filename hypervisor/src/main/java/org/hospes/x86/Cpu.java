package org.hospes.x86;

import java.util.Arrays;

/**
 * The emulated i686 processor: one logical CPU, the "hardware" beneath the hypervisor.
 *
 * <p>{@link #run} executes guest code until something needs the caller (budget used, HLT, an
 * exception it cannot deliver, a device's stop request) and returns a {@link CpuExit} code, as
 * KVM_RUN does. Code is decoded once per physical address into {@link Block}s and cached per
 * physical page; a write to a page holding code drops that page's blocks. Status flags are kept
 * lazily ({@link #lfOp}): flag-setting instructions record operands and result, and a flag is
 * computed only when something reads it.
 *
 * <p>The hot paths (dispatch, register and memory access) allocate nothing: guest memory is one
 * {@code byte[]} reached through a small direct-mapped software TLB.
 */
public final class Cpu {
  public static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
  public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

  // Lazy flag kinds. Operands and result are stored sign-extended from the operand size, so bit
  // 31 of each stands for the operand's top bit and no flag needs the size.
  static final int LF_NONE = 0;
  static final int LF_ADD = 1;
  static final int LF_SUB = 2;
  static final int LF_LOGIC = 3;
  static final int LF_INC = 4;
  static final int LF_DEC = 5;
  /** ZF/SF/PF from the result, CF and OF given explicitly, AF clear (shifts, multiplies). */
  static final int LF_CFOF = 6;

  static final int[] SHIFT = {24, 16, 0};
  static final int[] MASK = {0xFF, 0xFFFF, -1};
  static final int[] BITS = {8, 16, 32};

  private static final int TLB_BITS = 12;
  private static final int TLB_SIZE = 1 << TLB_BITS;
  private static final int TLB_MASK = TLB_SIZE - 1;

  private static final int F0_MEM = 1 << 28;
  private static final int F0_A16 = 1 << 27;

  // ------------------------------------------------------------------ architectural state

  /** EAX..EDI, then a ninth register that always holds zero (absent base or index). */
  final int[] r = new int[9];
  int eip;
  /** EFLAGS; its status bits are stale while {@link #lfOp} is not {@link #LF_NONE}. */
  int flags = Flags.FIXED1;
  int lfOp;
  int lfA;
  int lfB;
  int lfR;
  int lfCf;
  int lfOf;

  final int[] segSel = new int[6];
  final int[] segBase = new int[6];
  final int[] segLimit = new int[6];
  int cpl;
  /** Stack-address size: true when SS is a 32-bit (B=1) segment. */
  boolean ss32 = true;
  /** Decode mode of the code segment ({@link Decoder#MODE_DEF32}). */
  int mode = Decoder.MODE_DEF32;

  // ------------------------------------------------------------------ run state

  long icount;
  private long udCount;
  private int excVector;
  private int excError;
  private boolean stopRequested;
  /** EIP at the start of the block being executed; relative branch targets are based on it. */
  int blockEip;
  /** Bumped whenever translations may have changed, so chained block links are re-checked. */
  int epoch;

  // ------------------------------------------------------------------ memory

  private final MemoryBus mem;
  private final IoBus io;
  private final byte[] ram;
  private final long ramSize;
  private final int[] rTag = new int[TLB_SIZE];
  private final int[] rOff = new int[TLB_SIZE];
  private final int[] wTag = new int[TLB_SIZE];
  private final int[] wOff = new int[TLB_SIZE];

  // ------------------------------------------------------------------ decoded code cache

  private final Decoder decoder = new Decoder(this);
  /** Per RAM page: blocks by start offset, or null when the page holds no decoded code. */
  private final Block[][] pageBlocks;
  /** Per RAM page: blocks that start in an earlier page and run into this one. */
  private final Block[][] pageSpill;

  public Cpu(MemoryBus mem, IoBus io) {
    this.mem = mem;
    this.io = io;
    this.ram = mem.ram;
    this.ramSize = mem.ramSize;
    int pages = (int) (ramSize >>> 12);
    this.pageBlocks = new Block[pages][];
    this.pageSpill = new Block[pages][];
    flushTlb();
    mem.setCodeWriteListener(this::codeWritten);
  }

  // ================================================================== public API

  public MemoryBus memory() {
    return mem;
  }

  public IoBus io() {
    return io;
  }

  /** General register by number (EAX=0 ... EDI=7). */
  public int reg(int reg) {
    return r[reg & 7];
  }

  public void setReg(int reg, int value) {
    r[reg & 7] = value;
  }

  public int eip() {
    return eip;
  }

  public void setEip(int eip) {
    this.eip = eip;
  }

  /** EFLAGS with all lazily kept status flags materialised; bit 1 reads as 1. */
  public int eflags() {
    if (lfOp == LF_NONE) {
      return flags;
    }
    return (flags & ~Flags.STATUS) | cf() | pf() | af() | zf() | sf() | of();
  }

  public void setEflags(int value) {
    flags = (value | Flags.FIXED1) & ~(0x8 | 0x20 | 0x8000) & 0x003F_7FFF;
    lfOp = LF_NONE;
  }

  /** 32-bit flat protected mode, CPL 0, all segments base 0 limit 4 GiB, paging off. */
  public void resetFlat32() {
    for (int s = 0; s < 6; s++) {
      segSel[s] = s == CS ? 0x08 : s == ES || s == DS || s == SS ? 0x10 : 0;
      segBase[s] = 0;
      segLimit[s] = -1;
    }
    cpl = 0;
    ss32 = true;
    mode = Decoder.MODE_DEF32;
    setEflags(Flags.FIXED1);
    flushTlb();
  }

  /** Sets a segment register's hidden base directly, without descriptor checks. */
  public void setSegmentBase(int seg, int base) {
    segBase[seg] = base;
    epoch++;
  }

  public int segmentBase(int seg) {
    return segBase[seg];
  }

  public int segmentSelector(int seg) {
    return segSel[seg];
  }

  /** Instructions retired since creation (a REP string instruction counts once). */
  public long instructions() {
    return icount;
  }

  public int exceptionVector() {
    return excVector;
  }

  public int exceptionErrorCode() {
    return excError;
  }

  /** Opcodes that raised #UD because they are undefined or not implemented. */
  public long undefinedOpcodes() {
    return udCount;
  }

  /** Asks {@link #run} to return {@link CpuExit#STOPPED} after the current instruction. */
  public void requestStop() {
    stopRequested = true;
  }

  /**
   * Runs at most {@code maxInstructions} instructions and returns a {@link CpuExit} code. A REP
   * string instruction counts as one instruction and always completes.
   */
  public int run(long maxInstructions) {
    long limit = maxInstructions > Long.MAX_VALUE - icount ? Long.MAX_VALUE
        : icount + maxInstructions;
    stopRequested = false;
    Block prev = null;
    while (true) {
      if (icount >= limit) {
        return CpuExit.BUDGET;
      }
      Block b;
      try {
        b = nextBlock(prev);
      } catch (CpuFault f) {
        return CpuExit.EXCEPTION;
      }
      int exit = execBlock(b, limit);
      if (exit >= 0) {
        return exit;
      }
      prev = b;
    }
  }

  // ================================================================== block lookup

  private Block nextBlock(Block prev) {
    int e = eip;
    if (prev != null && prev.linkEpoch == epoch) {
      Block c = prev.next0;
      if (c != null && prev.next0Eip == e && c.valid) {
        return c;
      }
      c = prev.next1;
      if (c != null && prev.next1Eip == e && c.valid) {
        return c;
      }
    }
    Block b = lookup(e);
    if (prev != null && b.physAddr >= 0) {
      if (prev.linkEpoch != epoch) {
        prev.linkEpoch = epoch;
        prev.next0 = null;
        prev.next1 = null;
      }
      if (prev.next0 == null || !prev.next0.valid) {
        prev.next0 = b;
        prev.next0Eip = e;
      } else {
        prev.next1 = b;
        prev.next1Eip = e;
      }
    }
    return b;
  }

  private Block lookup(int e) {
    int lin = segBase[CS] + e;
    long phys = translateCode(lin);
    if (phys >= ramSize) {
      // Code outside RAM (ROM or a device): decode every time, never cache.
      return decoder.decode(lin, -1, mode);
    }
    int page = (int) (phys >>> 12);
    int off = (int) phys & 0xFFF;
    Block[] at = pageBlocks[page];
    if (at != null) {
      Block b = at[off];
      if (b != null && b.mode == mode) {
        return b;
      }
    }
    Block b = decoder.decode(lin, phys, mode);
    if (at == null) {
      at = new Block[4096];
      pageBlocks[page] = at;
      markCodePage(page);
    }
    at[off] = b;
    if (b.secondPage >= 0 && b.secondPage < pageBlocks.length) {
      int p2 = (int) b.secondPage;
      Block[] spill = pageSpill[p2];
      spill = spill == null ? new Block[4] : Arrays.copyOf(spill, spill.length + 1);
      spill[spill.length - 1] = b;
      pageSpill[p2] = spill;
      markCodePage(p2);
    }
    return b;
  }

  private void markCodePage(int page) {
    if (mem.codePages[page] == 0) {
      mem.codePages[page] = 1;
      // Writes to a code page must take the slow path so stale code is noticed.
      Arrays.fill(wTag, -1);
    }
  }

  /** Drops every decoded block that covers physical page {@code page}. */
  private void invalidateCodePage(int page) {
    Block[] at = pageBlocks[page];
    if (at != null) {
      for (Block b : at) {
        if (b != null) {
          b.valid = false;
        }
      }
      pageBlocks[page] = null;
    }
    Block[] spill = pageSpill[page];
    if (spill != null) {
      for (Block b : spill) {
        if (b != null) {
          b.valid = false;
          Block[] home = pageBlocks[(int) (b.physAddr >>> 12)];
          int off = (int) b.physAddr & 0xFFF;
          if (home != null && home[off] == b) {
            home[off] = null;
          }
        }
      }
      pageSpill[page] = null;
    }
    mem.codePages[page] = 0;
  }

  private void codeWritten(long pa, int len) {
    long last = pa + len - 1;
    for (long p = pa >>> 12; p <= last >>> 12 && p < pageBlocks.length; p++) {
      invalidateCodePage((int) p);
    }
  }

  // ================================================================== execution

  /** Runs one block; returns a {@link CpuExit} code, or -1 to continue with the next block. */
  private int execBlock(Block b, long limit) {
    final int[] code = b.code;
    final int n = b.count;
    long remaining = limit - icount;
    final int stop = remaining < n ? (int) remaining : n;
    final int base = eip;
    blockEip = base;
    eip = base + b.endOffset;
    int i = 0;
    try {
      while (i < stop) {
        final int p = i << 2;
        final int f0 = code[p];
        final int d = code[p + 1];
        final int imm = code[p + 2];
        final int f3 = code[p + 3];
        i++;
        switch (f0 & 0x3FF) {
          case Op.UD: raiseUndefined(f3 >>> 20); break;
          case Op.NOP: break;
          case Op.ALU_EG: Alu.aluEG(this, f0, d, f3 >>> 20); break;
          case Op.ALU_GE: Alu.aluGE(this, f0, d, f3 >>> 20); break;
          case Op.ALU_EI: Alu.aluEI(this, f0, d, imm, f3 >>> 20); break;
          case Op.TEST_EG: Alu.testEG(this, f0, d); break;
          case Op.TEST_EI: Alu.testEI(this, f0, d, imm); break;
          case Op.INC_E: Alu.incE(this, f0, d); break;
          case Op.DEC_E: Alu.decE(this, f0, d); break;
          case Op.NOT_E: Alu.notE(this, f0, d); break;
          case Op.NEG_E: Alu.negE(this, f0, d); break;
          case Op.MUL_E: MulDiv.mul(this, f0, d); break;
          case Op.IMUL_E: MulDiv.imul1(this, f0, d); break;
          case Op.DIV_E: MulDiv.div(this, f0, d); break;
          case Op.IDIV_E: MulDiv.idiv(this, f0, d); break;
          case Op.IMUL_GE: MulDiv.imulGE(this, f0, d); break;
          case Op.IMUL_GEI: MulDiv.imulGEI(this, f0, d, imm); break;
          case Op.SHIFT_EI: Shift.shiftE(this, f0, d, f3 >>> 20, imm); break;
          case Op.SHIFT_ECL: Shift.shiftE(this, f0, d, f3 >>> 20, r[ECX]); break;
          case Op.SHLD_I: Shift.shld(this, f0, d, imm); break;
          case Op.SHLD_CL: Shift.shld(this, f0, d, r[ECX]); break;
          case Op.SHRD_I: Shift.shrd(this, f0, d, imm); break;
          case Op.SHRD_CL: Shift.shrd(this, f0, d, r[ECX]); break;
          case Op.BT_EG: BitOps.btEG(this, f0, d, f3 >>> 20); break;
          case Op.BT_EI: BitOps.btEI(this, f0, d, imm, f3 >>> 20); break;
          case Op.BSF: BitOps.bsf(this, f0, d); break;
          case Op.BSR: BitOps.bsr(this, f0, d); break;
          case Op.BSWAP: BitOps.bswap(this, f0); break;
          case Op.XCHG_EG: DataXfer.xchg(this, f0, d); break;
          case Op.XADD: DataXfer.xadd(this, f0, d); break;
          case Op.CMPXCHG: DataXfer.cmpxchg(this, f0, d); break;
          case Op.CMPXCHG8B: DataXfer.cmpxchg8b(this, f0, d); break;
          case Op.CMOV: DataXfer.cmov(this, f0, d, f3 >>> 20); break;
          case Op.SETCC: setE(f0, d, 0, cond(f3 >>> 20) ? 1 : 0); break;
          case Op.JCC:
            if (cond(f3 >>> 20)) {
              jumpTo(f0, base + imm);
            }
            break;
          case Op.JZ:
            if (lfOp == LF_NONE ? (flags & Flags.ZF) != 0 : lfR == 0) {
              jumpTo(f0, base + imm);
            }
            break;
          case Op.JNZ:
            if (lfOp == LF_NONE ? (flags & Flags.ZF) == 0 : lfR != 0) {
              jumpTo(f0, base + imm);
            }
            break;
          case Op.JMP: jumpTo(f0, base + imm); break;
          case Op.JMP_E: jumpTo(f0, getE(f0, d, size(f0))); break;
          case Op.CALL: {
            pushSized(size(f0), base + (f3 & 0xFFFF));
            jumpTo(f0, base + imm);
            break;
          }
          case Op.CALL_E: {
            int target = getE(f0, d, size(f0));
            pushSized(size(f0), base + (f3 & 0xFFFF));
            jumpTo(f0, target);
            break;
          }
          case Op.RET: DataXfer.ret(this, f0, imm); break;
          case Op.LOOP: Control.loop(this, f0, f3 >>> 20, base + imm); break;
          case Op.MOV_EG: setE(f0, d, size(f0), getG(f0, size(f0))); break;
          case Op.MOV_GE: setG(f0, size(f0), getE(f0, d, size(f0))); break;
          case Op.MOV_EI: setE(f0, d, size(f0), imm); break;
          case Op.MOVZX: setG(f0, size(f0), getE(f0, d, f3 >>> 20)); break;
          case Op.MOVSX: {
            int sub = f3 >>> 20;
            int v = getE(f0, d, sub);
            setG(f0, size(f0), sub == 0 ? (byte) v : (short) v);
            break;
          }
          case Op.LEA: setG(f0, size(f0), offset(f0, d)); break;
          case Op.PUSH_E: pushSized(size(f0), getE(f0, d, size(f0))); break;
          case Op.PUSH_I: pushSized(size(f0), imm); break;
          case Op.POP_E: DataXfer.popE(this, f0, d); break;
          case Op.PUSHA: DataXfer.pusha(this, size(f0)); break;
          case Op.POPA: DataXfer.popa(this, size(f0)); break;
          case Op.PUSHF: DataXfer.pushf(this, size(f0)); break;
          case Op.POPF: DataXfer.popf(this, size(f0)); break;
          case Op.ENTER: DataXfer.enter(this, size(f0), imm, f3 >>> 20); break;
          case Op.LEAVE: DataXfer.leave(this, size(f0)); break;
          case Op.CBW:
            if (size(f0) == 1) {
              r[EAX] = (r[EAX] & 0xFFFF_0000) | ((byte) r[EAX] & 0xFFFF);
            } else {
              r[EAX] = (short) r[EAX];
            }
            break;
          case Op.CWD:
            if (size(f0) == 1) {
              r[EDX] = (r[EDX] & 0xFFFF_0000) | (((short) r[EAX] >> 15) & 0xFFFF);
            } else {
              r[EDX] = r[EAX] >> 31;
            }
            break;
          case Op.XLAT: {
            int off = r[EBX] + (r[EAX] & 0xFF);
            if ((f0 & F0_A16) != 0) {
              off &= 0xFFFF;
            }
            setReg8(0, read8(segBase[(f0 >>> 24) & 7] + off));
            break;
          }
          case Op.LAHF: {
            int f = eflags();
            r[EAX] = (r[EAX] & 0xFFFF_00FF)
                | (f & (Flags.SF | Flags.ZF | Flags.AF | Flags.PF | Flags.CF | 2)) << 8;
            break;
          }
          case Op.SAHF: {
            int mask = Flags.SF | Flags.ZF | Flags.AF | Flags.PF | Flags.CF;
            setEflags((eflags() & ~mask) | ((r[EAX] >>> 8) & mask));
            break;
          }
          case Op.FLAGOP: flagOp(f3 >>> 20); break;
          case Op.BCD: Bcd.exec(this, f3 >>> 20, imm); break;
          case Op.MOVS: StringOps.movs(this, f0, f3 >>> 20); break;
          case Op.CMPS: StringOps.cmps(this, f0, f3 >>> 20); break;
          case Op.SCAS: StringOps.scas(this, f0, f3 >>> 20); break;
          case Op.LODS: StringOps.lods(this, f0, f3 >>> 20); break;
          case Op.STOS: StringOps.stos(this, f0, f3 >>> 20); break;
          case Op.INS: StringOps.ins(this, f0, f3 >>> 20); break;
          case Op.OUTS: StringOps.outs(this, f0, f3 >>> 20); break;
          case Op.IN: {
            int port = (f3 >>> 20) != 0 ? r[EDX] & 0xFFFF : imm & 0xFF;
            int sz = size(f0);
            setReg(sz, EAX, io.in(port, 1 << sz));
            break;
          }
          case Op.OUT: {
            int port = (f3 >>> 20) != 0 ? r[EDX] & 0xFFFF : imm & 0xFF;
            int sz = size(f0);
            io.out(port, 1 << sz, r[EAX] & MASK[sz]);
            break;
          }
          case Op.CPUID: CpuId.exec(this); break;
          case Op.RDTSC: {
            long tsc = icount + i;
            r[EAX] = (int) tsc;
            r[EDX] = (int) (tsc >>> 32);
            break;
          }
          case Op.HLT:
            icount += i;
            return CpuExit.HLT;
          case Op.MOV_SR_E: loadSegment((f0 >>> 10) & 15, getE(f0, d, 1)); break;
          case Op.MOV_E_SR: setE(f0, d, size(f0), segSel[(f0 >>> 10) & 15]); break;
          case Op.PUSH_SR: pushSized(size(f0), segSel[f3 >>> 20]); break;
          case Op.POP_SR: {
            int sz = size(f0);
            int v = readStack(sz, 0);
            loadSegment(f3 >>> 20, v);
            adjustEsp(1 << sz);
            break;
          }
          case Op.INT: softwareInterrupt(imm); break;
          case Op.INTO:
            if (of() != 0) {
              softwareInterrupt(Exceptions.OF);
            }
            break;
          case Op.MOV_RR32:
            if ((f3 >>> 20) == 0) {
              r[(f0 >>> 14) & 15] = r[(f0 >>> 10) & 15];
            } else {
              r[(f0 >>> 10) & 15] = r[(f0 >>> 14) & 15];
            }
            break;
          case Op.LOAD32: r[(f0 >>> 10) & 15] = read32(linear(f0, d)); break;
          case Op.STORE32: write32(linear(f0, d), r[(f0 >>> 10) & 15]); break;
          case Op.ALU_RR32: Alu.aluRR32(this, f0, f3 >>> 20); break;
          case Op.ALU_RI32: Alu.aluRI32(this, f0, imm, f3 >>> 20); break;
          case Op.INC_R32: {
            int reg = (f0 >>> 14) & 15;
            int a = r[reg];
            lfCf = cf();
            lfA = a;
            lfB = 1;
            lfR = a + 1;
            lfOp = LF_INC;
            r[reg] = a + 1;
            break;
          }
          case Op.DEC_R32: {
            int reg = (f0 >>> 14) & 15;
            int a = r[reg];
            lfCf = cf();
            lfA = a;
            lfB = 1;
            lfR = a - 1;
            lfOp = LF_DEC;
            r[reg] = a - 1;
            break;
          }
          case Op.PUSH_R32: push32(r[(f0 >>> 14) & 15]); break;
          case Op.POP_R32: {
            int v = readStack(2, 0);
            adjustEsp(4);
            r[(f0 >>> 14) & 15] = v;
            break;
          }
          default: raiseUndefined(Exceptions.UD); break;
        }
        if (!b.valid) {
          break;
        }
      }
    } catch (CpuFault f) {
      int f3 = code[((i - 1) << 2) + 3];
      if (!trapping) {
        eip = base + (f3 & 0xFFFF) - ((f3 >>> 16) & 15);
        icount += i - 1;
      } else {
        trapping = false;
        icount += i;
      }
      return CpuExit.EXCEPTION;
    }
    icount += i;
    if (i < n) {
      eip = base + (code[((i - 1) << 2) + 3] & 0xFFFF);
    }
    if (stopRequested) {
      stopRequested = false;
      return CpuExit.STOPPED;
    }
    return -1;
  }

  /** Set when the exception being thrown is a trap (EIP already points past the instruction). */
  private boolean trapping;

  private void softwareInterrupt(int vector) {
    // Without an IDT (system architecture comes later) a software interrupt leaves the run loop
    // like any other undeliverable exception, with EIP after the instruction.
    trapping = true;
    excVector = vector;
    excError = 0;
    throw CpuFault.INSTANCE;
  }

  private void raiseUndefined(int vector) {
    if (vector == Exceptions.UD) {
      udCount++;
    }
    raise(vector, 0);
  }

  void raise(int vector, int errorCode) {
    excVector = vector;
    excError = errorCode;
    throw CpuFault.INSTANCE;
  }

  private void flagOp(int sub) {
    switch (sub) {
      case 0: setCfOnly(0); break;
      case 1: setCfOnly(1); break;
      case 2: setCfOnly(cf() ^ 1); break;
      case 3: flags &= ~Flags.DF; break;
      case 4: flags |= Flags.DF; break;
      case 5: flags &= ~Flags.IF; break;
      default: flags |= Flags.IF; break;
    }
  }

  /** Sets CF, leaving the other status flags as they are. */
  void setCfOnly(int cf) {
    int f = eflags();
    flags = (f & ~Flags.CF) | cf;
    lfOp = LF_NONE;
  }

  private void loadSegment(int seg, int selector) {
    // Descriptor tables arrive with the system architecture; until then a segment load only
    // changes the visible selector and keeps the flat hidden part.
    segSel[seg] = selector & 0xFFFF;
  }

  // ================================================================== control transfer

  void jumpTo(int f0, int target) {
    eip = size(f0) == 1 ? target & 0xFFFF : target;
  }

  boolean cond(int cc) {
    boolean t;
    switch (cc >>> 1) {
      case 0: t = of() != 0; break;
      case 1: t = cf() != 0; break;
      case 2: t = zf() != 0; break;
      case 3: t = (cf() | zf()) != 0; break;
      case 4: t = sf() != 0; break;
      case 5: t = pf() != 0; break;
      case 6: t = (sf() != 0) != (of() != 0); break;
      default: t = zf() != 0 || (sf() != 0) != (of() != 0); break;
    }
    return t ^ ((cc & 1) != 0);
  }

  // ================================================================== lazy flags

  int cf() {
    switch (lfOp) {
      case LF_NONE: return flags & Flags.CF;
      case LF_ADD: return ((lfA & lfB) | ((lfA | lfB) & ~lfR)) >>> 31;
      case LF_SUB: return ((~lfA & lfB) | ((~lfA | lfB) & lfR)) >>> 31;
      case LF_LOGIC: return 0;
      default: return lfCf;
    }
  }

  int pf() {
    if (lfOp == LF_NONE) {
      return flags & Flags.PF;
    }
    return (0x9669 >>> ((lfR ^ (lfR >>> 4)) & 0xF) & 1) << 2;
  }

  int af() {
    switch (lfOp) {
      case LF_NONE: return flags & Flags.AF;
      case LF_ADD: case LF_SUB: case LF_INC: case LF_DEC: return (lfA ^ lfB ^ lfR) & Flags.AF;
      default: return 0;
    }
  }

  int zf() {
    if (lfOp == LF_NONE) {
      return flags & Flags.ZF;
    }
    return lfR == 0 ? Flags.ZF : 0;
  }

  int sf() {
    if (lfOp == LF_NONE) {
      return flags & Flags.SF;
    }
    return (lfR >>> 31) << 7;
  }

  int of() {
    switch (lfOp) {
      case LF_NONE: return flags & Flags.OF;
      case LF_ADD: case LF_INC: return (((lfA ^ lfR) & (lfB ^ lfR)) >>> 31) << 11;
      case LF_SUB: case LF_DEC: return (((lfA ^ lfB) & (lfA ^ lfR)) >>> 31) << 11;
      case LF_LOGIC: return 0;
      default: return lfOf << 11;
    }
  }

  /** Records an arithmetic result; a, b, result are sign-extended from the operand size. */
  void setLazy(int op, int a, int b, int result) {
    lfOp = op;
    lfA = a;
    lfB = b;
    lfR = result;
  }

  // ================================================================== operands

  static int size(int f0) {
    return (f0 >>> 29) & 3;
  }

  static boolean isMem(int f0) {
    return (f0 & F0_MEM) != 0;
  }

  /** Effective address (offset within the segment) of a memory operand. */
  int offset(int f0, int d) {
    int[] r = this.r;
    int ea = r[(f0 >>> 14) & 15] + (r[(f0 >>> 18) & 15] << ((f0 >>> 22) & 3)) + d;
    return (f0 & F0_A16) != 0 ? ea & 0xFFFF : ea;
  }

  /** Linear address of a memory operand. */
  int linear(int f0, int d) {
    return segBase[(f0 >>> 24) & 7] + offset(f0, d);
  }

  int getReg(int size, int n) {
    switch (size) {
      case 2: return r[n];
      case 1: return r[n] & 0xFFFF;
      default: return n < 4 ? r[n] & 0xFF : (r[n - 4] >>> 8) & 0xFF;
    }
  }

  void setReg(int size, int n, int v) {
    switch (size) {
      case 2: r[n] = v; break;
      case 1: r[n] = (r[n] & 0xFFFF_0000) | (v & 0xFFFF); break;
      default: setReg8(n, v); break;
    }
  }

  void setReg8(int n, int v) {
    if (n < 4) {
      r[n] = (r[n] & ~0xFF) | (v & 0xFF);
    } else {
      r[n - 4] = (r[n - 4] & ~0xFF00) | ((v & 0xFF) << 8);
    }
  }

  int getG(int f0, int size) {
    return getReg(size, (f0 >>> 10) & 15);
  }

  void setG(int f0, int size, int v) {
    setReg(size, (f0 >>> 10) & 15, v);
  }

  /** Reads the r/m operand, zero-extended. */
  int getE(int f0, int d, int size) {
    if ((f0 & F0_MEM) != 0) {
      return readSized(size, linear(f0, d));
    }
    return getReg(size, (f0 >>> 14) & 15);
  }

  void setE(int f0, int d, int size, int v) {
    if ((f0 & F0_MEM) != 0) {
      writeSized(size, linear(f0, d), v);
    } else {
      setReg(size, (f0 >>> 14) & 15, v);
    }
  }

  int readSized(int size, int lin) {
    switch (size) {
      case 2: return read32(lin);
      case 1: return read16(lin);
      default: return read8(lin);
    }
  }

  void writeSized(int size, int lin, int v) {
    switch (size) {
      case 2: write32(lin, v); break;
      case 1: write16(lin, v); break;
      default: write8(lin, v); break;
    }
  }

  // ================================================================== stack

  /** Reads the stack at ESP + {@code delta} with the given operand size. */
  int readStack(int size, int delta) {
    int sp = r[ESP] + delta;
    if (!ss32) {
      sp &= 0xFFFF;
    }
    return readSized(size, segBase[SS] + sp);
  }

  void adjustEsp(int delta) {
    if (ss32) {
      r[ESP] += delta;
    } else {
      r[ESP] = (r[ESP] & 0xFFFF_0000) | ((r[ESP] + delta) & 0xFFFF);
    }
  }

  void push32(int v) {
    int sp = r[ESP] - 4;
    if (ss32) {
      write32(segBase[SS] + sp, v);
      r[ESP] = sp;
    } else {
      write32(segBase[SS] + (sp & 0xFFFF), v);
      adjustEsp(-4);
    }
  }

  void pushSized(int size, int v) {
    if (size == 2) {
      push32(v);
      return;
    }
    int sp = r[ESP] - 2;
    write16(segBase[SS] + (ss32 ? sp : sp & 0xFFFF), v);
    adjustEsp(-2);
  }

  int pop(int size) {
    int v = readStack(size, 0);
    adjustEsp(size == 2 ? 4 : 2);
    return v;
  }

  // ================================================================== memory

  /** Translates a linear address for an instruction fetch. Paging arrives later. */
  long translateCode(int lin) {
    return lin & 0xFFFF_FFFFL;
  }

  /** Physical page holding the code byte at {@code lin}. */
  long physPageOfCode(int lin) {
    return translateCode(lin) >>> 12;
  }

  int fetchCodeByte(int lin) {
    return mem.read8(translateCode(lin));
  }

  private long translateData(int lin) {
    return lin & 0xFFFF_FFFFL;
  }

  void flushTlb() {
    Arrays.fill(rTag, -1);
    Arrays.fill(wTag, -1);
    epoch++;
  }

  int read8(int lin) {
    int page = lin >>> 12;
    int idx = page & TLB_MASK;
    if (rTag[idx] == page) {
      return ram[lin + rOff[idx]] & 0xFF;
    }
    return readSlow(lin, 0);
  }

  int read16(int lin) {
    int page = lin >>> 12;
    int idx = page & TLB_MASK;
    if (rTag[idx] == page && (lin & 0xFFF) != 0xFFF) {
      return (short) MemoryBus.I16.get(ram, lin + rOff[idx]) & 0xFFFF;
    }
    return readSlow(lin, 1);
  }

  int read32(int lin) {
    int page = lin >>> 12;
    int idx = page & TLB_MASK;
    if (rTag[idx] == page && (lin & 0xFFF) <= 0xFFC) {
      return (int) MemoryBus.I32.get(ram, lin + rOff[idx]);
    }
    return readSlow(lin, 2);
  }

  void write8(int lin, int v) {
    int page = lin >>> 12;
    int idx = page & TLB_MASK;
    if (wTag[idx] == page) {
      ram[lin + wOff[idx]] = (byte) v;
      return;
    }
    writeSlow(lin, 0, v);
  }

  void write16(int lin, int v) {
    int page = lin >>> 12;
    int idx = page & TLB_MASK;
    if (wTag[idx] == page && (lin & 0xFFF) != 0xFFF) {
      MemoryBus.I16.set(ram, lin + wOff[idx], (short) v);
      return;
    }
    writeSlow(lin, 1, v);
  }

  void write32(int lin, int v) {
    int page = lin >>> 12;
    int idx = page & TLB_MASK;
    if (wTag[idx] == page && (lin & 0xFFF) <= 0xFFC) {
      MemoryBus.I32.set(ram, lin + wOff[idx], v);
      return;
    }
    writeSlow(lin, 2, v);
  }

  private int readSlow(int lin, int size) {
    int bytes = 1 << size;
    if ((lin & 0xFFF) + bytes > 0x1000) {
      // Page-crossing: byte by byte, each through its own translation.
      int v = 0;
      for (int k = 0; k < bytes; k++) {
        v |= read8(lin + k) << (8 * k);
      }
      return v;
    }
    long pa = translateData(lin);
    if (pa + bytes <= ramSize) {
      int idx = (lin >>> 12) & TLB_MASK;
      rTag[idx] = lin >>> 12;
      rOff[idx] = (int) (pa & ~0xFFFL) - (lin & ~0xFFF);
      return readSized(size, lin);
    }
    switch (size) {
      case 2: return mem.read32(pa);
      case 1: return mem.read16(pa);
      default: return mem.read8(pa);
    }
  }

  private void writeSlow(int lin, int size, int v) {
    int bytes = 1 << size;
    if ((lin & 0xFFF) + bytes > 0x1000) {
      for (int k = 0; k < bytes; k++) {
        write8(lin + k, v >>> (8 * k));
      }
      return;
    }
    long pa = translateData(lin);
    if (pa + bytes <= ramSize) {
      int page = (int) (pa >>> 12);
      if (mem.codePages[page] == 0) {
        int idx = (lin >>> 12) & TLB_MASK;
        wTag[idx] = lin >>> 12;
        wOff[idx] = (int) (pa & ~0xFFFL) - (lin & ~0xFFF);
        writeSized(size, lin, v);
        return;
      }
      // A page holding decoded code: a write that changes bytes drops its blocks.
      int p = (int) pa;
      int old;
      switch (size) {
        case 2: old = (int) MemoryBus.I32.get(ram, p); MemoryBus.I32.set(ram, p, v); break;
        case 1: old = (short) MemoryBus.I16.get(ram, p); MemoryBus.I16.set(ram, p, (short) v);
          old ^= (short) v;
          break;
        default: old = ram[p] ^ (byte) v; ram[p] = (byte) v; break;
      }
      boolean changed = size == 2 ? old != v : old != 0;
      if (changed) {
        invalidateCodePage(page);
      }
      return;
    }
    switch (size) {
      case 2: mem.write32(pa, v); break;
      case 1: mem.write16(pa, v); break;
      default: mem.write8(pa, v); break;
    }
  }
}
