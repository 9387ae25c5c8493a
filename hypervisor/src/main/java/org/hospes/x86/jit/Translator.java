package org.hospes.x86.jit;

import static org.objectweb.asm.Opcodes.ACC_FINAL;
import static org.objectweb.asm.Opcodes.ACC_PRIVATE;
import static org.objectweb.asm.Opcodes.ACC_PUBLIC;
import static org.objectweb.asm.Opcodes.ACC_STATIC;
import static org.objectweb.asm.Opcodes.ACC_SUPER;
import static org.objectweb.asm.Opcodes.ALOAD;
import static org.objectweb.asm.Opcodes.ASTORE;
import static org.objectweb.asm.Opcodes.BALOAD;
import static org.objectweb.asm.Opcodes.BIPUSH;
import static org.objectweb.asm.Opcodes.CHECKCAST;
import static org.objectweb.asm.Opcodes.DUP;
import static org.objectweb.asm.Opcodes.DUP2;
import static org.objectweb.asm.Opcodes.GETFIELD;
import static org.objectweb.asm.Opcodes.GETSTATIC;
import static org.objectweb.asm.Opcodes.GOTO;
import static org.objectweb.asm.Opcodes.I2B;
import static org.objectweb.asm.Opcodes.I2L;
import static org.objectweb.asm.Opcodes.INEG;
import static org.objectweb.asm.Opcodes.LMUL;
import static org.objectweb.asm.Opcodes.I2S;
import static org.objectweb.asm.Opcodes.IADD;
import static org.objectweb.asm.Opcodes.IALOAD;
import static org.objectweb.asm.Opcodes.IAND;
import static org.objectweb.asm.Opcodes.ICONST_0;
import static org.objectweb.asm.Opcodes.IASTORE;
import static org.objectweb.asm.Opcodes.IFEQ;
import static org.objectweb.asm.Opcodes.IFGE;
import static org.objectweb.asm.Opcodes.IFNE;
import static org.objectweb.asm.Opcodes.IFNULL;
import static org.objectweb.asm.Opcodes.IFGT;
import static org.objectweb.asm.Opcodes.IF_ICMPGT;
import static org.objectweb.asm.Opcodes.IF_ICMPNE;
import static org.objectweb.asm.Opcodes.ISHR;
import static org.objectweb.asm.Opcodes.LCMP;
import static org.objectweb.asm.Opcodes.ILOAD;
import static org.objectweb.asm.Opcodes.INVOKESPECIAL;
import static org.objectweb.asm.Opcodes.INVOKESTATIC;
import static org.objectweb.asm.Opcodes.INVOKEVIRTUAL;
import static org.objectweb.asm.Opcodes.IOR;
import static org.objectweb.asm.Opcodes.IRETURN;
import static org.objectweb.asm.Opcodes.ISHL;
import static org.objectweb.asm.Opcodes.ISTORE;
import static org.objectweb.asm.Opcodes.ISUB;
import static org.objectweb.asm.Opcodes.IUSHR;
import static org.objectweb.asm.Opcodes.IXOR;
import static org.objectweb.asm.Opcodes.LADD;
import static org.objectweb.asm.Opcodes.LCONST_0;
import static org.objectweb.asm.Opcodes.LSUB;
import static org.objectweb.asm.Opcodes.ICONST_M1;
import static org.objectweb.asm.Opcodes.IFLT;
import static org.objectweb.asm.Opcodes.L2I;
import static org.objectweb.asm.Opcodes.LLOAD;
import static org.objectweb.asm.Opcodes.LSTORE;
import static org.objectweb.asm.Opcodes.LUSHR;
import static org.objectweb.asm.Opcodes.POP;
import static org.objectweb.asm.Opcodes.PUTFIELD;
import static org.objectweb.asm.Opcodes.PUTSTATIC;
import static org.objectweb.asm.Opcodes.RETURN;
import static org.objectweb.asm.Opcodes.SIPUSH;
import static org.objectweb.asm.Opcodes.SWAP;
import static org.objectweb.asm.Opcodes.ASM9;
import static org.objectweb.asm.Opcodes.V1_5;

import org.hospes.x86.JitAbi;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Type;

/**
 * Turns the leading instructions of a decoded block into the bytecode of one hidden class: a
 * subclass of {@link Translation} whose {@code run(Cpu)} does what the interpreter's dispatch
 * loop would do for those instructions, in the same order of side effects.
 *
 * <ul>
 *   <li>The eight general registers live in JVM locals; they are written back to {@code Cpu.r}
 *       wherever the method leaves (the end, a store into the running block, a fault).
 *   <li>Status flags stay lazy, as the interpreter's record ({@code lfOp}, {@code lfA}...),
 *       but in six JVM locals: an instruction writes the record there, and a reader of a
 *       record whose kind is known at that point (INC's carry, JZ's zero) works it out inline.
 *       The locals go to the processor's fields only before a call out of the method (one
 *       that can fault, leave with a VM exit, read the flags or reach a device) and where the
 *       method leaves, so every reader outside (interpreter, exception delivery, VM exit) sees
 *       the interpreter's record. A record that a later instruction of the block overwrites
 *       before anything can read it or fault is not written at all (FlagLiveness).
 *   <li>32-bit memory operands of a flat segment take the software TLB's fast path
 *       ({@link JitMem}: the TLB's arrays as constants of the class, the segment state in
 *       locals); a miss or any other operand calls the processor's own accessors
 *       ({@code segAddr}, {@code read32}, {@code write32}, {@code stackAddr}).
 *   <li>A fault is caught once for the whole method: the registers (as before the faulting
 *       instruction: each instruction assigns its registers only after its last access that
 *       can fault) are written back and the processor retires and delivers exactly as the
 *       interpreter does ({@code faultInBlock}).
 *   <li>After a store, a block that the store invalidated (self-modifying code) is left at that
 *       instruction boundary, as the interpreter does.
 * </ul>
 *
 * A block whose last instruction branches back to its start loops inside the method: while an
 * iteration calls nothing, going round costs only locals (the instructions retired, the budget
 * left, the flag record), and the method returns to the run loop when the budget runs out, at
 * least every {@link #POLL_ITERATIONS} iterations, or after an iteration that called out and
 * {@code Cpu.loopAgain} says the run loop has something to do.
 *
 * A translation may cover only some of the block's instructions (at most {@link #MAX_INSNS}, or
 * under lockstep those before the first one it has no code for): the interpreter, or the
 * translation of the instructions after them, then runs the rest of the same block
 * ({@code Cpu.finishBlock}), so that the run loop sees the interpreter's block boundaries and no
 * others. A translation that starts in the middle of its block ({@code from} > 0) reads the
 * block's start from {@code Cpu.blockEip} and takes the instructions before it back out of
 * {@code Cpu.icount}, as the interpreter does when it goes on from there.
 */
final class Translator {
  /** At most this many instructions per translation, so the method stays under HotSpot's
   * 8,000-byte limit for compiling. */
  static final int MAX_INSNS = 40;

  private static final String CPU = "org/hospes/x86/Cpu";
  private static final String BLOCK = "org/hospes/x86/Block";
  private static final String FAULT = "org/hospes/x86/CpuFault";
  private static final String SUPER = "org/hospes/x86/jit/Translation";
  private static final String NAME = "org/hospes/x86/TranslatedBlock";
  private static final String CPU_D = "L" + CPU + ";";
  private static final String JIT_MEM = "org/hospes/x86/jit/JitMem";
  /** Cpu.SS, the stack segment's index. */
  private static final int SS = 2;
  /** The interpreter's dispatch of one instruction, for those the translator emits no code for. */
  static final String HELPER = "jitStep";

  private static final int F0_MEM = 1 << 28;
  private static final int F0_A16 = 1 << 27;

  // Locals of run(Cpu).
  private static final int THIS = 0;
  private static final int C = 1;
  private static final int BASE = 2;
  private static final int I = 3;
  private static final int R0 = 4;
  private static final int LIN = 12;
  private static final int V = 13;
  private static final int A = 14;
  private static final int RES = 15;
  private static final int SP = 16;
  private static final int CNT = 17;
  /** 1 while an instruction runs through the helper: its register writes are already stored. */
  private static final int HELPING = 18;
  /**
   * 0 while everything since the last full boundary check ran inline: no helper, no memory
   * access through the processor's slow path (which may reach MMIO, or walk and fill the TLB).
   * Only then can nothing but the budget, a stop request or the block's validity have changed
   * what {@code Cpu.loopAgain} would answer, so a self-loop checks just those.
   */
  private static final int SLOW = 19;
  /** Offset in the segment of the access being made. */
  private static final int OFF = 22;
  /** RDTSC's 64-bit value (two slots). */
  private static final int TSC = 23;
  /**
   * The lazy flag record (lfOp, lfA, lfB, lfR, lfCf, lfOf) in six locals from FOP on: loaded
   * at the start, kept up to date by every instruction, and stored to the processor's fields
   * only where something outside the method can look (see Emitter#beforeCall).
   */
  private static final int FOP = 25;
  private static final String[] LF_FIELDS = {"lfOp", "lfA", "lfB", "lfR", "lfCf", "lfOf"};
  private static final int FA = FOP + 1;
  private static final int FB = FOP + 2;
  private static final int FR = FOP + 3;
  private static final int FCF = FOP + 4;
  private static final int FOF = FOP + 5;
  /**
   * Self-loop only (two slots each): PEND, the instructions of whole iterations retired but
   * not yet added to Cpu.icount; LEFT, the budget (jitLimit - icount - charged) as it was
   * when icount last took PEND in.
   */
  private static final int PEND = 31;
  private static final int LEFT = 33;
  /**
   * The software TLB's arrays (the class's static finals rTag, rPage, wTag, wPage, see
   * tlbConstants) and tlbUser, in locals so that the inline accesses read no field of the
   * processor: a store to guest RAM is an access HotSpot cannot tell apart from the
   * processor's fields, so it would reload them after every store. tlbUser changes only with
   * CPL, in an instruction the helper runs.
   */
  private static final int RTAG = 35;
  private static final int RPAGE = 36;
  private static final int WTAG = 37;
  private static final int WPAGE = 38;
  private static final int TLBU = 39;
  /**
   * Per segment register, from SEG_OK: Cpu.segOk (flat, 1 or 0), and from SEG_BASE its base;
   * then Cpu.ss32. They change only with a segment load or a mode switch, which only an
   * instruction the helper runs can make, so they are loaded at the start and after a helper.
   */
  private static final int SEG_OK = 40;
  private static final int SEG_BASE = 46;
  private static final int SS32 = 52;
  /** JitMem.load32's answer (two slots). */
  private static final int MEMX = 53;

  private Translator() {}

  /**
   * A self-loop whose iterations run entirely inline reads nothing from the heap to go round
   * again: only its budget, a local. Whatever else could end the loop then (a stop request, a
   * store by another thread into the block's page) comes from outside this thread, so the
   * translation returns to the run loop (which chains straight back into it when nothing is
   * due) at least once in this many iterations. Anything this thread does that could end the
   * loop goes through a call, which makes the next check a full one anyway (SLOW), so counts
   * stay exact. Leaving, rather than calling out from the loop, keeps the loop HotSpot
   * compiles free of calls, so that it keeps the processor's fields in registers.
   */
  static final int POLL_ITERATIONS = 8192;

  /**
   * At most this many instructions of a translation go through {@link #HELPER}, so that the
   * method (a write-back and a reload around each) stays under the compiling limit.
   */
  static final int MAX_HELPERS = 12;

  /**
   * Up to which instruction one translation that starts at instruction {@code from} covers the
   * block (at most MAX_INSNS of them), or 0 when it is not worth one.
   * With {@code helpers}, an instruction without emitted code is run by the interpreter's own
   * dispatch from inside the translation ({@code Cpu.jitStep}), so the translation covers the
   * whole block and the run loop is not re-entered in its middle; a block with no instruction
   * the translator emits code for is not worth a class and gets 0. Without {@code helpers}
   * (lockstep, whose undo journal sees only translated stores), the region ends before the
   * first instruction without emitted code.
   */
  static int coverage(int[] code, int count, int from, boolean helpers) {
    int n = Math.min(count, from + MAX_INSNS);
    int k = from;
    int native_ = 0;
    int viaHelper = 0;
    while (k < n) {
      if (handles(code[4 * k], code[4 * k + 3])) {
        native_++;
      } else if (!helpers || viaHelper == MAX_HELPERS) {
        break;
      } else {
        viaHelper++;
      }
      k++;
    }
    return native_ == 0 ? 0 : k;
  }

  static boolean handles(int f0, int f3) {
    int size = (f0 >>> 29) & 3;
    boolean mem = (f0 & F0_MEM) != 0;
    switch (f0 & 0x3FF) {
      case JitAbi.NOP:
      case JitAbi.MOV_RR32:
      case JitAbi.LOAD32:
      case JitAbi.STORE32:
      case JitAbi.ALU_RR32:
      case JitAbi.ALU_RI32:
      case JitAbi.INC_R32:
      case JitAbi.DEC_R32:
      case JitAbi.PUSH_R32:
      case JitAbi.POP_R32:
      case JitAbi.JZ:
      case JitAbi.JNZ:
      case JitAbi.JCC:
      case JitAbi.JMP:
      case JitAbi.RDTSC:
      case JitAbi.PAUSE:
        return true;
      case JitAbi.ALU_EG:
      case JitAbi.ALU_GE:
      case JitAbi.ALU_EI:
        // 8-bit: the register forms of the operations whose record needs only the operands,
        // and CMP with memory (which reads it only).
        return size == 2 || size == 0 && (mem ? (f3 >>> 20) == JitAbi.CMP
            : (f3 >>> 20) != JitAbi.ADC && (f3 >>> 20) != JitAbi.SBB);
      case JitAbi.TEST_EG:
      case JitAbi.TEST_EI:
      case JitAbi.MOV_EG:
      case JitAbi.MOV_EI:
        return size == 2 || size == 0;
      case JitAbi.XCHG_EG:
        return size == 2 && !mem;
      case JitAbi.IMUL_GE:
      case JitAbi.CMOV:
        return size == 2;
      case JitAbi.SETCC:
        // Always a byte, whatever the operand size.
        return !mem;
      case JitAbi.LODS:
      case JitAbi.SCAS:
        // The byte forms without a REP prefix and with 32-bit addressing (strlen and
        // strcmp-like loops of the kernel).
        return size == 0 && (f3 >>> 20) == 0 && (f0 & F0_A16) == 0;
      case JitAbi.CALL:
      case JitAbi.RET:
      case JitAbi.LEA:
      case JitAbi.MOV_GE:
      case JitAbi.PUSH_I:
      case JitAbi.PUSH_E:
        return size == 2;
      case JitAbi.INC_E:
      case JitAbi.DEC_E:
        return size == 2;
      case JitAbi.SHIFT_EI:
      case JitAbi.SHIFT_ECL:
        return size == 2 && !mem;
      case JitAbi.MOVZX:
      case JitAbi.MOVSX:
        return size == 2 && (f3 >>> 20) <= 1;
      case JitAbi.SIMD:
        return isFence(f0, f3);
      default:
        return false;
    }
  }

  /**
   * LFENCE, MFENCE or SFENCE (0F AE with a register operand; the decoder has already refused
   * the other register forms): nothing to do on one processor that runs in order, as
   * Simd.group15 does. Linux's rdtsc_ordered puts LFENCE before every RDTSC.
   */
  static boolean isFence(int f0, int f3) {
    return (f0 & 0x3FF) == JitAbi.SIMD && (f0 & F0_MEM) == 0 && ((f3 >>> 20) & 0xFF) == 0xAE;
  }

  /**
   * A made-up block for {@link Jit#warmUp}, in the decoded format: mov eax, [ebx]; add eax,
   * ecx; mov [ebx], eax; push eax; pop edx; dec ecx; jnz back to the start. It takes the
   * emitter's common paths: registers, a load and a store through the TLB, the stack, flags
   * and a self-loop.
   */
  static int[] warmUpBlock() {
    int mem = F0_MEM | 3 << 24 | 8 << 18 | 3 << 14 | 2 << 29;
    return new int[] {
        JitAbi.LOAD32 | mem, 0, 0, 2,
        JitAbi.ALU_RR32 | 1 << 10 | 2 << 29, 0, 0, JitAbi.ADD << 20 | 4,
        JitAbi.STORE32 | mem, 0, 0, 6,
        JitAbi.PUSH_R32 | 2 << 29, 0, 0, 7,
        JitAbi.POP_R32 | 2 << 14 | 2 << 29, 0, 0, 8,
        JitAbi.DEC_R32 | 1 << 14 | 2 << 29, 0, 0, 9,
        JitAbi.JNZ | 2 << 29, 0, 0, 12,
    };
  }

  /**
   * The class file of the translation of the first {@code covered} instructions. A translation
   * for one processor ({@code shared} false) holds that processor's TLB arrays as constants
   * (its class data); a shared one reads them from the processor it runs on, so that one class
   * serves every processor that runs the same code ({@link SharedTranslations}).
   */
  static byte[] generate(int[] code, int count, int from, int covered, int endOffset,
      boolean lockstep, boolean nest, boolean shared) {
    // Class file version 49 (Java 5): no stack map frames, so ASM need not compute them (its
    // data-flow analysis over every method was most of a translation's ASM time, and the
    // first translations ran it interpreted) and the JVM checks the class with its own
    // type-inferring verifier instead, in C++. Nothing here needs a later version: hidden
    // classes, nestmate access and VarHandle calls are the JVM's, not the class file's.
    ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_MAXS);
    cw.visit(V1_5, ACC_FINAL | ACC_SUPER, NAME, null, SUPER, null);
    cw.visitField(ACC_PRIVATE | ACC_FINAL, "blk", "L" + BLOCK + ";", null, null).visitEnd();
    cw.visitField(ACC_PRIVATE | ACC_FINAL, "code", "[I", null, null).visitEnd();
    if (!shared) {
      tlbConstants(cw);
    }

    MethodVisitor init = cw.visitMethod(ACC_PUBLIC, "<init>", "(Ljava/lang/Object;[IIII)V", null,
        null);
    init.visitCode();
    init.visitVarInsn(ALOAD, 0);
    init.visitVarInsn(ILOAD, 3);
    init.visitVarInsn(ILOAD, 4);
    init.visitVarInsn(ILOAD, 5);
    init.visitMethodInsn(INVOKESPECIAL, SUPER, "<init>", "(III)V", false);
    init.visitVarInsn(ALOAD, 0);
    init.visitVarInsn(ALOAD, 1);
    init.visitTypeInsn(CHECKCAST, BLOCK);
    init.visitFieldInsn(PUTFIELD, NAME, "blk", "L" + BLOCK + ";");
    init.visitVarInsn(ALOAD, 0);
    init.visitVarInsn(ALOAD, 2);
    init.visitFieldInsn(PUTFIELD, NAME, "code", "[I");
    init.visitInsn(RETURN);
    init.visitMaxs(0, 0);
    init.visitEnd();

    // A dry run first finds the state the method uses (registers, segments, the TLB), so that
    // the prologue and the helpers' reloads read only that: the state a block never touches
    // costs bytecode, and every byte is compiled by C1 and again by C2.
    Emitter dry = new Emitter(new MethodVisitor(ASM9) {}, code, count, from, covered, endOffset,
        lockstep, nest, Usage.ALL);
    dry.emit();
    dry.used.written = dry.modified;
    MethodVisitor mv = cw.visitMethod(ACC_PUBLIC, "run", "(" + CPU_D + ")I", null, null);
    mv.visitCode();
    Emitter real = new Emitter(mv, code, count, from, covered, endOffset, lockstep, nest,
        dry.used);
    real.sharedTlb = shared;
    real.emit();
    mv.visitMaxs(0, 0);
    mv.visitEnd();
    cw.visitEnd();
    return cw.toByteArray();
  }

  /** The software TLB's arrays of the processor, as this class holds them. */
  private static final String[][] TLB_ARRAYS = {
      {"rTag", "[I"}, {"rPage", "[[B"}, {"wTag", "[I"}, {"wPage", "[[B"}};

  /**
   * Static final copies of the processor's TLB arrays (rTag, rPage, wTag, wPage), read in
   * {@code <clinit>} from the class data (the Cpu that the translation is for). HotSpot folds a
   * static final array into a constant of known length, so the index of an inline access,
   * masked to that (power-of-two) length, needs no bounds check; read from a field or a local,
   * every access checked the index against the arrays' lengths.
   */
  private static void tlbConstants(ClassWriter cw) {
    for (String[] f : TLB_ARRAYS) {
      cw.visitField(ACC_PRIVATE | ACC_STATIC | ACC_FINAL, f[0], f[1], null, null).visitEnd();
    }
    MethodVisitor mv = cw.visitMethod(ACC_STATIC, "<clinit>", "()V", null, null);
    mv.visitCode();
    mv.visitMethodInsn(INVOKESTATIC, "java/lang/invoke/MethodHandles", "lookup",
        "()Ljava/lang/invoke/MethodHandles$Lookup;", false);
    mv.visitLdcInsn("_");
    mv.visitLdcInsn(Type.getObjectType(CPU));
    mv.visitMethodInsn(INVOKESTATIC, "java/lang/invoke/MethodHandles", "classData",
        "(Ljava/lang/invoke/MethodHandles$Lookup;Ljava/lang/String;Ljava/lang/Class;)"
            + "Ljava/lang/Object;", false);
    mv.visitTypeInsn(CHECKCAST, CPU);
    mv.visitVarInsn(ASTORE, 0);
    for (String[] f : TLB_ARRAYS) {
      mv.visitVarInsn(ALOAD, 0);
      mv.visitFieldInsn(GETFIELD, CPU, f[0], f[1]);
      mv.visitFieldInsn(PUTSTATIC, NAME, f[0], f[1]);
    }
    mv.visitInsn(RETURN);
    mv.visitMaxs(0, 0);
    mv.visitEnd();
  }

  /**
   * What one translation's method reads of the processor's state into locals: a mask of the
   * eight registers, a mask of the six segment registers (flat test and base), whether it
   * reads SS's size (ss32), whether it takes the TLB's fast path (the arrays and tlbUser),
   * and whether it writes the flag record. A dry run of the emitter fills one in; {@link #ALL}
   * is everything.
   */
  static final class Usage {
    static final Usage ALL = new Usage(0xFF, 0x3F, true, true);
    static {
      ALL.flags = true;
    }
    /** Registers the translated instructions read or write (not those of the helper's). */
    int regs;
    /** Registers the translated instructions write anywhere in the block. */
    int written = 0xFF;
    int segs;
    boolean ss32;
    boolean tlb;
    /** Whether an instruction writes the flag record (its locals). */
    boolean flags;

    Usage(int regs, int segs, boolean ss32, boolean tlb) {
      this.regs = regs;
      this.segs = segs;
      this.ss32 = ss32;
      this.tlb = tlb;
    }
  }

  /** Emits the body of run(Cpu) for one block. */
  private static final class Emitter {
    private final MethodVisitor mv;
    private final int[] code;
    /** The first instruction translated (0-based; 0 for the block's own translation). */
    private final int from;
    private final int k;
    /** Instructions in the whole block. */
    private final int count;
    /** The block's last instruction branches back to its start: loop here while allowed. */
    private final boolean selfLoop;
    /**
     * The translation covers its whole block and runs from the run loop's chain
     * ({@code Cpu.runTranslated}): when it completes, it runs its successor's translation itself
     * ({@link #completed}), and whichever way it leaves otherwise it names its block as the
     * last one run ({@code Cpu.chainEnd}).
     */
    private final boolean nests;
    private final int endOffset;
    private final boolean lockstep;
    /** The TLB arrays come from the processor run on, not the class's constants. */
    boolean sharedTlb;
    private final boolean[] deadFlags;
    private int modified;
    /** What the prologue and the helpers' reloads load (from the dry run, or ALL). */
    private final Usage load;
    /** What this emission has used so far (the dry run's answer). */
    final Usage used = new Usage(0, 0, false, false);
    private Label loopTop;
    /**
     * What the emitter knows, at the point being emitted, of the flag record in the locals:
     * {@code known} is FOP's value when it is a constant (a kind written earlier in the block),
     * else -1; {@code fresh} is true when the processor's fields hold the same record.
     */
    private int known = -1;
    private boolean fresh = true;

    Emitter(MethodVisitor mv, int[] code, int count, int from, int k, int endOffset,
        boolean lockstep, boolean nest, Usage load) {
      this.mv = mv;
      this.load = load;
      this.code = code;
      this.from = from;
      this.k = k;
      this.count = count;
      int last = code[4 * (k - 1)];
      int op = last & 0x3FF;
      // Not under lockstep, which compares every run of a block.
      this.nests = nest && !lockstep && from == 0 && k == count;
      this.selfLoop = !lockstep && from == 0 && k == count && code[4 * (k - 1) + 2] == 0
          && ((last >>> 29) & 3) == 2 && (op == JitAbi.JMP || op == JitAbi.JZ
          || op == JitAbi.JNZ || op == JitAbi.JCC);
      this.endOffset = endOffset;
      this.lockstep = lockstep;
      this.deadFlags = FlagLiveness.deadRecords(code, k);
    }

    void emit() {
      // Prologue: as execBlock, EIP points past the block unless a branch says otherwise. In
      // the middle of a block, the interpreter's icount is that of the block's start, as here.
      mv.visitVarInsn(ALOAD, C);
      mv.visitFieldInsn(GETFIELD, CPU, from == 0 ? "eip" : "blockEip", "I");
      mv.visitVarInsn(ISTORE, BASE);
      if (from > 0) {
        addIcount(-from);
      }
      if (selfLoop) {
        // Whether the run loop, at the block's start, would run this block again (EIP is its
        // start now): then so it would at the end of an iteration that called nothing, as long
        // as the budget lasts (SLOW 0, LEFT); else the first boundary is checked in full.
        Label full = new Label();
        Label set = new Label();
        mv.visitVarInsn(ALOAD, C);
        mv.visitVarInsn(ALOAD, THIS);
        mv.visitFieldInsn(GETFIELD, NAME, "blk", "L" + BLOCK + ";");
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "loopAgain", "(L" + BLOCK + ";)Z", false);
        mv.visitJumpInsn(IFEQ, full);
        iconst(0);
        mv.visitJumpInsn(GOTO, set);
        mv.visitLabel(full);
        iconst(1);
        mv.visitLabel(set);
        mv.visitVarInsn(ISTORE, SLOW);
        mv.visitInsn(LCONST_0);
        mv.visitVarInsn(LSTORE, PEND);
        resyncBudget();
      } else {
        iconst(1);
        mv.visitVarInsn(ISTORE, SLOW);
      }
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ILOAD, BASE);
      mv.visitFieldInsn(PUTFIELD, CPU, "blockEip", "I");
      setEip(() -> {
        mv.visitVarInsn(ILOAD, BASE);
        iconst(endOffset);
        mv.visitInsn(IADD);
      });
      loadRegs();
      loadFlags();
      if (load.tlb) {
        // In the order of the locals RTAG, RPAGE, WTAG, WPAGE.
        int slot = RTAG;
        for (String[] f : TLB_ARRAYS) {
          if (sharedTlb) {
            mv.visitVarInsn(ALOAD, C);
            mv.visitFieldInsn(GETFIELD, CPU, f[0], f[1]);
          } else {
            mv.visitFieldInsn(GETSTATIC, NAME, f[0], f[1]);
          }
          mv.visitVarInsn(ASTORE, slot++);
        }
      }
      loadTlbUser();
      for (int t : new int[] {I, LIN, V, A, RES, SP, CNT, HELPING, OFF}) {
        iconst(0);
        mv.visitVarInsn(ISTORE, t);
      }
      Label tryStart = new Label();
      Label tryEnd = new Label();
      Label handler = new Label();
      Label[] smcExit = new Label[k];
      mv.visitTryCatchBlock(tryStart, tryEnd, handler, FAULT);
      mv.visitLabel(tryStart);
      Label loopTop = new Label();
      mv.visitLabel(loopTop);
      this.loopTop = loopTop;
      // Reached from the prologue and, in a self-loop, from the end of an iteration: the
      // locals hold the record, of a kind not known here, and then the fields may be older.
      known = -1;
      fresh = !selfLoop;
      boolean branchLast = false;
      boolean[] smcFresh = new boolean[k];
      for (int j = from; j < k; j++) {
        iconst(j + 1);
        mv.visitVarInsn(ISTORE, I);
        boolean stored = insn(j);
        branchLast = isBranch(code[4 * j]);
        smcFresh[j] = fresh;
        if (stored && j < k - 1) {
          // Only a store through the slow path can hit a page holding code: the write TLB
          // never maps one (Cpu.translateForWrite), so an inline store needs no check.
          smcExit[j] = new Label();
          Label fine = new Label();
          mv.visitVarInsn(ILOAD, SLOW);
          mv.visitJumpInsn(IFEQ, fine);
          mv.visitVarInsn(ALOAD, THIS);
          mv.visitFieldInsn(GETFIELD, NAME, "blk", "L" + BLOCK + ";");
          mv.visitFieldInsn(GETFIELD, BLOCK, "valid", "Z");
          mv.visitJumpInsn(IFEQ, smcExit[j]);
          mv.visitLabel(fine);
        }
      }
      mv.visitLabel(tryEnd);
      // A whole block leaves EIP as the prologue set it (past the block) or as its last
      // instruction, a control transfer translated or run by the helper, set it.
      exit(k, k < count && !branchLast);
      for (int j = from; j < k; j++) {
        if (smcExit[j] != null) {
          mv.visitLabel(smcExit[j]);
          fresh = smcFresh[j];
          exit(j + 1, true);
        }
      }
      mv.visitLabel(handler);
      // Every call that can throw is preceded by beforeCall: the flag fields and icount are
      // already the processor's state at the faulting instruction (or what the helper left).
      mv.visitInsn(POP);
      // A fault inside the helper: the registers are the processor's own (an instruction such
      // as a REP string operation may have updated them before it faulted), not the locals.
      Label helped = new Label();
      mv.visitVarInsn(ILOAD, HELPING);
      mv.visitJumpInsn(IFNE, helped);
      writeBack();
      mv.visitLabel(helped);
      if (lockstep) {
        iconst(Translation.FAULT_BASE);
        mv.visitVarInsn(ILOAD, I);
        mv.visitInsn(ISUB);
        mv.visitInsn(IRETURN);
      } else {
        lastRun();
        mv.visitVarInsn(ALOAD, C);
        mv.visitVarInsn(ALOAD, THIS);
        mv.visitFieldInsn(GETFIELD, NAME, "code", "[I");
        mv.visitVarInsn(ILOAD, BASE);
        mv.visitVarInsn(ILOAD, I);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "faultInBlock", "([III)I", false);
        mv.visitInsn(DUP);
        iconst(-1);
        Label keep = new Label();
        mv.visitJumpInsn(IF_ICMPNE, keep);
        mv.visitInsn(POP);
        iconst(Translation.DELIVERED);
        mv.visitLabel(keep);
        mv.visitInsn(IRETURN);
      }
    }

    /** Leaves after {@code retired} instructions; EIP after the last one unless it branched. */
    private void exit(int retired, boolean setEip) {
      writeBack();
      spillFlags();
      flushCount();
      addIcount(retired);
      if (setEip) {
        int end = code[4 * (retired - 1) + 3] & 0xFFFF;
        setEip(() -> {
          mv.visitVarInsn(ILOAD, BASE);
          iconst(end);
          mv.visitInsn(IADD);
        });
      }
      if (retired == count) {
        completed();
      } else {
        lastRun();
        iconst(Translation.COMPLETED);
        mv.visitInsn(IRETURN);
      }
    }

    /**
     * The block completed, its state is the processor's: when this translation nests, the
     * successor's translation runs from here if the run loop's chain would run it next
     * ({@code Cpu.chainTarget}). The call is this class's own, so HotSpot sees the one
     * successor that follows this block and calls it directly (or inlines it), instead of the
     * run loop's call that every translation shares.
     */
    private void completed() {
      if (nests) {
        Label done = new Label();
        mv.visitVarInsn(ALOAD, C);
        mv.visitVarInsn(ALOAD, THIS);
        mv.visitFieldInsn(GETFIELD, NAME, "blk", "L" + BLOCK + ";");
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "chainTarget",
            "(L" + BLOCK + ";)L" + SUPER + ";", false);
        mv.visitInsn(DUP);
        mv.visitJumpInsn(IFNULL, done);
        mv.visitVarInsn(ALOAD, C);
        mv.visitMethodInsn(INVOKEVIRTUAL, SUPER, "run", "(" + CPU_D + ")I", false);
        mv.visitInsn(IRETURN);
        mv.visitLabel(done);
        mv.visitInsn(POP);
      }
      iconst(Translation.COMPLETED);
      mv.visitInsn(IRETURN);
    }

    /** Cpu.icount += delta. */
    private void addIcount(long delta) {
      mv.visitVarInsn(ALOAD, C);
      mv.visitInsn(DUP);
      mv.visitFieldInsn(GETFIELD, CPU, "icount", "J");
      mv.visitLdcInsn(delta);
      mv.visitInsn(LADD);
      mv.visitFieldInsn(PUTFIELD, CPU, "icount", "J");
    }

    /** When this translation nests, it names its block as the last one run. */
    private void lastRun() {
      if (nests) {
        mv.visitVarInsn(ALOAD, C);
        mv.visitVarInsn(ALOAD, THIS);
        mv.visitFieldInsn(GETFIELD, NAME, "blk", "L" + BLOCK + ";");
        mv.visitFieldInsn(PUTFIELD, CPU, "chainEnd", "L" + BLOCK + ";");
      }
    }

    private void writeBack() {
      for (int n = 0; n < 8; n++) {
        if ((modified & (1 << n)) != 0) {
          mv.visitVarInsn(ALOAD, C);
          mv.visitFieldInsn(GETFIELD, CPU, "r", "[I");
          iconst(n);
          mv.visitVarInsn(ILOAD, R0 + n);
          mv.visitInsn(IASTORE);
        }
      }
    }

    private static boolean isBranch(int f0) {
      switch (f0 & 0x3FF) {
        case JitAbi.JZ:
        case JitAbi.JNZ:
        case JitAbi.JCC:
        case JitAbi.JMP:
        case JitAbi.CALL:
        case JitAbi.RET:
          return true;
        default:
          return false;
      }
    }

    /** Emits instruction {@code j}; returns true when it stores to memory. */
    private boolean insn(int j) {
      final int f0 = code[4 * j];
      final int d = code[4 * j + 1];
      final int imm = code[4 * j + 2];
      final int f3 = code[4 * j + 3];
      final int sub = f3 >>> 20;
      final int reg = (f0 >>> 10) & 15;
      final int rm = (f0 >>> 14) & 15;
      final boolean mem = (f0 & F0_MEM) != 0;
      final int size = (f0 >>> 29) & 3;
      if (!handles(f0, f3)) {
        helper(j);
        return true;
      }
      switch (f0 & 0x3FF) {
        case JitAbi.NOP:
        case JitAbi.SIMD: // a fence (handles)
          return false;
        case JitAbi.PAUSE:
          // The delay loops of a booting kernel spin on it: a VM exit under PAUSE exiting is
          // thrown like a fault, so it needs no helper round trip.
          beforeCall();
          mv.visitVarInsn(ALOAD, C);
          mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "pause", "()V", false);
          resyncBudget();
          return false;
        case JitAbi.RDTSC:
          beforeCall();
          mv.visitVarInsn(ALOAD, C);
          iconst(j + 1);
          mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "rdtsc", "(I)J", false);
          mv.visitVarInsn(LSTORE, TSC);
          resyncBudget();
          mv.visitVarInsn(LLOAD, TSC);
          mv.visitInsn(L2I);
          storeReg(0);
          mv.visitVarInsn(LLOAD, TSC);
          iconst(32);
          mv.visitInsn(LUSHR);
          mv.visitInsn(L2I);
          storeReg(2);
          return false;
        case JitAbi.MOV_RR32:
          if (sub == 0) {
            loadReg(reg);
            storeReg(rm);
          } else {
            loadReg(rm);
            storeReg(reg);
          }
          return false;
        case JitAbi.LOAD32:
          read(f0, d, 2);
          storeReg(reg);
          return false;
        case JitAbi.STORE32:
          loadReg(reg);
          mv.visitVarInsn(ISTORE, V);
          storeE(f0, d);
          return true;
        case JitAbi.ALU_RR32:
          aluReg(j, sub, rm, () -> loadReg(reg));
          return false;
        case JitAbi.ALU_RI32:
          aluReg(j, sub, rm, () -> iconst(imm));
          return false;
        case JitAbi.ALU_EG:
          if (size == 0) {
            aluByte(j, sub, () -> operandE8(f0, d, rm, mem), () -> loadReg8(reg), mem ? -1 : rm);
            return false;
          }
          if (!mem) {
            aluReg(j, sub, rm, () -> loadReg(reg));
            return false;
          }
          return aluMem(f0, d, sub, () -> loadReg(reg));
        case JitAbi.ALU_EI:
          if (size == 0) {
            aluByte(j, sub, () -> operandE8(f0, d, rm, mem), () -> iconst(imm), mem ? -1 : rm);
            return false;
          }
          if (!mem) {
            aluReg(j, sub, rm, () -> iconst(imm));
            return false;
          }
          return aluMem(f0, d, sub, () -> iconst(imm));
        case JitAbi.ALU_GE:
          if (size == 0) {
            aluByte(j, sub, () -> loadReg8(reg), () -> operandE8(f0, d, rm, mem),
                sub == JitAbi.CMP ? -1 : reg);
            return false;
          }
          if (!mem) {
            aluReg(j, sub, reg, () -> loadReg(rm));
          } else {
            read(f0, d, 2);
            mv.visitVarInsn(ISTORE, V);
            loadReg(reg);
            mv.visitVarInsn(ISTORE, A);
            aluCall(sub);
            if (sub != JitAbi.CMP) {
              mv.visitVarInsn(ILOAD, RES);
              storeReg(reg);
            }
          }
          return false;
        case JitAbi.TEST_EG:
          if (size == 0) {
            operandE8(f0, d, rm, mem);
            loadReg8(reg);
          } else {
            operandE(f0, d, rm, mem);
            loadReg(reg);
          }
          mv.visitInsn(IAND);
          if (size == 0) {
            sext8();
          }
          mv.visitVarInsn(ISTORE, RES);
          logicFlags(j);
          return false;
        case JitAbi.TEST_EI:
          if (size == 0) {
            operandE8(f0, d, rm, mem);
          } else {
            operandE(f0, d, rm, mem);
          }
          iconst(imm);
          mv.visitInsn(IAND);
          if (size == 0) {
            sext8();
          }
          mv.visitVarInsn(ISTORE, RES);
          logicFlags(j);
          return false;
        case JitAbi.IMUL_GE:
          imul(f0, d, reg, rm, mem);
          return false;
        case JitAbi.CMOV: {
          // The source is read (and may fault) whatever the condition, as DataXfer.cmov.
          operandE(f0, d, rm, mem);
          mv.visitVarInsn(ISTORE, V);
          Label skip = new Label();
          condJump(sub, skip);
          mv.visitVarInsn(ILOAD, V);
          storeReg(reg);
          mv.visitLabel(skip);
          return false;
        }
        case JitAbi.SETCC: {
          Label no = new Label();
          Label done = new Label();
          condJump(sub, no);
          iconst(1);
          mv.visitJumpInsn(GOTO, done);
          mv.visitLabel(no);
          iconst(0);
          mv.visitLabel(done);
          storeReg8(rm);
          return false;
        }
        case JitAbi.LODS:
          // AL = [seg:ESI]; ESI moves by one byte, down when DF is set (StringOps.lods).
          readString((f0 >>> 24) & 7, 6);
          storeReg8(0);
          advanceString(6);
          return false;
        case JitAbi.SCAS:
          // Compares AL with [ES:EDI] (StringOps.scas: a SUB record of the two bytes).
          readString(0, 7);
          sext8();
          mv.visitVarInsn(ISTORE, V);
          loadReg8(0);
          sext8();
          mv.visitVarInsn(ISTORE, A);
          mv.visitVarInsn(ILOAD, A);
          mv.visitVarInsn(ILOAD, V);
          mv.visitInsn(ISUB);
          sext8();
          mv.visitVarInsn(ISTORE, RES);
          mv.visitVarInsn(ILOAD, A);
          flagStore(FA);
          mv.visitVarInsn(ILOAD, V);
          flagStore(FB);
          setRecord(JitAbi.LF_SUB);
          advanceString(7);
          return false;
        case JitAbi.INC_R32:
        case JitAbi.INC_E:
          if (mem) {
            incDecMem(f0, d, true);
            return true;
          }
          incDec(rm, true);
          return false;
        case JitAbi.DEC_R32:
        case JitAbi.DEC_E:
          if (mem) {
            incDecMem(f0, d, false);
            return true;
          }
          incDec(rm, false);
          return false;
        case JitAbi.SHIFT_EI: {
          int cnt = imm & 0x1F;
          if (cnt != 0 && shiftInline(sub, rm, cnt)) {
            return false;
          }
          if (cnt != 0) {
            spillFlags();
            mv.visitVarInsn(ALOAD, C);
            iconst(sub);
            iconst(2);
            loadReg(rm);
            iconst(cnt);
            shiftCall();
            storeReg(rm);
            loadFlags();
          }
          return false;
        }
        case JitAbi.SHIFT_ECL: {
          loadReg(1);
          iconst(0x1F);
          mv.visitInsn(IAND);
          mv.visitVarInsn(ISTORE, CNT);
          // Spilled on both paths: after them the fields and the locals agree either way.
          spillFlags();
          Label skip = new Label();
          mv.visitVarInsn(ILOAD, CNT);
          mv.visitJumpInsn(IFEQ, skip);
          mv.visitVarInsn(ALOAD, C);
          iconst(sub);
          iconst(2);
          loadReg(rm);
          mv.visitVarInsn(ILOAD, CNT);
          shiftCall();
          storeReg(rm);
          loadFlags();
          mv.visitLabel(skip);
          known = -1;
          fresh = true;
          return false;
        }
        case JitAbi.MOV_EG:
          if (size == 0) {
            loadReg8(reg);
            if (!mem) {
              storeReg8(rm);
              return false;
            }
            mv.visitVarInsn(ISTORE, V);
            storeE(f0, d, 0);
            return true;
          }
          if (!mem) {
            loadReg(reg);
            storeReg(rm);
            return false;
          }
          loadReg(reg);
          mv.visitVarInsn(ISTORE, V);
          storeE(f0, d);
          return true;
        case JitAbi.MOV_GE:
          operandE(f0, d, rm, mem);
          storeReg(reg);
          return false;
        case JitAbi.XCHG_EG:
          loadReg(rm);
          mv.visitVarInsn(ISTORE, V);
          loadReg(reg);
          storeReg(rm);
          mv.visitVarInsn(ILOAD, V);
          storeReg(reg);
          return false;
        case JitAbi.MOV_EI:
          if (size == 0) {
            iconst(imm);
            if (!mem) {
              storeReg8(rm);
              return false;
            }
            mv.visitVarInsn(ISTORE, V);
            storeE(f0, d, 0);
            return true;
          }
          if (!mem) {
            iconst(imm);
            storeReg(rm);
            return false;
          }
          iconst(imm);
          mv.visitVarInsn(ISTORE, V);
          storeE(f0, d);
          return true;
        case JitAbi.MOVZX:
        case JitAbi.MOVSX: {
          if (mem) {
            read(f0, d, sub);
          } else if (sub == 1) {
            loadReg(rm);
            iconst(0xFFFF);
            mv.visitInsn(IAND);
          } else {
            loadReg(rm < 4 ? rm : rm - 4);
            if (rm >= 4) {
              iconst(8);
              mv.visitInsn(IUSHR);
            }
            iconst(0xFF);
            mv.visitInsn(IAND);
          }
          if ((f0 & 0x3FF) == JitAbi.MOVSX) {
            mv.visitInsn(sub == 0 ? I2B : I2S);
          }
          storeReg(reg);
          return false;
        }
        case JitAbi.LEA:
          offset(f0, d);
          storeReg(reg);
          return false;
        case JitAbi.PUSH_R32:
          loadReg(rm);
          push();
          return true;
        case JitAbi.PUSH_I:
          iconst(imm);
          push();
          return true;
        case JitAbi.PUSH_E:
          operandE(f0, d, rm, mem);
          push();
          return true;
        case JitAbi.POP_R32:
          pop(0);
          mv.visitVarInsn(ILOAD, V);
          storeReg(rm);
          return false;
        case JitAbi.CALL:
          mv.visitVarInsn(ILOAD, BASE);
          iconst(f3 & 0xFFFF);
          mv.visitInsn(IADD);
          push();
          jump(size, imm);
          return true;
        case JitAbi.RET:
          pop(imm);
          setEip(() -> mv.visitVarInsn(ILOAD, V));
          return false;
        case JitAbi.JMP:
          jump(size, imm);
          return false;
        case JitAbi.JZ:
        case JitAbi.JNZ: {
          Label skip = new Label();
          boolean jz = (f0 & 0x3FF) == JitAbi.JZ;
          if (known > 0) {
            // A record is there: ZF is its result being zero.
            mv.visitVarInsn(ILOAD, FR);
            mv.visitJumpInsn(jz ? IFNE : IFEQ, skip);
          } else {
            spillFlags();
            mv.visitVarInsn(ALOAD, C);
            mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "zf", "()I", false);
            mv.visitJumpInsn(jz ? IFEQ : IFNE, skip);
          }
          branch(size, imm, skip);
          return false;
        }
        case JitAbi.JCC: {
          Label skip = new Label();
          condJump(sub, skip);
          branch(size, imm, skip);
          return false;
        }
        default:
          throw new IllegalArgumentException("not translatable: " + JitAbi.opName(f0 & 0x3FF));
      }
    }

    /**
     * Instruction {@code j} through the interpreter's dispatch: the registers go back to the
     * processor first (the instruction may read any of them, or fault) and come back after
     * (it may write any of them). It may also store, so the caller checks the block's validity.
     */
    private void helper(int j) {
      // The locals of every register the block writes, not only those written so far: in a
      // block that loops to itself, those written later in the block are newer than the
      // processor's. The locals of the others hold what the processor has.
      for (int n = 0; n < 8; n++) {
        if ((load.written & (1 << n)) == 0) {
          continue;
        }
        mv.visitVarInsn(ALOAD, C);
        mv.visitFieldInsn(GETFIELD, CPU, "r", "[I");
        iconst(n);
        mv.visitVarInsn(ILOAD, R0 + n);
        mv.visitInsn(IASTORE);
      }
      beforeCall();
      iconst(1);
      mv.visitVarInsn(ISTORE, HELPING);
      mv.visitVarInsn(ALOAD, C);
      iconst(code[4 * j]);
      iconst(code[4 * j + 1]);
      iconst(code[4 * j + 2]);
      iconst(code[4 * j + 3]);
      mv.visitVarInsn(ILOAD, BASE);
      iconst(j + 1);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, HELPER, "(IIIIII)V", false);
      iconst(0);
      mv.visitVarInsn(ISTORE, HELPING);
      slow();
      loadRegs();
      loadFlags();
      loadTlbUser();
    }

    /** What an instruction run by the helper may change of the TLB and segment state. */
    private void loadTlbUser() {
      if (load.tlb) {
        mv.visitVarInsn(ALOAD, C);
        mv.visitFieldInsn(GETFIELD, CPU, "tlbUser", "I");
        mv.visitVarInsn(ISTORE, TLBU);
      }
      for (int seg = 0; seg < 6; seg++) {
        if ((load.segs & (1 << seg)) == 0) {
          continue;
        }
        mv.visitVarInsn(ALOAD, C);
        mv.visitFieldInsn(GETFIELD, CPU, "segOk", "[Z");
        iconst(seg);
        mv.visitInsn(BALOAD);
        mv.visitVarInsn(ISTORE, SEG_OK + seg);
        mv.visitVarInsn(ALOAD, C);
        mv.visitFieldInsn(GETFIELD, CPU, "segBase", "[I");
        iconst(seg);
        mv.visitInsn(IALOAD);
        mv.visitVarInsn(ISTORE, SEG_BASE + seg);
      }
      if (load.ss32) {
        mv.visitVarInsn(ALOAD, C);
        mv.visitFieldInsn(GETFIELD, CPU, "ss32", "Z");
        mv.visitVarInsn(ISTORE, SS32);
      }
    }

    /**
     * The registers the method uses, into their locals: every one it reads, and every one it
     * writes, whose local a fault's write-back stores whether or not its write was reached.
     */
    private void loadRegs() {
      for (int n = 0; n < 8; n++) {
        if ((load.regs & (1 << n)) == 0) {
          continue;
        }
        mv.visitVarInsn(ALOAD, C);
        mv.visitFieldInsn(GETFIELD, CPU, "r", "[I");
        iconst(n);
        mv.visitInsn(IALOAD);
        mv.visitVarInsn(ISTORE, R0 + n);
      }
    }

    /** dst op= (value pushed by {@code b}) on registers, flags in the lazy record. */
    private void aluReg(int j, int op, int dst, Runnable b) {
      loadReg(dst);
      mv.visitVarInsn(ISTORE, A);
      b.run();
      mv.visitVarInsn(ISTORE, V);
      switch (op) {
        case JitAbi.ADD:
          arith(j, IADD, JitAbi.LF_ADD);
          break;
        case JitAbi.SUB:
        case JitAbi.CMP:
          arith(j, ISUB, JitAbi.LF_SUB);
          break;
        case JitAbi.AND:
        case JitAbi.OR:
        case JitAbi.XOR:
          mv.visitVarInsn(ILOAD, A);
          mv.visitVarInsn(ILOAD, V);
          mv.visitInsn(op == JitAbi.AND ? IAND : op == JitAbi.OR ? IOR : IXOR);
          mv.visitVarInsn(ISTORE, RES);
          logicFlags(j);
          break;
        default:
          // ADC, SBB: they read CF, so the interpreter's own helper does them.
          aluCall(op);
          break;
      }
      if (op != JitAbi.CMP) {
        mv.visitVarInsn(ILOAD, RES);
        storeReg(dst);
      }
    }

    private void arith(int j, int insn, int kind) {
      mv.visitVarInsn(ILOAD, A);
      mv.visitVarInsn(ILOAD, V);
      mv.visitInsn(insn);
      mv.visitVarInsn(ISTORE, RES);
      if (!deadFlags[j]) {
        mv.visitVarInsn(ILOAD, A);
        flagStore(FA);
        mv.visitVarInsn(ILOAD, V);
        flagStore(FB);
        setRecord(kind);
      }
    }

    private void logicFlags(int j) {
      if (!deadFlags[j]) {
        iconst(0);
        flagStore(FA);
        iconst(0);
        flagStore(FB);
        setRecord(JitAbi.LF_LOGIC);
      }
    }

    /** The record's kind and result (RES), once its operands are in FA and FB (setLazy). */
    private void setRecord(int kind) {
      mv.visitVarInsn(ILOAD, RES);
      flagStore(FR);
      iconst(kind);
      flagStore(FOP);
      known = kind;
      fresh = false;
    }

    /** RES = Alu.alu(c, op, 32-bit, A, V): flags recorded by the interpreter's helper. */
    private void aluCall(int op) {
      // ADC and SBB read CF from the fields; every operation writes its record there.
      spillFlags();
      mv.visitVarInsn(ALOAD, C);
      iconst(op);
      iconst(2);
      mv.visitVarInsn(ILOAD, A);
      mv.visitVarInsn(ILOAD, V);
      mv.visitMethodInsn(INVOKESTATIC, "org/hospes/x86/Alu", "alu", "(" + CPU_D + "IIII)I",
          false);
      mv.visitVarInsn(ISTORE, RES);
      loadFlags();
    }

    /** E op= b with a memory E, in the interpreter's order: probe, read, flags, write. */
    private boolean aluMem(int f0, int d, int op, Runnable b) {
      b.run();
      mv.visitVarInsn(ISTORE, V);
      linear(f0, d, 4, op != JitAbi.CMP);
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ILOAD, LIN);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "read32", "(I)I", false);
      slow();
      mv.visitVarInsn(ISTORE, A);
      aluCall(op);
      if (op == JitAbi.CMP) {
        return false;
      }
      mv.visitVarInsn(ILOAD, RES);
      mv.visitVarInsn(ISTORE, V);
      store(2);
      return true;
    }

    /** Shift.shift with its arguments pushed; the caller has spilled the flags (it reads and writes them). */
    private void shiftCall() {
      mv.visitMethodInsn(INVOKESTATIC, "org/hospes/x86/Shift", "shift", "(" + CPU_D + "IIII)I",
          false);
    }

    private void incDec(int n, boolean inc) {
      carryIn();
      flagStore(FCF);
      loadReg(n);
      mv.visitVarInsn(ISTORE, A);
      mv.visitVarInsn(ILOAD, A);
      iconst(1);
      mv.visitInsn(inc ? IADD : ISUB);
      mv.visitVarInsn(ISTORE, RES);
      incDecRecord(inc);
      mv.visitVarInsn(ILOAD, RES);
      storeReg(n);
    }

    /** INC/DEC's record (A, 1, RES) once its CF is in FCF. */
    private void incDecRecord(boolean inc) {
      mv.visitVarInsn(ILOAD, A);
      flagStore(FA);
      iconst(1);
      flagStore(FB);
      setRecord(inc ? JitAbi.LF_INC : JitAbi.LF_DEC);
    }

    /**
     * Pushes CF as INC and DEC keep it (Cpu.carryIn). Of a record kind known here it is
     * worked out inline from the locals; else the processor's own code reads the fields.
     */
    private void carryIn() {
      if (known >= JitAbi.LF_INC) {
        mv.visitVarInsn(ILOAD, FCF);
      } else if (known == JitAbi.LF_LOGIC) {
        iconst(0);
      } else if (known == JitAbi.LF_ADD) {
        // ((a & b) | ((a | b) & ~r)) >>> 31
        mv.visitVarInsn(ILOAD, FA);
        mv.visitVarInsn(ILOAD, FB);
        mv.visitInsn(IAND);
        mv.visitVarInsn(ILOAD, FA);
        mv.visitVarInsn(ILOAD, FB);
        mv.visitInsn(IOR);
        mv.visitVarInsn(ILOAD, FR);
        mv.visitInsn(ICONST_M1);
        mv.visitInsn(IXOR);
        mv.visitInsn(IAND);
        mv.visitInsn(IOR);
        iconst(31);
        mv.visitInsn(IUSHR);
      } else if (known == JitAbi.LF_SUB) {
        // ((~a & b) | ((~a | b) & r)) >>> 31
        mv.visitVarInsn(ILOAD, FA);
        mv.visitInsn(ICONST_M1);
        mv.visitInsn(IXOR);
        mv.visitInsn(DUP);
        mv.visitVarInsn(ILOAD, FB);
        mv.visitInsn(IAND);
        mv.visitInsn(SWAP);
        mv.visitVarInsn(ILOAD, FB);
        mv.visitInsn(IOR);
        mv.visitVarInsn(ILOAD, FR);
        mv.visitInsn(IAND);
        mv.visitInsn(IOR);
        iconst(31);
        mv.visitInsn(IUSHR);
      } else {
        spillFlags();
        mv.visitVarInsn(ALOAD, C);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "carryIn", "()I", false);
      }
    }

    /** Rotates: CF (in CNT) and OF (in V) over the current record, as Cpu.setCfOf. */
    private void setCfOf() {
      if (known > 0) {
        // A record is there (not LF_NONE): keep it, with CF and OF overridden.
        mv.visitVarInsn(ILOAD, CNT);
        flagStore(FCF);
        mv.visitVarInsn(ILOAD, V);
        flagStore(FOF);
        known |= JitAbi.LF_OVR;
        iconst(known);
        flagStore(FOP);
        fresh = false;
      } else {
        // Maybe LF_NONE (the flags in EFLAGS itself): the processor's own code.
        spillFlags();
        mv.visitVarInsn(ALOAD, C);
        mv.visitVarInsn(ILOAD, CNT);
        mv.visitVarInsn(ILOAD, V);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "setCfOf", "(II)V", false);
        loadFlags();
      }
    }

    /**
     * Loads the six flag fields into the locals: they are the record now. Not in a block that
     * writes no flag (and does not loop): its flag locals are never read, as only a write or
     * the loop's back edge makes them differ from the fields.
     */
    private void loadFlags() {
      if (!load.flags && !selfLoop) {
        known = -1;
        fresh = true;
        return;
      }
      for (int n = 0; n < 6; n++) {
        mv.visitVarInsn(ALOAD, C);
        mv.visitFieldInsn(GETFIELD, CPU, LF_FIELDS[n], "I");
        mv.visitVarInsn(ISTORE, FOP + n);
      }
      known = -1;
      fresh = true;
    }

    /** Stores the value on the stack into flag local {@code slot} (an instruction's record). */
    private void flagStore(int slot) {
      used.flags = true;
      mv.visitVarInsn(ISTORE, slot);
    }

    /** Stores the flag locals to the processor's fields unless they hold the same already. */
    private void spillFlags() {
      if (!fresh) {
        storeFlags();
      }
    }

    /** Stores the flag locals to the processor's fields. */
    private void storeFlags() {
      for (int n = 0; n < 6; n++) {
        mv.visitVarInsn(ALOAD, C);
        mv.visitVarInsn(ILOAD, FOP + n);
        mv.visitFieldInsn(PUTFIELD, CPU, LF_FIELDS[n], "I");
      }
      fresh = true;
    }

    /**
     * Before a call that can fault, leave the method (a VM exit) or read the instruction count:
     * the flag record and icount go to the processor, which is then exactly as the interpreter
     * would have it at this instruction's start (the instruction assigns nothing before its
     * last access that can fault).
     */
    private void beforeCall() {
      spillFlags();
      flushCount();
    }

    /**
     * Self-loop: the instructions of the iterations retired since the last flush go into
     * Cpu.icount; LEFT follows, so that it stays the budget with PEND counted from zero.
     */
    private void flushCount() {
      if (!selfLoop) {
        return;
      }
      mv.visitVarInsn(ALOAD, C);
      mv.visitInsn(DUP);
      mv.visitFieldInsn(GETFIELD, CPU, "icount", "J");
      mv.visitVarInsn(LLOAD, PEND);
      mv.visitInsn(LADD);
      mv.visitFieldInsn(PUTFIELD, CPU, "icount", "J");
      mv.visitVarInsn(LLOAD, LEFT);
      mv.visitVarInsn(LLOAD, PEND);
      mv.visitInsn(LSUB);
      mv.visitVarInsn(LSTORE, LEFT);
      mv.visitInsn(LCONST_0);
      mv.visitVarInsn(LSTORE, PEND);
    }

    /**
     * Self-loop: LEFT = jitLimit - icount - charged, after a call that may have charged cycles,
     * but at most POLL_ITERATIONS iterations' worth.
     */
    private void resyncBudget() {
      if (!selfLoop) {
        return;
      }
      mv.visitVarInsn(ALOAD, C);
      mv.visitFieldInsn(GETFIELD, CPU, "jitLimit", "J");
      mv.visitVarInsn(ALOAD, C);
      mv.visitFieldInsn(GETFIELD, CPU, "icount", "J");
      mv.visitInsn(LSUB);
      mv.visitVarInsn(ALOAD, C);
      mv.visitFieldInsn(GETFIELD, CPU, "charged", "J");
      mv.visitInsn(LSUB);
      mv.visitLdcInsn((long) POLL_ITERATIONS * k);
      mv.visitMethodInsn(INVOKESTATIC, "java/lang/Math", "min", "(JJ)J", false);
      mv.visitVarInsn(LSTORE, LEFT);
    }

    /**
     * INC or DEC of a 32-bit memory operand, in the interpreter's order (Alu.incDec): CF is
     * taken before the access, the flag record is written only once the store has not faulted.
     * Kernels count with it everywhere (the preemption count through %fs).
     */
    private void incDecMem(int f0, int d, boolean inc) {
      carryIn();
      mv.visitVarInsn(ISTORE, CNT);
      linear(f0, d, 4, true);
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ILOAD, LIN);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "read32", "(I)I", false);
      slow();
      mv.visitVarInsn(ISTORE, A);
      mv.visitVarInsn(ILOAD, A);
      iconst(1);
      mv.visitInsn(inc ? IADD : ISUB);
      mv.visitInsn(DUP);
      mv.visitVarInsn(ISTORE, RES);
      mv.visitVarInsn(ISTORE, V);
      store(2);
      mv.visitVarInsn(ILOAD, CNT);
      flagStore(FCF);
      incDecRecord(inc);
    }

    /** Pushes the 8-bit r/m operand's value, zero-extended (getE of size 0). */
    private void operandE8(int f0, int d, int rm, boolean mem) {
      if (mem) {
        read(f0, d, 0);
      } else {
        loadReg8(rm);
      }
    }

    /** Pushes 8-bit register {@code n} (AL..BL, then AH..BH), zero-extended (getReg). */
    private void loadReg8(int n) {
      loadReg(n & 3);
      if (n >= 4) {
        iconst(8);
        mv.visitInsn(IUSHR);
      }
      iconst(0xFF);
      mv.visitInsn(IAND);
    }

    /** Stores the low byte of the value on the stack into 8-bit register {@code n} (setReg8). */
    private void storeReg8(int n) {
      iconst(0xFF);
      mv.visitInsn(IAND);
      if (n >= 4) {
        iconst(8);
        mv.visitInsn(ISHL);
      }
      loadReg(n & 3);
      iconst(n >= 4 ? ~0xFF00 : ~0xFF);
      mv.visitInsn(IAND);
      mv.visitInsn(IOR);
      storeReg(n & 3);
    }

    /** Sign-extends the byte on the stack: the record holds 8-bit values so (Alu.alu). */
    private void sext8() {
      iconst(24);
      mv.visitInsn(ISHL);
      iconst(24);
      mv.visitInsn(ISHR);
    }

    /**
     * 8-bit (value pushed by {@code a}) op (value pushed by {@code b}) for ADD SUB CMP AND OR
     * XOR, into register {@code dst} unless CMP: the record of Alu.alu (operands and result
     * sign-extended from 8 bits). A memory operand is only ever read (CMP), before anything is
     * assigned.
     */
    private void aluByte(int j, int op, Runnable a, Runnable b, int dst) {
      a.run();
      sext8();
      mv.visitVarInsn(ISTORE, A);
      b.run();
      sext8();
      mv.visitVarInsn(ISTORE, V);
      mv.visitVarInsn(ILOAD, A);
      mv.visitVarInsn(ILOAD, V);
      switch (op) {
        case JitAbi.ADD:
          mv.visitInsn(IADD);
          break;
        case JitAbi.SUB:
        case JitAbi.CMP:
          mv.visitInsn(ISUB);
          break;
        case JitAbi.AND:
          mv.visitInsn(IAND);
          break;
        case JitAbi.OR:
          mv.visitInsn(IOR);
          break;
        case JitAbi.XOR:
          mv.visitInsn(IXOR);
          break;
        default:
          throw new IllegalArgumentException("8-bit ALU op " + op);
      }
      sext8();
      mv.visitVarInsn(ISTORE, RES);
      if (op == JitAbi.ADD || op == JitAbi.SUB || op == JitAbi.CMP) {
        if (!deadFlags[j]) {
          mv.visitVarInsn(ILOAD, A);
          flagStore(FA);
          mv.visitVarInsn(ILOAD, V);
          flagStore(FB);
          setRecord(op == JitAbi.ADD ? JitAbi.LF_ADD : JitAbi.LF_SUB);
        }
      } else {
        logicFlags(j);
      }
      if (op != JitAbi.CMP) {
        mv.visitVarInsn(ILOAD, RES);
        storeReg8(dst);
      }
    }

    /**
     * IMUL r32, r/m32 (MulDiv.imul3): the low half into G, a CF/OF record with CF = OF = the
     * product not fitting 32 bits; lfA and lfB stay as they were.
     */
    private void imul(int f0, int d, int reg, int rm, boolean mem) {
      operandE(f0, d, rm, mem);
      mv.visitInsn(I2L);
      loadReg(reg);
      mv.visitInsn(I2L);
      mv.visitInsn(LMUL);
      mv.visitVarInsn(LSTORE, TSC);
      mv.visitVarInsn(LLOAD, TSC);
      mv.visitInsn(L2I);
      mv.visitVarInsn(ISTORE, RES);
      // overflow = p != (long) (int) p: LCMP's -1, 0 or 1 to 1, 0, 1 by (x | -x) >>> 31.
      mv.visitVarInsn(LLOAD, TSC);
      mv.visitVarInsn(ILOAD, RES);
      mv.visitInsn(I2L);
      mv.visitInsn(LCMP);
      mv.visitInsn(DUP);
      mv.visitInsn(INEG);
      mv.visitInsn(IOR);
      iconst(31);
      mv.visitInsn(IUSHR);
      mv.visitVarInsn(ISTORE, CNT);
      mv.visitVarInsn(ILOAD, CNT);
      shiftRecord();
      mv.visitVarInsn(ILOAD, RES);
      storeReg(reg);
    }

    /**
     * Jumps to {@code no} unless condition {@code cc} (Cpu.cond's numbering) holds. Of a record
     * whose kind is known here, every condition is worked out from the locals with Cpu's own
     * formulas (cf, zf, sf, of, pf on the same operands and result); anything else asks the
     * processor, with the record spilled.
     */
    private void condJump(int cc, Label no) {
      boolean negate = (cc & 1) != 0;
      if (known <= 0) {
        spillFlags();
        mv.visitVarInsn(ALOAD, C);
        iconst(cc);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "cond", "(I)Z", false);
        mv.visitJumpInsn(IFEQ, no);
        return;
      }
      switch (cc >>> 1) {
        case 2:
          // ZF: the result is zero.
          mv.visitVarInsn(ILOAD, FR);
          mv.visitJumpInsn(negate ? IFEQ : IFNE, no);
          return;
        case 0: ofIn(); break;
        case 1: carryIn(); break;
        case 3:
          carryIn();
          zfIn();
          mv.visitInsn(IOR);
          break;
        case 4: sfIn(); break;
        case 5: pfIn(); break;
        case 6:
          sfIn();
          ofIn();
          mv.visitInsn(IXOR);
          break;
        default:
          sfIn();
          ofIn();
          mv.visitInsn(IXOR);
          zfIn();
          mv.visitInsn(IOR);
          break;
      }
      // 0 or 1 on the stack: the condition before its negation.
      mv.visitJumpInsn(negate ? IFNE : IFEQ, no);
    }

    /** Pushes ZF (0 or 1) of the known record: (r | -r) >>> 31 is 1 unless r is 0. */
    private void zfIn() {
      mv.visitVarInsn(ILOAD, FR);
      mv.visitInsn(DUP);
      mv.visitInsn(INEG);
      mv.visitInsn(IOR);
      iconst(31);
      mv.visitInsn(IUSHR);
      iconst(1);
      mv.visitInsn(IXOR);
    }

    /** Pushes SF (0 or 1) of the known record: the result's top bit (Cpu.sf). */
    private void sfIn() {
      mv.visitVarInsn(ILOAD, FR);
      iconst(31);
      mv.visitInsn(IUSHR);
    }

    /** Pushes PF (0 or 1) of the known record: even parity of the result's low byte (Cpu.pf). */
    private void pfIn() {
      iconst(0x9669);
      mv.visitVarInsn(ILOAD, FR);
      mv.visitInsn(DUP);
      iconst(4);
      mv.visitInsn(IUSHR);
      mv.visitInsn(IXOR);
      iconst(0xF);
      mv.visitInsn(IAND);
      mv.visitInsn(IUSHR);
      iconst(1);
      mv.visitInsn(IAND);
    }

    /** Pushes OF (0 or 1) of the known record, as Cpu.of for its kind. */
    private void ofIn() {
      switch (known) {
        case JitAbi.LF_LOGIC:
          iconst(0);
          break;
        case JitAbi.LF_ADD:
        case JitAbi.LF_INC:
          // ((a ^ r) & (b ^ r)) >>> 31
          mv.visitVarInsn(ILOAD, FA);
          mv.visitVarInsn(ILOAD, FR);
          mv.visitInsn(IXOR);
          mv.visitVarInsn(ILOAD, FB);
          mv.visitVarInsn(ILOAD, FR);
          mv.visitInsn(IXOR);
          mv.visitInsn(IAND);
          iconst(31);
          mv.visitInsn(IUSHR);
          break;
        case JitAbi.LF_SUB:
        case JitAbi.LF_DEC:
          // ((a ^ b) & (a ^ r)) >>> 31
          mv.visitVarInsn(ILOAD, FA);
          mv.visitVarInsn(ILOAD, FB);
          mv.visitInsn(IXOR);
          mv.visitVarInsn(ILOAD, FA);
          mv.visitVarInsn(ILOAD, FR);
          mv.visitInsn(IXOR);
          mv.visitInsn(IAND);
          iconst(31);
          mv.visitInsn(IUSHR);
          break;
        default:
          // LF_CFOF and the overridden kinds: OF given explicitly.
          mv.visitVarInsn(ILOAD, FOF);
          break;
      }
    }

    /**
     * Pushes the byte at {@code seg}:(register {@code index}) with 32-bit addressing, read as
     * StringOps does (segAddr's checks, then read8).
     */
    private void readString(int seg, int index) {
      slow();
      beforeCall();
      mv.visitVarInsn(ALOAD, C);
      iconst(seg);
      loadReg(index);
      iconst(1);
      iconst(0);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "segAddr", "(IIIZ)I", false);
      mv.visitVarInsn(ISTORE, LIN);
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ILOAD, LIN);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "read8", "(I)I", false);
    }

    /** Register {@code index} += 1, or -1 when DF is set (read from EFLAGS, never lazy). */
    private void advanceString(int index) {
      loadReg(index);
      iconst(1);
      mv.visitVarInsn(ALOAD, C);
      mv.visitFieldInsn(GETFIELD, CPU, "flags", "I");
      iconst(Integer.numberOfTrailingZeros(JitAbi.DF) - 1);
      mv.visitInsn(IUSHR);
      iconst(2);
      mv.visitInsn(IAND);
      mv.visitInsn(ISUB);
      mv.visitInsn(IADD);
      storeReg(index);
    }

    /** Pushes the 32-bit r/m operand's value. */
    private void operandE(int f0, int d, int rm, boolean mem) {
      if (mem) {
        read(f0, d, 2);
      } else {
        loadReg(rm);
      }
    }

    /** Pushes the value read from the memory operand (1 << size bytes, zero-extended). */
    private void read(int f0, int d, int size) {
      offset(f0, d);
      mv.visitVarInsn(ISTORE, OFF);
      readInline((f0 >>> 24) & 7, size);
    }

    /** LIN = linear address of the memory operand after the segment checks (and write probe). */
    private void linear(int f0, int d, int bytes, boolean write) {
      beforeCall();
      mv.visitVarInsn(ALOAD, C);
      iconst((f0 >>> 24) & 7);
      offset(f0, d);
      iconst(bytes);
      iconst(write ? 1 : 0);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "segAddr", "(IIIZ)I", false);
      mv.visitVarInsn(ISTORE, LIN);
    }

    /** Pushes the effective address: base + (index << scale) + disp, 16-bit when A16. */
    private void offset(int f0, int d) {
      int base = (f0 >>> 14) & 15;
      int index = (f0 >>> 18) & 15;
      int scale = (f0 >>> 22) & 3;
      loadReg(base);
      if (index != 8) {
        loadReg(index);
        if (scale != 0) {
          iconst(scale);
          mv.visitInsn(ISHL);
        }
        mv.visitInsn(IADD);
      }
      if (d != 0) {
        iconst(d);
        mv.visitInsn(IADD);
      }
      if ((f0 & F0_A16) != 0) {
        iconst(0xFFFF);
        mv.visitInsn(IAND);
      }
    }

    /** Stores V at LIN (journaled under lockstep). */
    private void store(int size) {
      slow();
      beforeCall();
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ILOAD, LIN);
      if (lockstep) {
        iconst(size);
        mv.visitVarInsn(ILOAD, V);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "journaledWrite", "(III)V", false);
      } else {
        mv.visitVarInsn(ILOAD, V);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, size == 2 ? "write32" : size == 1 ? "write16"
            : "write8", "(II)V", false);
      }
    }

    /** Pushes the 32-bit value on the stack: write first, then ESP (as push32). */
    private void push() {
      mv.visitVarInsn(ISTORE, V);
      loadReg(4);
      iconst(4);
      mv.visitInsn(ISUB);
      mv.visitVarInsn(ISTORE, SP);
      Label miss = new Label();
      Label done = new Label();
      // The slow path spills the flags; the fast path does not.
      boolean fresh0 = fresh;
      if (!lockstep) {
        // A 32-bit flat stack segment and a write-TLB hit: the store inline.
        ss32();
        mv.visitJumpInsn(IFEQ, miss);
        mv.visitVarInsn(ILOAD, SP);
        mv.visitVarInsn(ISTORE, OFF);
        flatSegment(SS, miss);
        storeTlb(miss);
        mv.visitJumpInsn(GOTO, done);
      }
      mv.visitLabel(miss);
      beforeCall();
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ILOAD, SP);
      iconst(4);
      iconst(1);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "stackAddr", "(IIZ)I", false);
      mv.visitVarInsn(ISTORE, LIN);
      store(2);
      mv.visitLabel(done);
      fresh = fresh0 && fresh;
      setEsp();
    }

    /** V = the 32-bit value at the top of the stack; ESP moves by 4 + release. */
    private void pop(int release) {
      Label miss = new Label();
      Label done = new Label();
      boolean fresh0 = fresh;
      // A 32-bit flat stack segment and a read-TLB hit: the load inline.
      ss32();
      mv.visitJumpInsn(IFEQ, miss);
      loadReg(4);
      mv.visitVarInsn(ISTORE, OFF);
      flatSegment(SS, miss);
      loadTlb(miss);
      mv.visitVarInsn(ISTORE, V);
      mv.visitJumpInsn(GOTO, done);
      mv.visitLabel(miss);
      beforeCall();
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ALOAD, C);
      loadReg(4);
      iconst(4);
      iconst(0);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "stackAddr", "(IIZ)I", false);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "read32", "(I)I", false);
      mv.visitVarInsn(ISTORE, V);
      slow();
      mv.visitLabel(done);
      fresh = fresh0 && fresh;
      loadReg(4);
      iconst(4 + release);
      mv.visitInsn(IADD);
      mv.visitVarInsn(ISTORE, SP);
      setEsp();
    }

    /** ESP = SP, or only SP's low 16 bits when SS is a 16-bit segment (setStackPointer). */
    private void setEsp() {
      Label small = new Label();
      Label done = new Label();
      ss32();
      mv.visitJumpInsn(IFEQ, small);
      mv.visitVarInsn(ILOAD, SP);
      mv.visitJumpInsn(GOTO, done);
      mv.visitLabel(small);
      loadReg(4);
      iconst(0xFFFF_0000);
      mv.visitInsn(IAND);
      mv.visitVarInsn(ILOAD, SP);
      iconst(0xFFFF);
      mv.visitInsn(IAND);
      mv.visitInsn(IOR);
      mv.visitLabel(done);
      storeReg(4);
    }

    /**
     * A conditional branch taken (the code before it jumps to {@code skip} when not): the
     * fall-through at {@code skip} continues with what the emitter knew before the branch.
     */
    private void branch(int size, int rel, Label skip) {
      int known0 = known;
      boolean fresh0 = fresh;
      jump(size, rel);
      mv.visitLabel(skip);
      known = known0;
      fresh = fresh0 && fresh;
    }

    /** EIP = BASE + rel, masked to 16 bits for a 16-bit operand size (jumpTo). */
    private void jump(int size, int rel) {
      if (selfLoop && rel == 0 && size == 2) {
        loopBack();
        return;
      }
      setEip(() -> {
        mv.visitVarInsn(ILOAD, BASE);
        iconst(rel);
        mv.visitInsn(IADD);
        if (size == 1) {
          iconst(0xFFFF);
          mv.visitInsn(IAND);
        }
      });
    }

    /**
     * The branch back to the block's start: the iteration retires, and if the run loop would
     * only run this block again the translation does so itself; else it leaves with EIP at
     * the start. While nothing ran outside the method (SLOW is 0) an iteration costs only
     * locals: its instructions go to PEND, the budget is LEFT, and the flag record stays in
     * the locals; only a stop request and the block's validity are read from the heap.
     */
    private void loopBack() {
      int known0 = known;
      boolean fresh0 = fresh;
      mv.visitVarInsn(LLOAD, PEND);
      mv.visitLdcInsn((long) k);
      mv.visitInsn(LADD);
      mv.visitVarInsn(LSTORE, PEND);
      Label leave = new Label();
      Label full = new Label();
      // Something ran outside this method in this iteration (SLOW): check in full.
      mv.visitVarInsn(ILOAD, SLOW);
      mv.visitJumpInsn(IFNE, full);
      // Else only the budget can have changed (see SLOW): again if it covers one more
      // iteration, icount + PEND + charged + k <= jitLimit (LEFT is capped, POLL_ITERATIONS).
      mv.visitVarInsn(LLOAD, LEFT);
      mv.visitVarInsn(LLOAD, PEND);
      mv.visitInsn(LSUB);
      mv.visitLdcInsn((long) k);
      mv.visitInsn(LCMP);
      mv.visitJumpInsn(IFLT, leave);
      // EIP still points past the block, as the prologue or the last full check left it.
      mv.visitJumpInsn(GOTO, loopTop);
      mv.visitLabel(full);
      // What Cpu.loopAgain reads (the counts) and what the run loop may read after it (the
      // flags) go to the processor first.
      spillFlags();
      flushCount();
      // Cpu.loopAgain looks for the successor at EIP, the block's start.
      setEip(() -> mv.visitVarInsn(ILOAD, BASE));
      iconst(0);
      mv.visitVarInsn(ISTORE, SLOW);
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ALOAD, THIS);
      mv.visitFieldInsn(GETFIELD, NAME, "blk", "L" + BLOCK + ";");
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "loopAgain", "(L" + BLOCK + ";)Z", false);
      mv.visitJumpInsn(IFEQ, leave);
      resyncBudget();
      setEip(() -> {
        mv.visitVarInsn(ILOAD, BASE);
        iconst(endOffset);
        mv.visitInsn(IADD);
      });
      mv.visitJumpInsn(GOTO, loopTop);
      mv.visitLabel(leave);
      // Out of budget, due for a poll, or the run loop has something to do: leave at the
      // block's start, as the run loop would find it. The branch is the block's last
      // instruction, so every register write is known here.
      storeFlags();
      flushCount();
      setEip(() -> mv.visitVarInsn(ILOAD, BASE));
      writeBack();
      // Not nested: the loop leaves at most once per POLL_ITERATIONS iterations, or for the
      // run loop, so a nested call (often to this same method) would gain nothing; the run
      // loop's chain runs the loop again, if it does, from a fresh frame.
      lastRun();
      iconst(Translation.COMPLETED);
      mv.visitInsn(IRETURN);
      known = known0;
      fresh = fresh0;
    }

    /** Pushes SS's size (Cpu.ss32, 1 for a 32-bit stack). */
    private void ss32() {
      used.ss32 = true;
      mv.visitVarInsn(ILOAD, SS32);
    }

    /** Something ran outside the translation: the next self-loop boundary is checked in full. */
    private void slow() {
      iconst(1);
      mv.visitVarInsn(ISTORE, SLOW);
    }

    /**
     * A shift or rotate of a register by a non-zero immediate count, inline with the flag
     * record {@code Shift.shift} makes (rotates: CF and OF over the current record, as
     * {@code Cpu.setCfOf}; shifts: a CF/OF record with the result). RCL and RCR, which read
     * CF, stay with the call; returns false for them.
     */
    private boolean shiftInline(int op, int rm, int cnt) {
      switch (op) {
        case JitAbi.ROL:
          // res = v << cnt | v >>> (32 - cnt); CF = res bit 0; OF = res bit 31 ^ CF.
          loadReg(rm);
          iconst(cnt);
          mv.visitInsn(ISHL);
          loadReg(rm);
          iconst(32 - cnt);
          mv.visitInsn(IUSHR);
          mv.visitInsn(IOR);
          mv.visitVarInsn(ISTORE, RES);
          mv.visitVarInsn(ILOAD, RES);
          iconst(1);
          mv.visitInsn(IAND);
          mv.visitVarInsn(ISTORE, CNT);
          mv.visitVarInsn(ILOAD, RES);
          iconst(31);
          mv.visitInsn(IUSHR);
          mv.visitVarInsn(ILOAD, CNT);
          mv.visitInsn(IXOR);
          mv.visitVarInsn(ISTORE, V);
          setCfOf();
          break;
        case JitAbi.ROR:
          // res = v >>> cnt | v << (32 - cnt); CF = res bit 31; OF = bit 31 ^ bit 30.
          loadReg(rm);
          iconst(cnt);
          mv.visitInsn(IUSHR);
          loadReg(rm);
          iconst(32 - cnt);
          mv.visitInsn(ISHL);
          mv.visitInsn(IOR);
          mv.visitVarInsn(ISTORE, RES);
          mv.visitVarInsn(ILOAD, RES);
          iconst(31);
          mv.visitInsn(IUSHR);
          mv.visitVarInsn(ISTORE, CNT);
          mv.visitVarInsn(ILOAD, CNT);
          mv.visitVarInsn(ILOAD, RES);
          iconst(30);
          mv.visitInsn(IUSHR);
          iconst(1);
          mv.visitInsn(IAND);
          mv.visitInsn(IXOR);
          mv.visitVarInsn(ISTORE, V);
          setCfOf();
          break;
        case JitAbi.SHL:
        case JitAbi.SAL:
          // CF = the last bit out (bit 32 - cnt of v); OF = res bit 31 ^ CF.
          loadReg(rm);
          iconst(cnt);
          mv.visitInsn(ISHL);
          mv.visitVarInsn(ISTORE, RES);
          loadReg(rm);
          iconst(32 - cnt);
          mv.visitInsn(IUSHR);
          iconst(1);
          mv.visitInsn(IAND);
          mv.visitVarInsn(ISTORE, CNT);
          mv.visitVarInsn(ILOAD, RES);
          iconst(31);
          mv.visitInsn(IUSHR);
          mv.visitVarInsn(ILOAD, CNT);
          mv.visitInsn(IXOR);
          shiftRecord();
          break;
        case JitAbi.SHR:
          // CF = bit cnt - 1 of v; OF = v's bit 31.
          loadReg(rm);
          iconst(cnt);
          mv.visitInsn(IUSHR);
          mv.visitVarInsn(ISTORE, RES);
          loadReg(rm);
          iconst(cnt - 1);
          mv.visitInsn(IUSHR);
          iconst(1);
          mv.visitInsn(IAND);
          mv.visitVarInsn(ISTORE, CNT);
          loadReg(rm);
          iconst(31);
          mv.visitInsn(IUSHR);
          shiftRecord();
          break;
        case JitAbi.SAR:
          // CF = bit cnt - 1 of v; OF = 0.
          loadReg(rm);
          iconst(cnt);
          mv.visitInsn(ISHR);
          mv.visitVarInsn(ISTORE, RES);
          loadReg(rm);
          iconst(cnt - 1);
          mv.visitInsn(ISHR);
          iconst(1);
          mv.visitInsn(IAND);
          mv.visitVarInsn(ISTORE, CNT);
          iconst(0);
          shiftRecord();
          break;
        default:
          return false;
      }
      mv.visitVarInsn(ILOAD, RES);
      storeReg(rm);
      return true;
    }

    /** With OF pushed, CF in CNT and the result in RES: the CF/OF record of a shift. */
    private void shiftRecord() {
      flagStore(FOF);
      mv.visitVarInsn(ILOAD, CNT);
      flagStore(FCF);
      setRecord(JitAbi.LF_CFOF);
    }

    /**
     * Pushes the 32-bit value at LIN when the read TLB maps it (JitMem.load32, the same test
     * as Cpu.read32's); else jumps to {@code miss} with nothing pushed.
     */
    private void loadTlb(Label miss) {
      loadTlb(miss, 2);
    }

    /**
     * Pushes the value of 1 << {@code size} bytes at LIN, zero-extended, when the read TLB
     * maps it (JitMem.load8, load16, load32: the tests of Cpu.read8, read16, read32); else
     * jumps to {@code miss} with nothing pushed.
     */
    private void loadTlb(Label miss, int size) {
      tlbArgs(RTAG, RPAGE);
      if (size != 2) {
        mv.visitMethodInsn(INVOKESTATIC, JIT_MEM, size == 0 ? "load8" : "load16", "([I[[BII)I",
            false);
        Label hit = new Label();
        mv.visitInsn(DUP);
        mv.visitJumpInsn(IFGE, hit);
        mv.visitInsn(POP);
        mv.visitJumpInsn(GOTO, miss);
        mv.visitLabel(hit);
        return;
      }
      mv.visitMethodInsn(INVOKESTATIC, JIT_MEM, "load32", "([I[[BII)J", false);
      mv.visitInsn(DUP2);
      mv.visitVarInsn(LSTORE, MEMX);
      mv.visitInsn(LCONST_0);
      mv.visitInsn(LCMP);
      mv.visitJumpInsn(IFLT, miss);
      mv.visitVarInsn(LLOAD, MEMX);
      mv.visitInsn(L2I);
    }

    /**
     * Stores V at LIN when the write TLB maps it (JitMem.store32, the same test as
     * Cpu.write32's); else jumps to {@code miss} with nothing stored.
     */
    private void storeTlb(Label miss) {
      storeTlb(miss, 2);
    }

    /**
     * Stores the low 1 << {@code size} bytes of V at LIN when the write TLB maps them
     * (JitMem.store8, store32: the tests of Cpu.write8, write32); else jumps to {@code miss}
     * with nothing stored.
     */
    private void storeTlb(Label miss, int size) {
      tlbArgs(WTAG, WPAGE);
      mv.visitVarInsn(ILOAD, V);
      mv.visitMethodInsn(INVOKESTATIC, JIT_MEM, size == 0 ? "store8" : "store32", "([I[[BIII)Z",
          false);
      mv.visitJumpInsn(IFEQ, miss);
    }

    /** Pushes a TLB half's tags and pages, tlbUser and LIN. */
    private void tlbArgs(int tag, int page) {
      used.tlb = true;
      mv.visitVarInsn(ALOAD, tag);
      mv.visitVarInsn(ALOAD, page);
      mv.visitVarInsn(ILOAD, TLBU);
      mv.visitVarInsn(ILOAD, LIN);
    }

    /**
     * Jumps to {@code miss} unless segment {@code seg} is flat (Cpu.segOk: no limit or type
     * check needed); else LIN = its base + OFF.
     */
    private void flatSegment(int seg, Label miss) {
      used.segs |= 1 << seg;
      mv.visitVarInsn(ILOAD, SEG_OK + seg);
      mv.visitJumpInsn(IFEQ, miss);
      mv.visitVarInsn(ILOAD, SEG_BASE + seg);
      mv.visitVarInsn(ILOAD, OFF);
      mv.visitInsn(IADD);
      mv.visitVarInsn(ISTORE, LIN);
    }

    /**
     * Pushes the value of 1 << {@code size} bytes at segment {@code seg}, offset OFF,
     * zero-extended: a flat segment and a TLB hit read RAM inline; anything else goes the
     * interpreter's way (segAddr, then read8, read16 or read32).
     */
    private void readInline(int seg, int size) {
      Label miss = new Label();
      Label done = new Label();
      boolean fresh0 = fresh;
      flatSegment(seg, miss);
      loadTlb(miss, size);
      mv.visitJumpInsn(GOTO, done);
      mv.visitLabel(miss);
      beforeCall();
      mv.visitVarInsn(ALOAD, C);
      iconst(seg);
      mv.visitVarInsn(ILOAD, OFF);
      iconst(1 << size);
      iconst(0);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "segAddr", "(IIIZ)I", false);
      mv.visitVarInsn(ISTORE, LIN);
      mv.visitVarInsn(ALOAD, C);
      mv.visitVarInsn(ILOAD, LIN);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, size == 2 ? "read32" : size == 1 ? "read16"
          : "read8", "(I)I", false);
      slow();
      mv.visitLabel(done);
      fresh = fresh0 && fresh;
    }

    /**
     * Stores V (32 bits, or its low byte when {@code size} is 0) at segment {@code seg},
     * offset OFF: a flat segment and a write-TLB hit store to RAM inline (the write TLB never
     * maps a page holding code, so such a store cannot modify code); anything else goes the
     * interpreter's way (segAddr's write probe, then write32 or write8).
     */
    private void writeInline(int seg, int size) {
      Label miss = new Label();
      Label done = new Label();
      boolean fresh0 = fresh;
      flatSegment(seg, miss);
      storeTlb(miss, size);
      mv.visitJumpInsn(GOTO, done);
      mv.visitLabel(miss);
      beforeCall();
      mv.visitVarInsn(ALOAD, C);
      iconst(seg);
      mv.visitVarInsn(ILOAD, OFF);
      iconst(1 << size);
      iconst(1);
      mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "segAddr", "(IIIZ)I", false);
      mv.visitVarInsn(ISTORE, LIN);
      store(size);
      mv.visitLabel(done);
      fresh = fresh0 && fresh;
    }

    /** Stores V to the 32-bit memory operand. */
    private void storeE(int f0, int d) {
      storeE(f0, d, 2);
    }

    /** Stores V to the memory operand of 1 << {@code size} bytes (size 0 or 2). */
    private void storeE(int f0, int d, int size) {
      if (lockstep) {
        // The undo journal needs every translated store: the plain path.
        linear(f0, d, 1 << size, true);
        store(size);
        return;
      }
      offset(f0, d);
      mv.visitVarInsn(ISTORE, OFF);
      writeInline((f0 >>> 24) & 7, size);
    }

    private void setEip(Runnable value) {
      mv.visitVarInsn(ALOAD, C);
      value.run();
      mv.visitFieldInsn(PUTFIELD, CPU, "eip", "I");
    }

    private void loadReg(int n) {
      if (n >= 8) {
        iconst(0);
      } else {
        used.regs |= 1 << n;
        mv.visitVarInsn(ILOAD, R0 + n);
      }
    }

    private void storeReg(int n) {
      mv.visitVarInsn(ISTORE, R0 + n);
      modified |= 1 << n;
      used.regs |= 1 << n;
    }

    private void iconst(int v) {
      if (v >= -1 && v <= 5) {
        mv.visitInsn(ICONST_0 + v);
      } else if (v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE) {
        mv.visitIntInsn(BIPUSH, v);
      } else if (v >= Short.MIN_VALUE && v <= Short.MAX_VALUE) {
        mv.visitIntInsn(SIPUSH, v);
      } else {
        mv.visitLdcInsn(v);
      }
    }
  }
}
