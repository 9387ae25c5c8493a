package org.hospes.x86;

import java.lang.invoke.MethodHandles;
import java.util.Arrays;
import org.hospes.x86.jit.Jit;
import org.hospes.x86.jit.Lockstep;
import org.hospes.x86.jit.Translation;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * The emulated i686 processor: one logical CPU, the "hardware" beneath the hypervisor.
 *
 * <p>{@link #run} executes guest code until something needs the caller (budget used, HLT, an
 * exception it cannot deliver, a triple fault, a device's stop request) and returns a
 * {@link CpuExit} code, as KVM_RUN does. Code is decoded once per physical address into
 * {@link Block}s and cached per physical page; a write to a page holding code drops that page's
 * blocks. Status flags are kept lazily ({@link #lfOp}): flag-setting instructions record operands
 * and result, and a flag is computed only when something reads it.
 *
 * <p>System architecture: real and protected mode, segmentation with descriptor checks
 * ({@link Segments}), privilege levels, event delivery through the IDT ({@link Interrupts}),
 * hardware task switches ({@link Tasks}), 2-level/PSE/PAE paging ({@link Paging}), control
 * registers and MSRs ({@link SystemOps}). Virtual-8086 mode is not supported.
 *
 * <p>The hot paths (dispatch, register and memory access) allocate nothing: guest memory is one
 * {@code byte[]} reached through a direct-mapped software TLB with separate halves for user and
 * supervisor accesses.
 *
 * <p>Layout: this class holds the state that the interpreter and translated blocks share (the
 * registers, lazy flags, segments, control registers, the TLB and its hit paths, the operand and
 * stack helpers), the run loop and the public API. The mechanisms live beside it as static
 * helpers that take the Cpu first, as the instruction families do, so that every call stays
 * monomorphic and the state stays in one object that translations (hidden classes nested with
 * Cpu) reach by field name: {@link Interpreter} (the dispatch loop), {@link Faults} (faults, traps
 * and the debug step), {@link VmxNonRoot} (VM entry and exits), {@link Mmu} (translation on a TLB
 * miss and the TLB's upkeep), {@link Mmio} (MMIO exits and replay), {@link CodeCache} (decoded
 * blocks by physical address).
 */
public final class Cpu implements Vmcs.LiveGuestState {
  public static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
  public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

  public static final int CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 16;
  public static final int CR0_NE = 32, CR0_WP = 1 << 16, CR0_AM = 1 << 18, CR0_NW = 1 << 29;
  public static final int CR0_CD = 1 << 30, CR0_PG = 1 << 31;
  /**
   * The CR0 bits that exist; the others are reserved, and a MOV to CR0 ignores them: they read
   * as 0 whatever was written (SDM vol. 3, 2.5; Xen's HVM_CR0_GUEST_RESERVED_BITS).
   */
  public static final int CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE
      | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
  public static final int CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 16;
  public static final int CR4_PAE = 32, CR4_MCE = 64, CR4_PGE = 128, CR4_PCE = 256;
  public static final int CR4_OSFXSR = 512, CR4_OSXMMEXCPT = 1024;
  /**
   * The CR4 bits this processor has: those whose feature its CPUID.1:EDX advertises
   * ({@link #cr4ValidBits}); setting any other is #GP(0). DE and MCE are not among them: the
   * processor has no I/O breakpoints and no machine-check architecture, and does not
   * advertise either (see {@link CpuId}).
   */
  public static final int CR4_VALID = cr4ValidBits(CpuId.FEATURES);

  /**
   * The CR4 bits a processor whose CPUID.1:EDX is {@code leaf1Edx} lets software set (SDM
   * vol. 3, 2.5 and 2.6: a bit of a feature the processor does not report is reserved). As
   * Xen's hvm_cr4_guest_valid_bits derives them from the guest's CPUID policy: VME and PVI
   * from VME, TSD from TSC, DE from DE, PSE, PAE and PGE from themselves, MCE from MCE or
   * MCA, OSFXSR from FXSR, OSXMMEXCPT from SSE; PCE always (P6 and later).
   */
  public static int cr4ValidBits(int leaf1Edx) {
    int v = CR4_PCE;
    v |= (leaf1Edx & 1 << 1) != 0 ? CR4_VME | CR4_PVI : 0;
    v |= (leaf1Edx & 1 << 2) != 0 ? CR4_DE : 0;
    v |= (leaf1Edx & CpuId.FEATURE_PSE) != 0 ? CR4_PSE : 0;
    v |= (leaf1Edx & CpuId.FEATURE_TSC) != 0 ? CR4_TSD : 0;
    v |= (leaf1Edx & CpuId.FEATURE_PAE) != 0 ? CR4_PAE : 0;
    v |= (leaf1Edx & (1 << 7 | 1 << 14)) != 0 ? CR4_MCE : 0;
    v |= (leaf1Edx & CpuId.FEATURE_PGE) != 0 ? CR4_PGE : 0;
    v |= (leaf1Edx & CpuId.FEATURE_FXSR) != 0 ? CR4_OSFXSR : 0;
    v |= (leaf1Edx & CpuId.FEATURE_SSE) != 0 ? CR4_OSXMMEXCPT : 0;
    return v;
  }
  /** IA32_EFER.NXE: execute-disable in PAE paging (the only EFER bit an i686 with NX has). */
  public static final int EFER_NXE = 1 << 11;
  /** IA32_EFER. */
  public static final int MSR_EFER = 0xC000_0080;

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
  /**
   * Added to a kind when CF and OF were overwritten afterwards (rotates, BT, CLC...): they come
   * from {@link #lfCf}/{@link #lfOf}, the other flags still from the recorded operation.
   */
  static final int LF_OVR = 8;

  static final int[] SHIFT = {24, 16, 0};
  static final int[] MASK = {0xFF, 0xFFFF, -1};
  static final int[] BITS = {8, 16, 32};

  private static final int TLB_BITS = 12;
  static final int TLB_SIZE = 1 << TLB_BITS;
  static final int TLB_MASK = TLB_SIZE - 1;

  private static final int F0_MEM = 1 << 28;
  static final int F0_A16 = 1 << 27;

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
  /** Descriptor attributes, see {@link Segments}. */
  final int[] segAttr = new int[6];
  /** True when accesses through the segment need no limit or type check (flat read/write). */
  final boolean[] segOk = new boolean[6];
  int cpl;
  /** Stack-address size: true when SS is a 32-bit (B=1) segment. */
  boolean ss32 = true;
  /** Decode mode of the code segment ({@link Decoder#MODE_DEF32}). */
  int mode = Decoder.MODE_DEF32;

  int cr0 = CR0_ET;
  int cr2;
  int cr3;
  int cr4;
  final long[] pdpte = new long[4];
  /** IA32_EFER (MSR 0xC0000080). */
  int efer;
  final int[] dr = {0, 0, 0, 0, 0xFFFF_0FF0, 0x400, 0xFFFF_0FF0, 0x400};
  int gdtBase;
  int gdtLimit = 0xFFFF;
  int idtBase;
  int idtLimit = 0x3FF;
  int ldtSel;
  int ldtBase;
  int ldtLimit;
  int ldtAttr;
  int trSel;
  int trBase;
  int trLimit = 0xFFFF;
  int trAttr = Segments.USABLE | Segments.ATTR_P | Segments.SYS_TSS32_BUSY;

  int sysenterCs;
  int sysenterEsp;
  int sysenterEip;
  long pat = SystemOps.PAT_RESET;
  long mtrrDefType;
  final long[] mtrr = new long[27];
  long miscEnable = 1;
  /** MSR_MISC_FEATURES_ENABLES (0x140): bit 0 turns CPUID faulting on. */
  long miscFeatures;
  long tscOffset;
  /** IA32_DEBUGCTL (MSR 0x1D9): LBR and BTF are accepted and read back (see SystemOps). */
  long debugCtl;
  /** DR7's enable bits (L0-G3): nonzero sends the run loop through the debug step. */
  int bpEnabled;
  /** Data-breakpoint hits (DR6 B0-B3) of the instruction being stepped, reported after it. */
  int dataHits;
  /** A single-step #DB held back by a MOV SS / POP SS shadow, due after the next instruction. */
  boolean stepPending;
  /** The shadow being served was made by a load of SS (which also holds back #DB), not STI. */
  boolean ssShadow;
  /**
   * Blocking by NMI (SDM vol. 3, 6.7.1), or virtual-NMI blocking in VMX non-root operation with
   * the "virtual NMIs" control (24.4.2): set when an NMI is delivered, cleared by the next IRET
   * even one that then faults. Bit 3 of the guest interruptibility state.
   */
  boolean nmiBlocked;
  /**
   * The IRET being executed removed NMI blocking: a VM exit it causes (an intercepted fault,
   * an EPT violation) says so in bit 12 of its exit information (SDM 27.2.1, 27.2.2), so the
   * hypervisor can block NMIs again before the IRET runs again.
   */
  boolean iretUnblockedNmi;
  /** An NMI-window VM exit is due at the next instruction boundary (SDM 25.2). */
  boolean nmiWindow;
  /**
   * The VMX event type (VmxControls.INTR_TYPE_*) of the event {@link Interrupts#deliver} is
   * delivering, for the IDT-vectoring information of an exit during its delivery (SDM 27.2.3):
   * VM entry names the type it injects, a fault or trap the processor raises its own (3, or 4,
   * 5 and 6 for INT n, INT1, and INT3 or INTO). -1 when neither set it (an external interrupt).
   */
  int deliveryType = -1;
  /** Counts events delivered from inside an instruction (faults, INT n): a stepped one that
   *  delivered one did not complete and reports no single-step or data breakpoint. */
  long faultSeq;

  /** Scratch: the descriptor last read by {@link Segments#fetch} and its linear address. */
  int dLo;
  int dHi;
  int dAddr;
  /** Results of the last page walk, for TLB fills. */
  boolean walkWritable;
  /** CR3 filter of a hypervisor-emulated task switch (shadow paging), else null. */
  java.util.function.IntToLongFunction taskCr3Load;
  boolean taskPushPending;
  /** The last emulated task switch got past its commit point (the new TSS is in TR). */
  boolean taskCommitted;
  int taskPushValue;
  int taskPushSize;
  boolean walkGlobal;
  /** The last walk ended in a 4 MiB or 2 MiB page (INVLPG must then drop the whole page). */
  boolean walkLarge;
  /** Linear address of the last #PF raised; it reaches CR2 when the #PF is delivered. */
  int pfAddr;
  boolean pfPending;

  // ------------------------------------------------------------------ VMX non-root operation

  /** The VMCS while the processor runs a guest in VMX non-root operation; null otherwise. */
  Vmcs vmcs;
  /** EPT is on: every guest-physical address goes through the EPT walk. */
  boolean ept;
  private long eptp;
  /** Exit qualification of an EPT violation held back while the access is tried as MMIO. */
  long eptQualification;
  /** Set while a VM exit is being thrown out of the instruction that caused it. */
  boolean vmExitPending;
  /** A host interrupt arrived (external-interrupt exiting). */
  boolean hostInterrupt;
  /** EIP the event being delivered would have returned to (for task-gate switches). */
  int taskReturnEip;
  // MMIO replay: accesses the hypervisor completed for the instruction being restarted.
  final long[] mmioGpa = new long[8];
  final int[] mmioSize = new int[8];
  final boolean[] mmioWrite = new boolean[8];
  final int[] mmioValue = new int[8];
  int mmioLen;
  int mmioPos;
  /**
   * While the processor finishes a string I/O instruction for the hypervisor
   * ({@link #emulateStringIo(IoBus, MmioDevice)}): where its memory side goes when it reaches no
   * RAM, at once and without an exit. Null otherwise.
   */
  MmioDevice stringIoMemory;
  // The access that caused the last MMIO exit.
  private ApicBaseMsr apicBase;
  long pendingMmioGpa = -1;
  int pendingMmioSize;
  boolean pendingMmioWrite;
  int pendingMmioData;
  /**
   * Shadow paging's MMIO translations: linear pages the hypervisor found to be guest-physical
   * pages with no RAM behind them (a device's registers). The shadow entry of such a page stays
   * not-present; a data access here faults as it would through one of Xen's "magic" MMIO shadow
   * entries (#PF with PFEC.RSVD, the address in the exit), and the hypervisor completes it as it
   * completes an EPT MMIO exit. Kept like the TLB, and dropped with it (CR3 loads, INVLPG, the
   * hypervisor's flushes), so that it never outlives the guest's mapping.
   */
  static final int MMIO_PAGES = 16;
  /**
   * Ways per set of the MMIO translations. An instruction touches at most four data pages (a
   * string move whose source and destination both cross a page boundary), so that four ways hold
   * them all whatever their numbers: with one way, two device pages whose numbers met modulo 16
   * (a copy from 0xA0000 to 0xB0000) evicted each other at every restart of the instruction, and
   * the vCPU never got past it.
   */
  static final int MMIO_WAYS = 4;
  private static final int MMIO_SETS = MMIO_PAGES / MMIO_WAYS;
  /** Per set, the way the next translation that finds no free way replaces (round robin). */
  private final int[] mmioNextWay = new int[MMIO_SETS];
  final int[] mmioPageTag = new int[MMIO_PAGES];
  final long[] mmioPageGpa = new long[MMIO_PAGES];
  final boolean[] mmioPageWritable = new boolean[MMIO_PAGES];
  final boolean[] mmioPageUser = new boolean[MMIO_PAGES];
  int mmioPageCount;
  boolean mmioPageExit;
  int mmioPageLin;

  // ------------------------------------------------------------------ run state

  long icount;
  /** Cycles spent halted (virtual time that passed without instructions). */
  private long idleCycles;
  private long udCount;
  int excVector;
  int excError;
  private boolean stopRequested;
  /** This run is a step of the hypervisor's emulator ({@link #emulateStep}), not a VM entry. */
  boolean emulatorStep;
  /**
   * Busy cycles ({@link #busyCycles}) from which the current run returns {@link CpuExit#CUT} at
   * the next block boundary ({@link #run(long, long)}); Long.MAX_VALUE: never.
   */
  private long cutAt = Long.MAX_VALUE;
  /** Set when the exception being thrown is a trap (EIP already points past the instruction). */
  boolean trapping;
  /** Kind of the trap being thrown ({@link Interrupts#SOFTWARE} or EXCEPTION for INT1). */
  int trapKind;
  /** The trap is INT3 or INTO (a software exception), not INT n. */
  boolean softException;
  boolean halted;
  /** Interrupts are held off for one instruction after STI or a load of SS. */
  boolean shadow;
  private InterruptController intc;
  /** Exceptions whose bit is set leave {@link #run} instead of being delivered. */
  int exceptionExitMask;
  /** INT n, INT3, INTO and INT1 leave {@link #run} instead of going through the IDT. */
  boolean softwareInterruptExit;
  /** The last EXCEPTION exit was a software interrupt (EIP already past the instruction). */
  boolean excSoftware;
  /** Length of the instruction behind the last EXCEPTION exit. */
  int excLength;
  /** EIP at the start of the block being executed; relative branch targets are based on it. */
  int blockEip;
  /** Bumped whenever translations may have changed, so chained block links are re-checked. */
  int epoch;

  // ------------------------------------------------------------------ memory

  final MemoryBus mem;
  final IoBus io;
  final long ramSize;
  /**
   * TLB: lower half for supervisor accesses, upper half for user (CPL 3) accesses. A hit reads
   * or writes {@code rPage[idx]} / {@code wPage[idx]} (the machine frame's storage) at the
   * address's page offset; {@code rFrame} / {@code wFrame} say which frame that is. A read
   * entry of a frame no one wrote points at {@link MemoryBus#ZERO} (counted in
   * {@link #zeroEntries}) until the bus backs the frame; a write entry always has storage.
   */
  final int[] rTag = new int[2 * TLB_SIZE];
  final byte[][] rPage = new byte[2 * TLB_SIZE][];
  final int[] rFrame = new int[2 * TLB_SIZE];
  final int[] wTag = new int[2 * TLB_SIZE];
  final byte[][] wPage = new byte[2 * TLB_SIZE][];
  final int[] wFrame = new int[2 * TLB_SIZE];
  /**
   * Indices of read TLB entries filled with the zero frame since the last full flush (some may
   * have been refilled since); {@link #zeroEntries} of them, or more than the array holds
   * (then a backed frame makes the whole TLB be searched).
   */
  final int[] zeroIdx = new int[64];
  int zeroEntries;
  /** This processor's id on the bus (its hints and notifications). */
  final int busId;
  final int[] cTag = new int[2 * TLB_SIZE];
  /** The frame (physical address >>> 12) of each code TLB entry. */
  final int[] cFrame = new int[2 * TLB_SIZE];
  /**
   * Per TLB index, what the fill of each of the three TLBs said: {@link #R_GLOBAL} and the
   * other bits below. One byte for the six flags rather than six boolean arrays: a processor's
   * TLB is allocated (and zeroed) with it, and with a thousand domains on a host that size is
   * most of a domain's build time and of what the young collections copy.
   */
  final byte[] tlbBits = new byte[2 * TLB_SIZE];
  static final int R_GLOBAL = 1;
  static final int W_GLOBAL = 2;
  static final int C_GLOBAL = 4;
  /** The entry came from a large page; {@link #largeCached} says whether any entry did. */
  static final int R_LARGE = 8;
  static final int W_LARGE = 16;
  static final int C_LARGE = 32;
  /**
   * The TLB indices filled (in any of the three TLBs) since the last flush, one bit each: a CR3
   * load drops the non-global entries among them instead of searching all 3 x 8,192 entries
   * (the Debian boot loads CR3 16,578 times, and the search was 5% of its host time).
   */
  final long[] filled = new long[2 * TLB_SIZE / 64];
  /** Whether any bit of {@link #filled} is set. */
  boolean anyFilled;
  /**
   * No entry filled since the last full flush: a full flush has nothing to clear (a new
   * processor is flushed by its constructor and then again by each reset, and clearing the
   * 8,192-entry arrays while the JVM still interprets showed in every launch's profile).
   */
  boolean tlbClean;
  boolean largeCached;
  /** {@link #TLB_SIZE} while CPL is 3, else 0: selects the TLB half. */
  int tlbUser;
  long tlbMisses;
  long blockLookups;
  long walkRefs;
  // Costs charged to the clock as they happen; plain fields so that the hot paths read them
  // without a call (CpuCosts is the record they come from).
  private CpuCosts costs = CpuCosts.FREE;
  private long costWalkRef, costException, costExternal, costSoftware, costPort, costMmio;
  private long costRdtsc, costPause;
  long charged;
  private long deliveries, portAccesses, mmioAccesses;

  // ------------------------------------------------------------------ decoded code cache

  final Decoder decoder = new Decoder(this);
  /** The x87 unit. */
  final Fpu fpu = new Fpu();
  /** XMM registers, MXCSR and the MMX/SSE/SSE2 instructions. */
  final Simd simd = new Simd();
  /**
   * Decoded code per RAM page, sparse: {@code blockDir[page >>> CODE_DIR_BITS][page & ...]}
   * holds the page's blocks by start offset ({@link PageBlocks}), or null when the page holds
   * no decoded code; a directory slice exists only once some page in it held code, so a
   * processor on a large machine pays for the code it ran, not for the machine's size.
   */
  final PageBlocks[][] blockDir;
  /** Per RAM page, in the same sparse form: blocks that start earlier and run into the page. */
  final Block[][][] spillDir;
  static final int CODE_DIR_BITS = 9;
  static final int CODE_DIR_MASK = (1 << CODE_DIR_BITS) - 1;

  public Cpu(MemoryBus mem, IoBus io) {
    this.mem = mem;
    this.io = io;
    this.ramSize = mem.ramSize;
    int slices = (int) (((ramSize >>> 12) + CODE_DIR_MASK) >>> CODE_DIR_BITS);
    this.blockDir = new PageBlocks[slices][];
    this.spillDir = new Block[slices][][];
    Mmu.flushTlb(this);
    this.busId = mem.addCodeWriteListener(new MemoryBus.CodeWriteListener() {
      @Override
      public void codeWritten(long pa, int len) {
        CodeCache.codeWritten(Cpu.this, pa, len);
      }

      @Override
      public void codePageAdded(int page) {
        Arrays.fill(wTag, -1);
      }

      @Override
      public void frameBacked(int frame) {
        Mmu.dropZeroEntries(Cpu.this, frame);
      }
    });
    resetReal();
  }

  /**
   * This processor will not run again (its domain was destroyed): it stops listening to the
   * bus, so that a long-lived host does not keep notifying processors that are gone.
   */
  public void detach() {
    mem.removeCodeWriteListener(busId);
  }

  // ================================================================== public API

  public MemoryBus memory() {
    return mem;
  }

  public IoBus io() {
    return io;
  }

  /** Connects a local APIC: IA32_APIC_BASE and CPUID.1:EDX.APIC (null: none, the default). */
  public void setApicBaseMsr(ApicBaseMsr apic) {
    apicBase = apic;
  }

  /** The local APIC's MSR link, or null if the processor has none. */
  public ApicBaseMsr apicBaseMsr() {
    return apicBase;
  }

  /** Connects the interrupt controller whose INTR line this processor samples. */
  public void setInterruptController(InterruptController controller) {
    this.intc = controller;
  }

  /**
   * Exceptions (by vector bit) that make {@link #run} return {@link CpuExit#EXCEPTION} instead
   * of being delivered through the IDT, like VMX's exception bitmap. Default 0.
   */
  public void setExceptionExitMask(int mask) {
    this.exceptionExitMask = mask;
  }

  /**
   * Makes INT n, INT3, INTO and INT1 leave {@link #run} with {@link CpuExit#EXCEPTION} before
   * any IDT access, EIP past the instruction, as a hypervisor that owns the IDT sees them (the
   * classic PV guest's int 0x82 and int 0x80). With {@link #setExceptionExitMask} at -1 no event
   * is ever delivered by the processor itself.
   */
  public void setSoftwareInterruptExit(boolean exit) {
    this.softwareInterruptExit = exit;
  }

  /** True if the last EXCEPTION exit was INT n, INT3, INTO or INT1 (a trap: EIP is past it). */
  public boolean exceptionIsSoftware() {
    return excSoftware;
  }

  /** The length of the instruction the last EXCEPTION exit came from. */
  public int exceptionInstructionLength() {
    return excLength;
  }

  /** DR{@code n} (0..7) as the processor holds it (a hypervisor's read of a vCPU's DR). */
  public int debugRegister(int n) {
    return dr[n];
  }

  /**
   * Loads DR{@code n} (0..3, 6 or 7) as a hypervisor does for its vCPU (write_debugreg): the
   * processor's fixed bits are applied and breakpoints take effect from the next instruction.
   */
  public void loadDebugRegister(int n, int value) {
    SystemOps.writeDr(this, n, value);
  }

  /** The linear address of the last page fault (what CR2 would receive on delivery). */
  public int faultAddress() {
    return pfAddr;
  }

  /**
   * Loads segment register {@code seg} from selector {@code sel} with the checks of a MOV at
   * privilege 0 (a hypervisor setting up its guest's registers). Returns -1, or the vector of
   * the fault the load raised (its error code in {@link #exceptionErrorCode}).
   */
  public int loadSegmentAsRing0(int seg, int sel) {
    int saved = cpl;
    setCpl(0);
    try {
      Segments.load(this, seg, sel);
      return -1;
    } catch (CpuFault f) {
      return excVector;
    } finally {
      setCpl(saved);
    }
  }

  /**
   * A ring-0 IRET to {@code cs:eip} with {@code ss:esp} and {@code eflags}, the way a hypervisor
   * returns to its deprivileged guest (Xen's restore_all_guest after building a bounce frame):
   * the new CPL is CS's RPL; CS must be a present non-conforming code segment of that DPL (or a
   * conforming one of lower DPL), SS a present writable data segment of that DPL; EFLAGS is
   * taken whole (IOPL included). Data segments the new CPL may not use become null, as IRET
   * does. Returns -1, or the vector of the fault (error code in {@link #exceptionErrorCode});
   * nothing changes then.
   */
  public int returnToRing(int cs, int newEip, int ss, int esp, int newEflags) {
    int rpl = cs & 3;
    try {
      if ((cs & 0xFFFC) == 0 || !Segments.fetch(this, cs)) {
        raise(Exceptions.GP, cs & 0xFFFC);
      }
      int cLo = dLo;
      int cHi = dHi;
      boolean conforming = (Segments.type(cHi) & Segments.TYPE_CE) != 0;
      if (!Segments.isCode(cHi) || (conforming ? Segments.dpl(cHi) > rpl
          : Segments.dpl(cHi) != rpl)) {
        raise(Exceptions.GP, cs & 0xFFFC);
      }
      if (!Segments.present(cHi)) {
        raise(Exceptions.NP, cs & 0xFFFC);
      }
      if ((ss & 0xFFFC) == 0 || !Segments.fetch(this, ss)) {
        raise(Exceptions.GP, ss & 0xFFFC);
      }
      int sLo = dLo;
      int sHi = dHi;
      boolean writableData = Segments.isCodeOrData(sHi) && !Segments.isCode(sHi)
          && (Segments.type(sHi) & Segments.TYPE_RW) != 0;
      if ((ss & 3) != rpl || Segments.dpl(sHi) != rpl || !writableData) {
        raise(Exceptions.GP, ss & 0xFFFC);
      }
      if (!Segments.present(sHi)) {
        raise(Exceptions.SS, ss & 0xFFFC);
      }
      Segments.setHidden(this, SS, ss, sLo, sHi);
      Segments.loadCs(this, cs, cLo, cHi, rpl);
      eip = newEip;
      r[ESP] = esp;
      setEflags(newEflags);
      for (int s : new int[] {ES, DS, FS, GS}) {
        int a = segAttr[s];
        boolean dataOrNonConforming = (a & Segments.TYPE_CODE) == 0
            || (a & Segments.TYPE_CE) == 0;
        if ((segSel[s] & 0xFFFC) != 0 && dataOrNonConforming
            && ((a >>> 5) & 3) < rpl) {
          segSel[s] = 0;
          segAttr[s] = 0;
          segmentChanged(s);
        }
      }
      halted = false;
      shadow = false;
      ssShadow = false;
      return -1;
    } catch (CpuFault f) {
      return excVector;
    }
  }

  /**
   * Loads LDTR's selector and hidden part directly, as a hypervisor's LLDT on the guest's
   * behalf would; {@code usable} false leaves no LDT (a selector with TI=1 then faults).
   */
  public void setLdtr(int selector, int base, int limit, boolean usable) {
    ldtSel = selector;
    ldtBase = base;
    ldtLimit = limit;
    ldtAttr = usable ? Segments.USABLE | Segments.ATTR_P | Segments.SYS_LDT : 0;
  }

  /**
   * Loads IA32_EFER directly, as VM entry loads it with the "load IA32_EFER" control: no
   * checks (the caller has kept to the bits this processor has); cached translations go.
   */
  public void loadEfer(int value) {
    efer = value;
    Mmu.flushTlb(this);
  }

  /**
   * Loads TR directly (a hypervisor's own TSS for its guest): a busy 32-bit TSS at
   * {@code base} with {@code limit}. A limit below 0x67 leaves no I/O permission bitmap, so
   * port access above IOPL faults, as with Xen's TSS (IOBMP_INVALID_OFFSET).
   */
  public void setTaskRegister(int selector, int base, int limit) {
    trSel = selector;
    trBase = base;
    trLimit = limit;
    trAttr = Segments.USABLE | Segments.ATTR_P | Segments.SYS_TSS32_BUSY;
  }

  /** General register by number (EAX=0 ... EDI=7). */
  public int reg(int reg) {
    return r[reg & 7];
  }

  public void setReg(int reg, int value) {
    r[reg & 7] = value;
  }

  /**
   * The EIP at which the block now running (or the last one run) started: inside the same
   * function as the instruction executing, which {@link #eip} (already past the block while it
   * runs) may not be. For profilers, which read it from another thread.
   */
  public int blockEip() {
    return blockEip;
  }

  public int eip() {
    return eip;
  }

  public void setEip(int eip) {
    this.eip = eip;
    this.halted = false;
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

  public int cr0() {
    return cr0;
  }

  public int cr2() {
    return cr2;
  }

  public int cr3() {
    return cr3;
  }

  public int cr4() {
    return cr4;
  }

  public int cpl() {
    return cpl;
  }

  /** IA32_EFER (only NXE can be set on this processor). */
  public int efer() {
    return efer;
  }

  /** Real-address mode as after RESET: CS:IP = F000:FFF0, CS base 0xFFFF0000. */
  public void resetReal() {
    for (int s = 0; s < 6; s++) {
      segSel[s] = 0;
      segBase[s] = 0;
      segLimit[s] = 0xFFFF;
      segAttr[s] = Segments.REAL_DATA_ATTR;
    }
    segSel[CS] = 0xF000;
    segBase[CS] = 0xFFFF_0000;
    segAttr[CS] = Segments.USABLE | Segments.ATTR_P | Segments.ATTR_S | Segments.TYPE_CODE
        | Segments.TYPE_RW | Segments.TYPE_ACCESSED;
    eip = 0xFFF0;
    cr0 = CR0_ET;
    cr2 = 0;
    cr3 = 0;
    cr4 = 0;
    efer = 0;
    gdtBase = 0;
    gdtLimit = 0xFFFF;
    idtBase = 0;
    idtLimit = 0x3FF;
    resetLdtr();
    trSel = 0;
    trBase = 0;
    trLimit = 0xFFFF;
    trAttr = Segments.USABLE | Segments.ATTR_P | Segments.SYS_TSS32_BUSY;
    Arrays.fill(r, 0, 8, 0);
    r[EDX] = CpuId.SIGNATURE;
    fpu.reset();
    simd.reset();
    setEflags(Flags.FIXED1);
    halted = false;
    shadow = false;
    ssShadow = false;
    nmiBlocked = false;
    iretUnblockedNmi = false;
    resetDebug();
    setCpl(0);
    for (int s = 0; s < 6; s++) {
      segmentChanged(s);
    }
    Mmu.flushTlb(this);
  }

  /**
   * The state a start-up IPI leaves an application processor in (SDM vol. 3, 9.1.1 and 10.4.4):
   * real-address mode as after INIT, executing at {@code vector} × 4096, i.e. CS selector
   * {@code vector} × 256, CS base {@code vector} × 4096, IP 0. (The x87 and SSE state are reset
   * too, where INIT would keep them: a processor waiting for SIPI has run nothing worth keeping
   * unless the guest INITs a running processor.)
   */
  public void startupIpi(int vector) {
    if (vector < 0 || vector > 0xFF) {
      throw new IllegalArgumentException("SIPI vector must be 0..255, got " + vector);
    }
    resetReal();
    r[EDX] = CpuId.SIGNATURE;
    segSel[CS] = vector << 8;
    segBase[CS] = vector << 12;
    eip = 0;
    segmentChanged(CS);
    Mmu.flushTlb(this);
  }

  /**
   * LDTR as RESET leaves it (SDM vol. 3, table 9-1): selector 0, base 0, limit 0xFFFF, present.
   * Until an LLDT, a selector with TI=1 names a descriptor at linear address 0 and up, as on
   * hardware and under QEMU.
   */
  private void resetLdtr() {
    ldtSel = 0;
    ldtBase = 0;
    ldtLimit = 0xFFFF;
    ldtAttr = Segments.USABLE | Segments.ATTR_P | Segments.SYS_LDT;
  }

  /**
   * 32-bit flat protected mode as a multiboot loader leaves it: CPL 0, CS/DS/ES/SS/FS/GS base 0
   * limit 4 GiB (selectors 0x08 code, 0x10 data), paging and interrupts off, no GDT or IDT
   * loaded (their registers are empty).
   */
  public void resetFlat32() {
    resetFlat32(0x08, 0x10);
  }

  /**
   * As {@link #resetFlat32()}, with CS holding {@code codeSelector} and the data segments
   * {@code dataSelector}: Linux's 32-bit boot protocol wants __BOOT_CS (0x10) and __BOOT_DS
   * (0x18). The caller loads a GDT whose descriptors match the hidden parts set here.
   */
  public void resetFlat32(int codeSelector, int dataSelector) {
    cr0 = CR0_ET | CR0_PE;
    cr4 = 0;
    for (int s = 0; s < 6; s++) {
      segSel[s] = s == CS ? codeSelector : dataSelector;
      segBase[s] = 0;
      segLimit[s] = -1;
      segAttr[s] = Segments.USABLE | Segments.ATTR_P | Segments.ATTR_S | Segments.ATTR_DB
          | Segments.ATTR_G | Segments.TYPE_RW | Segments.TYPE_ACCESSED;
    }
    segAttr[CS] |= Segments.TYPE_CODE;
    gdtBase = 0;
    gdtLimit = 0;
    idtBase = 0;
    idtLimit = 0;
    // The firmware and the loader never execute LLDT: LDTR keeps its reset state.
    resetLdtr();
    setEflags(Flags.FIXED1);
    halted = false;
    shadow = false;
    ssShadow = false;
    setCpl(0);
    for (int s = 0; s < 6; s++) {
      segmentChanged(s);
    }
    Mmu.flushTlb(this);
  }

  /**
   * Loads GDTR as LGDT would (a boot loader's hand-off state); the segment registers keep their
   * hidden parts until reloaded.
   */
  public void setGdtr(int base, int limit) {
    gdtBase = base;
    gdtLimit = limit & 0xFFFF;
  }

  public int gdtBase() {
    return gdtBase;
  }

  public int gdtLimit() {
    return gdtLimit;
  }

  /** Sets a segment register's hidden base directly, without descriptor checks. */
  public void setSegmentBase(int seg, int base) {
    segBase[seg] = base;
    segmentChanged(seg);
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

  /**
   * Virtual cycles: one per instruction, plus the costs charged as they happen (page-walk
   * references, event delivery, port and MMIO accesses; {@link CpuCosts}), plus the time spent
   * halted. The TSC reads this clock, so a guest that times itself sees what is charged.
   */
  public long cycles() {
    return icount + charged + idleCycles;
  }

  /** Cycles charged by {@link CpuCosts} so far (not instructions, not idle time). */
  public long chargedCycles() {
    return charged;
  }

  /** The clock the run budget counts: instructions and charged costs, idle time excluded. */
  long busyCycles() {
    return icount + charged;
  }

  /** Sets the costs this processor charges to its clock ({@link CpuCosts#FREE}: none). */
  public void setCosts(CpuCosts c) {
    costs = c;
    costWalkRef = c.walkReference();
    costException = c.exception();
    costExternal = c.externalInterrupt();
    costSoftware = c.softwareInterrupt();
    costPort = c.portAccess();
    costMmio = c.mmioAccess();
    costRdtsc = c.rdtsc();
    costPause = c.pause();
  }

  public CpuCosts costs() {
    return costs;
  }

  /** One memory reference of a page walk (guest tables or EPT), counted and charged. */
  void walkReference() {
    walkRefs++;
    charged += costWalkRef;
  }

  /** One event delivered through the IDT/IVT, charged by its kind ({@link Interrupts}). */
  void chargeDelivery(int kind) {
    deliveries++;
    charged += kind == Interrupts.EXCEPTION ? costException
        : kind == Interrupts.EXTERNAL ? costExternal : costSoftware;
  }

  /**
   * One port access made by this processor on its own I/O bus: what the device claiming the
   * port says an access of that size takes, else the default port access.
   */
  void chargePort(int port, int size) {
    portAccesses++;
    long c = io.accessCycles(port, size);
    charged += c >= 0 ? c : costPort;
  }

  /** One memory access that went to a device (beyond RAM, not through an exit). */
  void chargeMmio() {
    mmioAccesses++;
    charged += costMmio;
  }

  /** Events (exceptions, interrupts, INT n) delivered through the IDT or IVT. */
  public long deliveries() {
    return deliveries;
  }

  /** Port reads and writes the processor made to its I/O bus (not those that exited). */
  public long portAccesses() {
    return portAccesses;
  }

  /** Memory accesses that went to a device rather than RAM. */
  public long mmioAccesses() {
    return mmioAccesses;
  }

  /** Lets virtual time pass while the processor is halted (the machine's idle loop). */
  public void addIdleCycles(long n) {
    idleCycles += n;
  }

  public boolean isHalted() {
    return halted;
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

  /** Memory references made by page walks (guest paging structures and EPT entries). */
  public long pageWalkReferences() {
    return walkRefs;
  }

  /**
   * Executes CPUID on the current EAX/ECX as the bare processor would (for a hypervisor that
   * emulates CPUID after the exit and adjusts the result).
   */
  public void executeCpuid() {
    CpuId.exec(this);
  }

  /** Software TLB misses (page walks or identity fills). */
  public long tlbMisses() {
    return tlbMisses;
  }

  /**
   * Blocks the run loop looked for without a live chain link from the block before (each such
   * lookup probes the code TLB). The same under every engine: translations chain only along
   * live links and hand the run loop the block they ended in.
   */
  public long blockLookups() {
    return blockLookups;
  }

  /** Asks {@link #run} to return {@link CpuExit#STOPPED} after the current instruction. */
  public void requestStop() {
    stopRequested = true;
  }

  // ================================================================== VMX API

  /**
   * Enters VMX non-root operation under {@code v} (or leaves it, with null). From then on
   * {@link #run} runs the guest: sensitive events exit with {@link CpuExit#VM_EXIT}, guest-
   * physical addresses go through EPT when the VMCS enables it, and events set in the VM-entry
   * interruption-information field are injected at the next {@code run}.
   */
  public void setVmcs(Vmcs v) {
    this.vmcs = v;
    if (v != null) {
      v.attach(this);
    }
    vmcsChanged();
  }

  public Vmcs vmcs() {
    return vmcs;
  }

  /** Call after changing VMCS controls that affect translation (EPT enable, EPT pointer). */
  public void vmcsChanged() {
    boolean newEpt = vmcs != null
        && vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_ACTIVATE_SECONDARY)
        && vmcs.has(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_ENABLE_EPT);
    long newEptp = newEpt ? vmcs.read(VmcsField.EPT_POINTER) : 0;
    if (newEpt != ept || newEptp != eptp) {
      ept = newEpt;
      eptp = newEptp;
      Mmu.flushTlb(this);
    }
  }

  /** INVEPT / INVVPID: drops every cached translation of this vCPU. */
  public void invalidateTranslations() {
    Mmu.flushTlb(this);
  }

  /** INVVPID of one address: drops the cached translations of the page holding {@code lin}. */
  public void invalidatePage(int lin) {
    Mmu.invlpg(this, lin);
  }

  /**
   * Completes an instruction the hypervisor emulated after a VM exit: EIP moves past it (by the
   * exit's instruction length) and it counts as retired.
   */
  public void skipInstruction() {
    eip += vmcs.exitInstructionLength();
    icount++;
    shadow = false;
    ssShadow = false;
  }

  /** A host interrupt for external-interrupt exiting (e.g. the scheduler's tick). */
  public void raiseHostInterrupt() {
    hostInterrupt = true;
  }

  /** True when the guest can take an external interrupt now (IF=1, no interrupt shadow). */
  public boolean interruptible() {
    return (flags & Flags.IF) != 0 && !shadow;
  }

  /** Blocking by NMI (or virtual-NMI blocking): an NMI delivered, its IRET not yet executed. */
  public boolean nmiBlocked() {
    return nmiBlocked;
  }

  /**
   * The guest interruptibility state (SDM vol. 3, 24.4.2, table 24-3) as the processor holds
   * it: bit 0 blocking by STI, bit 1 blocking by MOV SS, bit 3 blocking by NMI. It is the
   * VMCS's GUEST_INTERRUPTIBILITY_INFO field: a VM exit leaves it there and a VM entry runs
   * with what the hypervisor put there.
   */
  @Override
  public int interruptibility() {
    return (shadow ? (ssShadow ? INTR_MOV_SS : INTR_STI) : 0) | (nmiBlocked ? INTR_NMI : 0);
  }

  @Override
  public void setInterruptibility(int state) {
    shadow = (state & (INTR_STI | INTR_MOV_SS)) != 0;
    ssShadow = (state & INTR_MOV_SS) != 0;
    nmiBlocked = (state & INTR_NMI) != 0;
  }

  /** Interruptibility-state bits (SDM vol. 3, table 24-3). */
  public static final int INTR_STI = 1, INTR_MOV_SS = 2, INTR_NMI = 8;

  /**
   * True while an instruction whose MMIO accesses the hypervisor completed has not yet been
   * restarted: it is still in flight, so no event may be injected before it (the handler would
   * return to it and it would run, and write its MMIO, again).
   */
  public boolean mmioReplayPending() {
    return mmioLen > 0;
  }

  /** Guest-physical address of the access that caused the last MMIO exit (-1 if none). */
  public long mmioAddress() {
    return pendingMmioGpa;
  }

  public int mmioSize() {
    return pendingMmioSize;
  }

  public boolean mmioIsWrite() {
    return pendingMmioWrite;
  }

  public int mmioWriteData() {
    return pendingMmioData;
  }

  /**
   * True if the access of the last MMIO exit can be completed: the instruction's earlier
   * accesses and this one fit the replay log. An instruction that makes more (FXSAVE, FNSAVE
   * or FRSTOR on a device page) cannot be finished by replay.
   */
  public boolean mmioCompletable() {
    return pendingMmioGpa >= 0 && mmioLen < mmioGpa.length;
  }

  /**
   * Drops the access of the last MMIO exit and the accesses completed before it: the
   * instruction is not restarted with them, because the hypervisor gives the guest a fault in
   * its place (the accesses already made to devices stay made, as a fault in the middle of an
   * instruction leaves them on hardware).
   */
  public void abandonMmio() {
    mmioLen = 0;
    mmioPos = 0;
    pendingMmioGpa = -1;
  }

  /**
   * Completes the MMIO access of the last EPT exit: the value read (ignored for writes). The
   * instruction is restarted at the next {@link #run} and finds this access done.
   */
  public void completeMmio(int readValue) {
    if (pendingMmioGpa < 0 || mmioLen == mmioGpa.length) {
      throw new IllegalStateException("no MMIO access to complete");
    }
    mmioGpa[mmioLen] = pendingMmioGpa;
    mmioSize[mmioLen] = pendingMmioSize;
    mmioWrite[mmioLen] = pendingMmioWrite;
    mmioValue[mmioLen] = readValue;
    mmioLen++;
    pendingMmioGpa = -1;
  }

  public void setCr2(int value) {
    cr2 = value;
  }

  /**
   * Loads CR0, CR3 and CR4 directly, as VM entry loads them from the guest-state area: no
   * exits, no privilege checks. Throws IllegalArgumentException for a combination the
   * processor cannot run (paging without protection, PAE roots with reserved bits).
   */
  public void loadControlRegisters(int newCr0, int newCr3, int newCr4) {
    if ((newCr0 & CR0_PG) != 0 && (newCr0 & CR0_PE) == 0) {
      throw new IllegalArgumentException("CR0.PG requires CR0.PE");
    }
    cr0 = newCr0 | CR0_ET;
    cr3 = newCr3;
    cr4 = newCr4;
    if ((cr0 & CR0_PG) != 0 && (cr4 & CR4_PAE) != 0 && !Paging.loadPdptes(this, cr3)) {
      throw new IllegalArgumentException("PAE PDPTEs with reserved bits");
    }
    updateMode();
    for (int s = 0; s < 6; s++) {
      segmentChanged(s);
    }
    Mmu.flushTlb(this);
  }

  /**
   * The hypervisor's instruction emulator for a guest in real-address mode without unrestricted
   * guest (shadow paging): the processor's interpreter runs the guest's own real-mode state
   * (CR0.PE clear, CPL 0, its segments as they are), while its linear addresses, which in real
   * mode are guest-physical, go through the hypervisor's identity shadow at {@code shadowCr3}
   * (CR0.PG and WP set under the guest's bits). No processor has this combination; it is how
   * Hospes' hypervisor reaches guest memory from its emulator, as Xen's x86_emulate reaches it
   * through the P2M. A #PF on the shadow exits as any shadow fault does.
   */
  public void loadEmulatorControlRegisters(int guestCr0, int shadowCr3, int newCr4) {
    cr0 = (guestCr0 & ~CR0_PE) | CR0_PG | CR0_WP | CR0_ET;
    cr3 = shadowCr3;
    cr4 = newCr4 & ~CR4_PAE;
    updateMode();
    for (int s = 0; s < 6; s++) {
      segmentChanged(s);
    }
    Mmu.flushTlb(this);
  }

  /**
   * One step of the hypervisor's instruction emulator, for a guest the processor cannot enter:
   * real mode without "unrestricted guest", under shadow paging, on the state
   * {@link #loadEmulatorControlRegisters} set up (Xen's vmx_realmode running hvm_emulate_one).
   * It runs in VMX root operation, as {@link #emulateTaskSwitch} does: no VM entry, so none of
   * its checks apply and the controls need not allow the state. The event the hypervisor queued
   * in the VM-entry interruption-information field is delivered first, by the emulator (in real
   * mode through the IVT, with no error code; Xen's realmode_deliver_exception), and its valid
   * bit cleared; then one instruction runs. What the emulator cannot finish itself it hands to
   * the hypervisor as the VMCS's controls say (an I/O instruction, CPUID, HLT, a
   * control-register access, an exception the exception bitmap names, a #PF on the
   * hypervisor's shadow, an event at an open window), with the exit information in the VMCS,
   * so that one set of handlers serves both (Xen's emulator calls the code its exit handlers
   * call). Returns {@link CpuExit#EMULATED} once the instruction retired, else what a
   * {@link #run} returns (VM_EXIT for a hand-back). {@code maxInstructions} is {@link #run}'s
   * budget.
   */
  public int emulateStep(long maxInstructions) {
    if (vmcs == null) {
      throw new IllegalStateException("the hypervisor's emulator serves a guest with a VMCS");
    }
    emulatorStep = true;
    try {
      return run(maxInstructions, Long.MAX_VALUE);
    } finally {
      emulatorStep = false;
    }
  }

  /** The hidden limit of segment register {@code seg} (byte granular). */
  public int segmentLimit(int seg) {
    return segLimit[seg];
  }

  /** The hidden access rights of segment register {@code seg}, in this processor's encoding. */
  public int segmentAttributes(int seg) {
    return segAttr[seg];
  }

  /**
   * Loads segment register {@code seg} whole, as VM entry loads it from the guest-state area:
   * selector, base, limit and access rights ({@link #segmentAttributes}'s encoding), no checks.
   */
  public void loadSegmentState(int seg, int sel, int base, int limit, int attr) {
    segSel[seg] = sel & 0xFFFF;
    segBase[seg] = base;
    segLimit[seg] = limit;
    segAttr[seg] = attr;
    segmentChanged(seg);
  }

  /** The access rights VM86 mode gives segment register {@code seg} (DPL 3, 16-bit, present). */
  public static int vm86SegmentAttributes(int seg) {
    return Vm86.attributes(seg);
  }

  /**
   * Sets the CPL as VM entry derives it from the guest-state area (SS.DPL; 3 in virtual-8086
   * mode, 0 in real-address mode).
   */
  public void loadCpl(int newCpl) {
    setCpl(newCpl);
    updateMode();
    for (int s = 0; s < 6; s++) {
      segmentChanged(s);
    }
  }

  public int taskRegisterSelector() {
    return trSel;
  }

  public int taskRegisterBase() {
    return trBase;
  }

  public int taskRegisterLimit() {
    return trLimit;
  }

  public int taskRegisterAttributes() {
    return trAttr;
  }

  /** Loads TR whole (selector, base, limit, access rights), as VM entry loads it. */
  public void loadTaskRegisterState(int selector, int base, int limit, int attr) {
    trSel = selector & 0xFFFF;
    trBase = base;
    trLimit = limit;
    trAttr = attr;
  }

  long eptPointer() {
    return eptp;
  }

  /**
   * The guest-physical address of linear address {@code lin} as the guest's own paging maps it
   * (identity with paging off), for a hypervisor copying hypercall arguments; -1 when the
   * access would fault. Accessed and dirty bits are set as for a real access; nothing else of
   * the guest's state changes.
   */
  public long linearToPhysical(int lin, boolean write) {
    if ((cr0 & CR0_PG) == 0) {
      return lin & 0xFFFF_FFFFL;
    }
    int savedAddr = pfAddr;
    boolean savedPending = pfPending;
    int savedVector = excVector;
    int savedError = excError;
    try {
      return Paging.walk(this, lin, write ? Paging.WRITE : 0);
    } catch (CpuFault f) {
      vmExitPending = false;
      return -1;
    } finally {
      pfAddr = savedAddr;
      pfPending = savedPending;
      excVector = savedVector;
      excError = savedError;
    }
  }

  // ================================================================== guest-physical memory
  // The MMU behind the TLB is Mmu's, MMIO replay Mmio's.

  /** Paging-structure reads and A/D updates by the page walker go through EPT too. */
  int gpaRead32(long gpa) {
    walkReference();
    return mem.read32(Mmu.gpaToMachine(this, gpa, EptWalk.R, 0, false));
  }

  long gpaRead64(long gpa) {
    walkReference();
    return mem.read64(Mmu.gpaToMachine(this, gpa, EptWalk.R, 0, false));
  }

  void gpaWrite32(long gpa, int value) {
    mem.write32(Mmu.gpaToMachine(this, gpa, EptWalk.R | EptWalk.W, 0, false), value);
  }

  /**
   * Shadow paging: linear page {@code lin} is guest-physical page {@code gpa}, where no RAM is
   * (MMIO); data accesses with the rights given fault to the hypervisor as MMIO accesses (see
   * {@link #mmioAddress}). Dropped with the TLB.
   */
  public void mapMmioPage(int lin, long gpa, boolean writable, boolean user) {
    int page = lin >>> 12;
    int k = mmioSlot(page);
    if (k < 0) {
      int set = page & (MMIO_SETS - 1);
      int base = set * MMIO_WAYS;
      for (int w = 0; w < MMIO_WAYS && k < 0; w++) {
        if (mmioPageTag[base + w] == 0) {
          k = base + w;
          mmioPageCount++;
        }
      }
      if (k < 0) {
        k = base + mmioNextWay[set];
        mmioNextWay[set] = (mmioNextWay[set] + 1) % MMIO_WAYS;
      }
    }
    // Tag 0 means empty: the page number is stored plus one.
    mmioPageTag[k] = page + 1;
    mmioPageGpa[k] = gpa & ~0xFFFL;
    mmioPageWritable[k] = writable;
    mmioPageUser[k] = user;
  }

  /** True when an MMIO translation for the page of {@code lin} is held. */
  public boolean mmioPageMapped(int lin) {
    return mmioPageCount != 0 && mmioSlot(lin >>> 12) >= 0;
  }

  /** The slot holding the MMIO translation of linear page {@code page}, or -1. */
  int mmioSlot(int page) {
    int base = (page & (MMIO_SETS - 1)) * MMIO_WAYS;
    for (int w = 0; w < MMIO_WAYS; w++) {
      if (mmioPageTag[base + w] == page + 1) {
        return base + w;
      }
    }
    return -1;
  }

  /**
   * True when an MMIO translation for {@code lin} serves a data access with these rights: a
   * fault there anyway came from an instruction fetch or an implicit access.
   */
  public boolean mmioPageCovers(int lin, boolean write, boolean user) {
    int k = mmioPageCount == 0 ? -1 : mmioSlot(lin >>> 12);
    return k >= 0 && (!write || mmioPageWritable[k]) && (!user || mmioPageUser[k]);
  }

  // ================================================================== VMX exits
  // Exits, and work the hypervisor asks the processor to finish; the rest is VmxNonRoot's.

  /** Throws a VM exit out of the current instruction; EIP will point at the instruction. */
  void vmExit(ExitReason reason, long qualification) {
    if (reason == ExitReason.EPT_VIOLATION && iretUnblockedNmi) {
      // SDM 27.2.1: an EPT violation during an IRET that removed virtual-NMI blocking.
      qualification |= VmxControls.NMI_UNBLOCKED_BY_IRET;
    }
    iretUnblockedNmi = false;
    vmcs.write(VmcsField.VM_EXIT_REASON, reason.code());
    vmcs.write(VmcsField.EXIT_QUALIFICATION, qualification);
    vmcs.write(VmcsField.VM_EXIT_INTR_INFO, 0);
    vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, 0);
    vmExitPending = true;
    throw CpuFault.INSTANCE;
  }

  boolean nonRoot() {
    return vmcs != null;
  }

  boolean exits(VmcsField controls, int bits) {
    return vmcs != null && (vmcs.read32(controls) & bits) != 0;
  }

  /**
   * Runs a string I/O instruction (INS/OUTS, with REP) for a hypervisor that handles the exit:
   * the processor does the memory side, {@code ports} the ports. It retires the instruction.
   * Returns -1, or a {@link CpuExit} code when a memory access faulted (the exception is then
   * delivered to the guest, or exits under the exception bitmap).
   */
  public int emulateStringIo(IoBus ports) {
    return emulateStringIo(ports, null);
  }

  /**
   * As {@link #emulateStringIo(IoBus)}, with {@code memory} answering the memory side where it
   * reaches no RAM (a device's registers, nothing at all, or a read-only frame written): each
   * such element is read from or written to {@code memory} at its guest-physical address
   * (the offset it is given) there and then, with no MMIO exit and no replay, as Xen's
   * emulator completes string I/O whose buffer is MMIO. Faults (#PF, #GP, a shadow pager's
   * hidden #PF) still end the instruction with its registers at the faulting element; for INS
   * the destination's write translation is checked before the port is read ({@link #segAddr}),
   * so a restart reads no port twice.
   */
  public int emulateStringIo(IoBus ports, MmioDevice memory) {
    stringIoMemory = memory;
    try {
      return emulateStringIoOnce(ports);
    } finally {
      stringIoMemory = null;
    }
  }

  private int emulateStringIoOnce(IoBus ports) {
    long qual = vmcs.exitQualification();
    int len = vmcs.exitInstructionLength();
    int start = eip;
    try {
      int f0 = VmxNonRoot.decodedStringIo(this, start);
      int sub = (qual & VmxControls.IO_QUAL_REP) != 0 ? 1 : 0;
      if ((qual & VmxControls.IO_QUAL_IN) != 0) {
        StringOps.ins(this, f0, sub, ports);
      } else {
        StringOps.outs(this, f0, sub, ports);
      }
      eip = start + len;
      icount++;
      return -1;
    } catch (CpuFault f) {
      return handleFault(start, start + len, false, len);
    }
  }

  /**
   * Performs the task switch of a TASK_SWITCH exit, as Xen's hvm_task_switch does, using the
   * processor's own task-switch logic. For a switch through an IDT task gate the event's error
   * code (IDT-vectoring information) is pushed on the new task's stack. Returns -1, or a
   * {@link CpuExit} code when the switch faulted and that fault exited or shut the guest down.
   */
  public int emulateTaskSwitch() {
    return emulateTaskSwitch(null);
  }

  /**
   * As {@link #emulateTaskSwitch()}, for a hypervisor that virtualizes CR3 (shadow paging): the
   * new task's CR3 goes through {@code cr3Load}, which returns the CR3 the processor really
   * loads (zero-extended), or -1 if the guest's CR3 cannot be loaded (PAE roots with reserved
   * bits), which is #GP(0) in the new task.
   */
  public int emulateTaskSwitch(java.util.function.IntToLongFunction cr3Load) {
    taskCr3Load = cr3Load;
    try {
      return VmxNonRoot.emulateTaskSwitchOnce(this);
    } finally {
      taskCr3Load = null;
    }
  }

  /**
   * True when the last emulated task switch committed but pushing the event's error code on
   * the new task's stack faulted (a shadow-paging hypervisor fixes the page and calls
   * {@link #finishTaskSwitch}).
   */
  public boolean taskSwitchPushPending() {
    return taskPushPending;
  }

  /**
   * True when the last emulated task switch committed (the new task's TSS is loaded): a fault
   * it left since belongs to the new task (a #GP loading its CR3, a #TS for its segments, or
   * the delivery of one of those) and the switch must not be started again.
   */
  public boolean taskSwitchCommitted() {
    return taskCommitted;
  }

  /** Pushes the error code of a committed task switch again; returns -1 or a CpuExit code. */
  public int finishTaskSwitch() {
    if (!taskPushPending) {
      return -1;
    }
    try {
      pushSized(taskPushSize, taskPushValue);
      taskPushPending = false;
      return -1;
    } catch (CpuFault f) {
      return handleFault(eip, eip, false, 0);
    }
  }

  /** The guest takes the fault of the error-code push instead: the push is abandoned. */
  public void abandonTaskSwitchPush() {
    taskPushPending = false;
  }

  // ================================================================== run loop
  // Blocks and events until the caller is needed; faults are taken in Faults.

  /**
   * Runs at most {@code maxInstructions} instructions and returns a {@link CpuExit} code. A REP
   * string instruction counts as one instruction and always completes.
   */
  public int run(long maxInstructions) {
    return run(maxInstructions, Long.MAX_VALUE);
  }

  /**
   * As {@link #run(long)}, but the caller may also be given the processor back early: once
   * {@code cutAfter} cycles of this run have passed (and at least one instruction ran), the run
   * returns {@link CpuExit#CUT} at the next block boundary short of the budget. It returns
   * there before anything of that boundary is done (interrupt shadow, events, debug checks),
   * and no block is made shorter for it (blocks are sized against the budget alone), so a run
   * with the rest of the budget goes on exactly as this one would have: a cut changes nothing
   * the guest or the counters can see. The hypervisor cuts a vCPU's slice this way where its
   * caller's time ends, and goes on with the slice in its next step.
   */
  public int run(long maxInstructions, long cutAfter) {
    // The budget is in cycles of this processor's clock (instructions plus charged costs);
    // a block starts only with budget left, so it ends at most one block's charges late.
    long start = busyCycles();
    long limit = maxInstructions > Long.MAX_VALUE - start ? Long.MAX_VALUE
        : start + maxInstructions;
    cutAt = cutAfter > Long.MAX_VALUE - start ? Long.MAX_VALUE : start + Math.max(cutAfter, 0);
    stopRequested = false;
    if (vmcs != null) {
      int x = emulatorStep ? VmxNonRoot.emulatorEvent(this) : VmxNonRoot.vmEntry(this);
      if (x >= 0) {
        return x;
      }
      if (!emulatorStep
          && vmcs.has(VmcsField.PIN_BASED_VM_EXEC_CONTROL, VmxControls.PIN_PREEMPTION_TIMER)) {
        long timer = vmcs.read(VmcsField.VMX_PREEMPTION_TIMER_VALUE);
        if (timer == 0) {
          return VmxNonRoot.preemptionTimerExit(this, 0);
        }
        limit = Math.min(limit, start + timer);
      }
    }
    long entryCount = icount;
    boolean replay = mmioLen > 0;
    // Controls do not change while the guest runs: read them once, not per block.
    // The emulator's step is one instruction, as the monitor trap flag makes a run.
    final boolean mtf = vmcs != null && (emulatorStep
        || vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MONITOR_TRAP_FLAG));
    final boolean nonRoot = vmcs != null;
    watchFlags = boundaryWatch();
    chainedLast = null;
    // Left behind only by a run that an exception ended inside a nested chain.
    chainEnd = null;
    // MTF and an MMIO replay need the checks below at every boundary they affect.
    boolean attend = mtf || replay;
    // The boundary checks run once the budget or the cut is reached.
    final long check = Math.min(limit, cutAt);
    Block prev = null;
    while (true) {
      long blockLimit = limit;
      // A quiet boundary (the common case): no interrupt shadow, no debug feature, no event that
      // could be delivered or exit (watchFlags), not halted, budget left. The checks below would
      // all pass through, so they are skipped; any doubt (a host interrupt, IF with an interrupt
      // controller) sends the boundary through them, and they decide exactly.
      if (attend || ((flags & watchFlags) | bpEnabled) != 0 || shadow || stepPending
          || hostInterrupt || nmiWindow || halted || busyCycles() >= check) {
        int x = boundary(limit, start, entryCount, mtf, replay, nonRoot, prev);
        if (x >= 0) {
          return x;
        }
        if (x == RESTART) {
          prev = null;
          continue;
        }
        if (x == UNLINKED) {
          prev = null;
        } else if (x == ONE_INSTRUCTION) {
          blockLimit = Math.min(limit, busyCycles() + 1);
        }
      }
      Block b;
      try {
        b = CodeCache.nextBlock(this, prev);
      } catch (CpuFault f) {
        int x = handleFault(eip, eip, false, 0);
        if (x >= 0) {
          return x;
        }
        prev = null;
        continue;
      }
      int exit = execute(b, blockLimit); // JIT hook: translated or interpreted
      if (replay) {
        replay = false;
        attend = mtf;
        if (exit != CpuExit.VM_EXIT) {
          mmioLen = 0;
        }
      }
      if (exit >= 0) {
        return exit;
      }
      // The last block that ran: b, unless a translation chained on to successors.
      Block chained = chainedLast;
      if (chained != null) {
        chainedLast = null;
        prev = chained;
      } else {
        prev = b;
      }
    }
  }

  /** {@link #boundary}: go on with the next block under the run's own limit. */
  private static final int FULL_BLOCK = -1;
  /** {@link #boundary}: go on with the next block, but run one instruction of it at most. */
  private static final int ONE_INSTRUCTION = -2;
  /** {@link #boundary}: a debug step ran (or delivered an event): start over, unlinked. */
  private static final int RESTART = -3;
  /** {@link #boundary}: an interrupt was delivered: go on with the handler's first block. */
  private static final int UNLINKED = -4;

  /**
   * The EFLAGS bits that make a boundary need {@link #boundary}'s checks in this run: TF and RF
   * (debug), and IF when an interrupt could be taken at an open window: an interrupt controller
   * outside VMX, or interrupt-window exiting inside (the VMCS controls do not change while the
   * guest runs, so this is read once per {@link #run}).
   */
  private int boundaryWatch() {
    boolean ifMatters = vmcs != null
        ? vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_INTERRUPT_WINDOW_EXITING)
        : intc != null;
    return Flags.TF | Flags.RF | (ifMatters ? Flags.IF : 0);
  }

  /** EFLAGS bits the run loop watches at every boundary ({@link #boundaryWatch}). */
  private int watchFlags = Flags.TF | Flags.RF | Flags.IF;

  /**
   * The checks at a block boundary that is not quiet: MTF, an MMIO replay, the interrupt shadow,
   * events (delivered or exiting), HLT, the budget and the debug features, in the order the
   * processor takes them. Returns a {@link CpuExit} code to leave {@link #run} with, or how to
   * go on ({@link #FULL_BLOCK}, {@link #ONE_INSTRUCTION}, {@link #RESTART}, {@link #UNLINKED}).
   */
  private int boundary(long limit, long start, long entryCount, boolean mtf, boolean replay,
      boolean nonRoot, Block prev) {
    boolean one = false;
    boolean delivered = false;
    if (mtf && icount > entryCount) {
      if (emulatorStep) {
        // The emulator's instruction retired: back to the hypervisor, which was never left.
        return CpuExit.EMULATED;
      }
      // Monitor trap flag: one instruction, then an exit, before anything of the next one
      // (an interrupt shadow the instruction set is still in force at the exit).
      vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.MONITOR_TRAP_FLAG.code());
      vmcs.write(VmcsField.EXIT_QUALIFICATION, 0);
      return CpuExit.VM_EXIT;
    }
    if (busyCycles() >= cutAt && busyCycles() < limit && icount > entryCount) {
      // The caller's cut: nothing of this boundary is done, so the next run does all of it.
      return CpuExit.CUT;
    }
    if (replay) {
      // Restarting the instruction whose MMIO accesses the hypervisor completed.
      mmioPos = 0;
      one = true;
    } else if (shadow) {
      if (busyCycles() >= limit) {
        // The budget ends inside the shadow: the next run starts with these checks and takes
        // the shadow whole, so an event still waits for the instruction after STI or MOV SS
        // (and a VM exit saves the blocking in the interruptibility state).
        return budgetExit(start);
      }
      shadow = false;
      one = true;
      if (ssShadow) {
        // The instruction after MOV SS / POP SS: #DB waits for it, breakpoints on it are lost.
        ssShadow = false;
        int x = Faults.debugStepIfArmed(this, Math.min(limit, busyCycles() + 1), prev, false);
        if (x != Integer.MIN_VALUE) {
          return x >= 0 ? x : RESTART;
        }
      }
    } else if (nonRoot && (hostInterrupt || nmiWindow || (flags & Flags.IF) != 0)) {
      int x = VmxNonRoot.nonRootEventCheck(this);
      if (x >= 0) {
        return x;
      }
    } else if ((flags & Flags.IF) != 0 && intc != null && intc.pending()) {
      halted = false;
      int vector = intc.acknowledge();
      int x = Interrupts.deliver(this, vector, Interrupts.EXTERNAL, false, 0, eip, eip);
      if (x >= 0) {
        return x;
      }
      prev = null;
      delivered = true;
    }
    if (halted) {
      return CpuExit.HLT;
    }
    if (busyCycles() >= limit) {
      return budgetExit(start);
    }
    one |= mtf;
    if (((flags & (Flags.TF | Flags.RF)) | bpEnabled) != 0 || stepPending) {
      int x = Faults.debugStepIfArmed(this, one ? Math.min(limit, busyCycles() + 1) : limit,
          prev, true);
      return x >= 0 ? x : RESTART;
    }
    return one ? ONE_INSTRUCTION : delivered ? UNLINKED : FULL_BLOCK;
  }

  /** The run's budget is spent: BUDGET, or the preemption timer's VM exit when it is armed. */
  private int budgetExit(long start) {
    return vmcs != null && vmcs.has(VmcsField.PIN_BASED_VM_EXEC_CONTROL,
        VmxControls.PIN_PREEMPTION_TIMER)
        ? VmxNonRoot.preemptionTimerExit(this, busyCycles() - start)
        : CpuExit.BUDGET;
  }

  /** Power-on state of the debug registers (SDM vol. 3, table 10-1) and of IA32_DEBUGCTL. */
  private void resetDebug() {
    Arrays.fill(dr, 0, 4, 0);
    dr[4] = dr[6] = 0xFFFF_0FF0;
    dr[5] = dr[7] = 0x400;
    bpEnabled = 0;
    debugCtl = 0;
    stepPending = false;
    pendingDataHits = 0;
    dataHits = 0;
  }

  /** Data-breakpoint hits held back with the single-step by a MOV SS shadow. */
  int pendingDataHits;

  /** Kept on Cpu, where the JIT hooks and translations call it: {@link Faults#handleFault}. */
  int handleFault(int start, int next, boolean trap, int len) {
    return Faults.handleFault(this, start, next, trap, len);
  }

  // ================================================================== mode and privilege

  boolean protectedMode() {
    return (cr0 & CR0_PE) != 0;
  }

  boolean v86() {
    return (flags & Flags.VM) != 0;
  }

  void setCpl(int newCpl) {
    if (newCpl != cpl) {
      cpl = newCpl;
      epoch++;
    }
    tlbUser = cpl == 3 ? TLB_SIZE : 0;
  }

  /** Recomputes what depends on a segment register's hidden part. */
  void segmentChanged(int seg) {
    int a = segAttr[seg];
    boolean data = (a & Segments.TYPE_CODE) == 0;
    boolean flatRw = (a & Segments.USABLE) != 0 && segLimit[seg] == -1 && data
        && (a & Segments.TYPE_CE) == 0 && (a & Segments.TYPE_RW) != 0;
    segOk[seg] = flatRw;
    if (seg == SS) {
      ss32 = protectedMode() && !v86() && (a & Segments.ATTR_DB) != 0;
    } else if (seg == CS) {
      updateMode();
      epoch++;
    }
  }

  private void updateMode() {
    boolean def32 = protectedMode() && !v86() && (segAttr[CS] & Segments.ATTR_DB) != 0;
    mode = def32 ? Decoder.MODE_DEF32 : 0;
  }

  void writeCr0(int v) {
    v |= CR0_ET;
    checkCr0(v);
    writeCr0Unchecked(v);
  }

  /** MOV to CR0's #GP(0) checks on the value written: PG without PE, NW without CD. */
  void checkCr0(int v) {
    if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) {
      raise(Exceptions.GP, 0);
    }
    if ((v & CR0_NW) != 0 && (v & CR0_CD) == 0) {
      raise(Exceptions.GP, 0);
    }
  }

  void writeCr0Unchecked(int v) {
    v = (v | CR0_ET) & CR0_DEFINED;
    if ((v & CR0_PG) != 0 && (cr0 & CR0_PG) == 0 && (cr4 & CR4_PAE) != 0
        && !Paging.loadPdptes(this, cr3)) {
      raise(Exceptions.GP, 0);
    }
    int changed = cr0 ^ v;
    cr0 = v;
    if ((changed & (CR0_PG | CR0_PE | CR0_WP)) != 0) {
      Mmu.flushTlb(this);
    }
    if ((changed & CR0_PE) != 0) {
      updateMode();
      for (int s = 0; s < 6; s++) {
        segmentChanged(s);
      }
    }
  }

  void writeCr3(int v) {
    if ((cr4 & CR4_PAE) != 0 && (cr0 & CR0_PG) != 0 && !Paging.loadPdptes(this, v)) {
      raise(Exceptions.GP, 0);
    }
    cr3 = v;
    Mmu.flushNonGlobal(this);
  }

  void writeCr4(int v) {
    if ((v & CR4_PAE) != 0 && (cr4 & CR4_PAE) == 0 && (cr0 & CR0_PG) != 0
        && !Paging.loadPdptes(this, cr3)) {
      raise(Exceptions.GP, 0);
    }
    int changed = cr4 ^ v;
    cr4 = v;
    if ((changed & (CR4_PSE | CR4_PAE | CR4_PGE)) != 0) {
      Mmu.flushTlb(this);
    }
  }

  long tsc() {
    return cycles() + tscOffset;
  }

  /** Sets the time-stamp counter (a hypervisor without VMX's TSC offset keeps it on its clock). */
  public void setTsc(long value) {
    tscOffset = value - cycles();
  }

  private boolean ioPermitted(int port, int bytes) {
    if (!protectedMode()) {
      return true;
    }
    if (!v86() && cpl <= ((flags >>> 12) & 3)) {
      return true;
    }
    return Tasks.ioAllowed(this, port, bytes);
  }

  void checkIo(int port, int bytes) {
    if (!ioPermitted(port, bytes)) {
      raise(Exceptions.GP, 0);
    }
  }

  // ================================================================== execution
  // One block at a time; the dispatch loop is Interpreter's, the decoded-code cache CodeCache's.

  /** Runs one block; returns a {@link CpuExit} code, or -1 to continue with the next block. */
  int execBlock(Block b, long limit) {
    final int base = eip;
    blockEip = base;
    eip = base + b.endOffset;
    int x = interpret(b, base, 0, blockStop(b, limit));
    return x == BLOCK_DONE ? afterBlock() : x;
  }

  /**
   * How many instructions of block {@code b} the interpreter runs when it starts the block
   * now: all of them, or as many as the budget up to {@code limit} allows, but at least one
   * (the run loop found budget left, and fetching the block may have charged walk references
   * since). Decided once per block, at its start: what its instructions charge on the way
   * does not shorten it.
   */
  private int blockStop(Block b, long limit) {
    long remaining = Math.max(limit - busyCycles(), 1);
    return remaining < b.count ? (int) remaining : b.count;
  }

  /** {@link #interpret} ran its instructions to the end without a fault. */
  static final int BLOCK_DONE = Integer.MIN_VALUE;

  /** Kept on Cpu, where the JIT hooks and translations call it: {@link Interpreter#interpret}. */
  private int interpret(Block b, int base, int first, int stop) {
    return Interpreter.interpret(this, b, base, first, stop);
  }

  /** Kept on Cpu, where the JIT hooks and translations call it: {@link Faults#faultInBlock}. */
  int faultInBlock(int[] code, int base, int i) {
    return Faults.faultInBlock(this, code, base, i);
  }

  /**
   * RDTSC as instruction {@code i} (1-based) of the running block: the counter it reads (the
   * block's instructions retire together at its end, so the index counts those before it), or
   * #GP under CR4.TSD outside ring 0, or a VM exit under RDTSC exiting (interpreter and
   * translations share this, so both engines charge the same). The read value is taken before
   * the instruction's own cost ({@link CpuCosts#rdtsc}) is charged: the next read sees it.
   */
  long rdtsc(int i) {
    if ((cr4 & CR4_TSD) != 0 && cpl != 0 && protectedMode()) {
      raise(Exceptions.GP, 0);
    }
    if (exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_RDTSC_EXITING)) {
      vmExit(ExitReason.RDTSC, 0);
    }
    long tsc = tsc() + i;
    if (exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_USE_TSC_OFFSETTING)) {
      tsc += vmcs.read(VmcsField.TSC_OFFSET);
    }
    charged += costRdtsc;
    return tsc;
  }

  /**
   * PAUSE, a spin-wait hint: its delay ({@link CpuCosts#pause}) charged to the clock, or a VM
   * exit under PAUSE exiting (interpreter and translations share this).
   */
  void pause() {
    if (exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_PAUSE_EXITING)) {
      vmExit(ExitReason.PAUSE, 0);
    }
    charged += costPause;
  }

  /** What ends the run after a block that completed: a stop request or HLT. */
  private int afterBlock() {
    if (stopRequested) {
      stopRequested = false;
      return CpuExit.STOPPED;
    }
    return halted ? CpuExit.HLT : -1;
  }

  /** Kept on Cpu, where the JIT hooks and translations call it: {@link Interpreter#execCold}. */
  private void execCold(int f0, int d, int imm, int f3, int base, int i) {
    Interpreter.execCold(this, f0, d, imm, f3, base, i);
  }

  /** Leaves the block with a trap: the event is delivered with EIP after the instruction. */
  void trap(int vector, int kind, boolean exception) {
    trapping = true;
    trapKind = kind;
    softException = exception;
    excVector = vector;
    excError = 0;
    throw CpuFault.INSTANCE;
  }

  void raiseUndefined(int vector) {
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

  /** Sets CF, leaving the other status flags as they are. */
  void setCfOnly(int cf) {
    setCfOf(cf, of() >>> 11);
  }

  /** Sets CF and OF (0 or 1), leaving the other status flags as they are. */
  void setCfOf(int cf, int of) {
    if (lfOp == LF_NONE) {
      flags = (flags & ~(Flags.CF | Flags.OF)) | cf | of << 11;
    } else {
      lfOp |= LF_OVR;
      lfCf = cf;
      lfOf = of;
    }
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

  /**
   * CF for INC/DEC, which keep it: after INC, DEC, shifts, multiplies and overrides it is
   * already in {@link #lfCf}, after logic ops it is 0, so the common loop pays no switch.
   */
  int carryIn() {
    int op = lfOp;
    return op >= LF_INC ? lfCf : op == LF_LOGIC ? 0 : cf();
  }

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
    switch (lfOp & 7) {
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

  /** Linear address of a memory operand, without segment checks (INVLPG, LEA-like uses). */
  int linear(int f0, int d) {
    return segBase[(f0 >>> 24) & 7] + offset(f0, d);
  }

  /** Linear address for reading a {@code 1 << size}-byte operand, after segment checks. */
  int linR(int f0, int d, int size) {
    int seg = (f0 >>> 24) & 7;
    int off = offset(f0, d);
    if (!segOk[seg]) {
      checkSegment(seg, off, 1 << size, false);
    }
    return segBase[seg] + off;
  }

  /**
   * Linear address for writing (or read-modify-writing) a {@code 1 << size}-byte operand. The
   * write is probed here, so an instruction faults before it changes anything.
   */
  int linW(int f0, int d, int size) {
    int seg = (f0 >>> 24) & 7;
    int off = offset(f0, d);
    if (!segOk[seg]) {
      checkSegment(seg, off, 1 << size, true);
    }
    int lin = segBase[seg] + off;
    int page = lin >>> 12;
    if (wTag[(page & TLB_MASK) | tlbUser] != page || (lin & 0xFFF) > 0x1000 - (1 << size)) {
      Mmu.probeWrite(this, lin, 1 << size);
    }
    return lin;
  }

  /**
   * Linear address for x87 and other wide operands of {@code bytes} bytes; segment checks for
   * the whole range, and a probe of every page it touches when writing.
   */
  int operandAddress(int f0, int d, int bytes, boolean write) {
    int seg = (f0 >>> 24) & 7;
    return segAddr(seg, offset(f0, d), bytes, write);
  }

  /** Linear address of {@code seg:off} for an access of {@code bytes}, after all checks. */
  int segAddr(int seg, int off, int bytes, boolean write) {
    if (!segOk[seg]) {
      checkSegment(seg, off, bytes, write);
    }
    int lin = segBase[seg] + off;
    if (write) {
      int page = lin >>> 12;
      if (wTag[(page & TLB_MASK) | tlbUser] != page || (lin & 0xFFF) > 0x1000 - bytes) {
        for (int k = 0; k < bytes; k += 0x1000 - ((lin + k) & 0xFFF)) {
          Mmu.probeWrite(this, lin + k, Math.min(bytes - k, 0x1000 - ((lin + k) & 0xFFF)));
        }
      }
    }
    return lin;
  }

  /** Segment type and limit checks (SDM vol. 3, 5.3-5.5); #SS for SS, else #GP. */
  private void checkSegment(int seg, int off, int bytes, boolean write) {
    int a = segAttr[seg];
    int vector = seg == SS ? Exceptions.SS : Exceptions.GP;
    if (protectedMode() && !v86()) {
      if ((a & Segments.USABLE) == 0) {
        raise(vector, 0);
      }
      boolean code = (a & Segments.TYPE_CODE) != 0;
      if (write ? code || (a & Segments.TYPE_RW) == 0
          : code && (a & Segments.TYPE_RW) == 0) {
        raise(Exceptions.GP, 0);
      }
      if (!code && (a & Segments.TYPE_CE) != 0) {
        long upper = (a & Segments.ATTR_DB) != 0 ? 0xFFFF_FFFFL : 0xFFFF;
        long o = off & 0xFFFF_FFFFL;
        if (o <= (segLimit[seg] & 0xFFFF_FFFFL) || o + bytes - 1 > upper) {
          raise(vector, 0);
        }
        return;
      }
    }
    long end = (off & 0xFFFF_FFFFL) + bytes - 1;
    if (end > (segLimit[seg] & 0xFFFF_FFFFL)) {
      raise(vector, 0);
    }
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
      return readSized(size, linR(f0, d, size));
    }
    return getReg(size, (f0 >>> 14) & 15);
  }

  void setE(int f0, int d, int size, int v) {
    if ((f0 & F0_MEM) != 0) {
      writeSized(size, linW(f0, d, size), v);
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

  /** Linear address of stack offset {@code sp} (masked to SP when SS is 16-bit), checked. */
  int stackAddr(int sp, int bytes, boolean write) {
    if (!ss32) {
      sp &= 0xFFFF;
    }
    if (!segOk[SS]) {
      checkSegment(SS, sp, bytes, write);
    }
    int lin = segBase[SS] + sp;
    if (write) {
      int page = lin >>> 12;
      if (wTag[(page & TLB_MASK) | tlbUser] != page || (lin & 0xFFF) > 0x1000 - bytes) {
        Mmu.probeWrite(this, lin, bytes);
      }
    }
    return lin;
  }

  void setStackPointer(int sp) {
    r[ESP] = ss32 ? sp : (r[ESP] & 0xFFFF_0000) | (sp & 0xFFFF);
  }

  /** Reads the stack at ESP + {@code delta} with the given operand size. */
  int readStack(int size, int delta) {
    return readSized(size, stackAddr(r[ESP] + delta, 1 << size, false));
  }

  void adjustEsp(int delta) {
    setStackPointer(r[ESP] + delta);
  }

  void push32(int v) {
    int sp = r[ESP] - 4;
    write32(stackAddr(sp, 4, true), v);
    setStackPointer(sp);
  }

  void pushSized(int size, int v) {
    if (size == 2) {
      push32(v);
      return;
    }
    int sp = r[ESP] - 2;
    write16(stackAddr(sp, 2, true), v);
    setStackPointer(sp);
  }

  int pop(int size) {
    int v = readStack(size, 0);
    adjustEsp(size == 2 ? 4 : 2);
    return v;
  }

  // ================================================================== memory

  int userAccess() {
    // Without a branch: a kernel that boots in ring 0 for a long time teaches HotSpot that the
    // CPL-3 side never runs, and the first user-mode access then deoptimises every compiled
    // method that inlined this (Cpu.interpret among them), late in a boot.
    return ((cpl + 1) >>> 2) * Paging.USER;
  }

  /**
   * Translates {@code lin} as a data read would, with its #PF, but reads nothing (CLFLUSH: MMIO
   * must not see an access).
   */
  void probeRead(int lin) {
    Mmu.translate(this, lin, userAccess());
  }

  long physPageOfCode(int lin) {
    return Mmu.translateCode(this, lin) >>> 12;
  }

  int fetchCodeByte(int lin) {
    return mem.read8(Mmu.translateCode(this, lin));
  }

  /** Implicit supervisor read (descriptor tables, TSS, IDT), whatever the CPL. */
  int readSys32(int lin) {
    if ((lin & 0xFFF) > 0xFFC) {
      int v = 0;
      for (int k = 0; k < 4; k++) {
        v |= (mem.read8(Mmu.translateSys(this, lin + k, 0)) & 0xFF) << (8 * k);
      }
      return v;
    }
    return mem.read32(Mmu.translateSys(this, lin, 0));
  }

  /** Implicit supervisor write (accessed and busy bits, TSS state). */
  void writeSys32(int lin, int v) {
    if ((lin & 0xFFF) > 0xFFC) {
      for (int k = 0; k < 4; k++) {
        Mmu.translateSys(this, lin + k, Paging.WRITE);
      }
      for (int k = 0; k < 4; k++) {
        mem.write8(Mmu.translateSys(this, lin + k, Paging.WRITE), v >>> (8 * k));
      }
      return;
    }
    mem.write32(Mmu.translateSys(this, lin, Paging.WRITE), v);
  }

  int read8(int lin) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | tlbUser;
    if (rTag[idx] == page) {
      return rPage[idx][lin & 0xFFF] & 0xFF;
    }
    return Mmu.readSlow(this, lin, 0);
  }

  int read16(int lin) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | tlbUser;
    if (rTag[idx] == page && (lin & 0xFFF) != 0xFFF) {
      return (short) MemoryBus.I16.get(rPage[idx], lin & 0xFFF) & 0xFFFF;
    }
    return Mmu.readSlow(this, lin, 1);
  }

  int read32(int lin) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | tlbUser;
    if (rTag[idx] == page && (lin & 0xFFF) <= 0xFFC) {
      return (int) MemoryBus.I32.get(rPage[idx], lin & 0xFFF);
    }
    return Mmu.readSlow(this, lin, 2);
  }

  void write8(int lin, int v) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | tlbUser;
    if (wTag[idx] == page) {
      wPage[idx][lin & 0xFFF] = (byte) v;
      return;
    }
    Mmu.writeSlow(this, lin, 0, v);
  }

  void write16(int lin, int v) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | tlbUser;
    if (wTag[idx] == page && (lin & 0xFFF) != 0xFFF) {
      MemoryBus.I16.set(wPage[idx], lin & 0xFFF, (short) v);
      return;
    }
    Mmu.writeSlow(this, lin, 1, v);
  }

  void write32(int lin, int v) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | tlbUser;
    if (wTag[idx] == page && (lin & 0xFFF) <= 0xFFC) {
      MemoryBus.I32.set(wPage[idx], lin & 0xFFF, v);
      return;
    }
    Mmu.writeSlow(this, lin, 2, v);
  }

  /**
   * The stores of a REP STOS that stay inside {@code lin}'s page, at once: up to {@code count}
   * (unsigned) elements of {@code 1 << size} bytes holding {@code v}, ascending from
   * {@code lin}, when the page's write translation is cached. Each would be a hit of
   * {@link #write32}'s fast path (a cached write entry is plain RAM with no decoded code and no
   * watchpoint), so storing them in one fill changes nothing the guest or the counters see.
   * Returns how many it stored: 0 when the entry is not cached or the first element crosses
   * the page, and the caller then takes the element-by-element path.
   */
  int storeRun(int lin, int size, int v, int count) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | tlbUser;
    if (wTag[idx] != page) {
      return 0;
    }
    int off = lin & 0xFFF;
    int room = (0x1000 - off) >>> size;
    int n = Integer.compareUnsigned(count, room) < 0 ? count : room;
    byte[] f = wPage[idx];
    switch (size) {
      case 2 -> {
        for (int k = 0, p = off; k < n; k++, p += 4) {
          MemoryBus.I32.set(f, p, v);
        }
      }
      case 1 -> {
        for (int k = 0, p = off; k < n; k++, p += 2) {
          MemoryBus.I16.set(f, p, (short) v);
        }
      }
      default -> java.util.Arrays.fill(f, off, off + n, (byte) v);
    }
    return n;
  }

  /**
   * The copies of a REP MOVS that stay inside both pages, at once: up to {@code count}
   * (unsigned) elements from {@code src} to {@code dst}, ascending, when the source page's read
   * translation and the destination page's write translation are cached (each element would
   * be a hit of both fast paths). An overlap in which the destination runs ahead of the source
   * in the same frame is left to the element-by-element path: there each element reads what
   * an earlier one wrote, which one bulk copy would not reproduce. Returns how many it copied.
   */
  int copyRun(int src, int dst, int size, int count) {
    int sPage = src >>> 12;
    int sIdx = (sPage & TLB_MASK) | tlbUser;
    int dPage = dst >>> 12;
    int dIdx = (dPage & TLB_MASK) | tlbUser;
    if (rTag[sIdx] != sPage || wTag[dIdx] != dPage) {
      return 0;
    }
    int sOff = src & 0xFFF;
    int dOff = dst & 0xFFF;
    int room = (0x1000 - Math.max(sOff, dOff)) >>> size;
    int n = Integer.compareUnsigned(count, room) < 0 ? count : room;
    byte[] from = rPage[sIdx];
    byte[] to = wPage[dIdx];
    int bytes = n << size;
    if (from == to && dOff > sOff && dOff < sOff + bytes) {
      return 0;
    }
    System.arraycopy(from, sOff, to, dOff, bytes);
    return n;
  }

  // ================================================================== JIT hooks (org.hospes.x86.jit)
  // Translated blocks are hidden classes nested with Cpu (the translator gets Cpu's own lookup),
  // so they use the registers, lazy flags, TLB and the helpers above directly. Everything here is
  // the seam between the interpreter and org.hospes.x86.jit; the translator itself lives there.

  /** The translator and its code cache; null under the interpreter engine. */
  private final Jit jit = Jit.create(MethodHandles.lookup(), Cpu::evicted);

  /** A block whose translation the code cache dropped: interpreted, and counted from zero. */
  private static void evicted(Object o) {
    Block b = (Block) o;
    b.translation = null;
    b.heat = 0;
  }

  /** Runs after which block {@code b} is translated ({@link Jit#hotAt}); never without one. */
  int hotAt(Block b) {
    return jit == null ? Integer.MAX_VALUE : jit.hotAt(b.selfLoop);
  }

  /** The translator of this processor, or null under the interpreter engine. */
  public Jit jit() {
    return jit;
  }

  /**
   * The successor {@link #execute} chained to last, when it chained (else null: the block it
   * was given ran last). A field written per block would cost the run loop more than the
   * write: a reference stored into the long-lived Cpu is a GC card mark, under G1 with a
   * StoreLoad fence, so it is written only when a chain ends elsewhere than it began.
   */
  private Block chainedLast;

  /**
   * Runs one block: its translation when it has one and the budget covers it, else interpreted.
   * After a translation completes, as long as the run loop would do nothing at this boundary
   * but find the chained successor and run its translation ({@link #chainable}), that
   * translation runs straight away: translated blocks chain to each other without a trip
   * through the run loop.
   */
  private int execute(Block b, long limit) {
    Translation t = b.translation;
    if (t == null) {
      if (jit != null && ++b.heat == b.hotAt) {
        b.translation = jit.translate(this, b, b.code, b.count, b.endOffset, b.selfLoop);
      }
      return execBlock(b, limit);
    }
    if (t.count == 0 || limit - busyCycles() < t.count) {
      return execBlock(b, limit);
    }
    if (jit.lockstep() != null) {
      return lockstepBlock(b, t, limit);
    }
    return runTranslated(b, t, limit);
  }

  /**
   * Runs translation {@code t} of block {@code b}, then, chained, the translations of its
   * successors as long as {@link #chainable} allows (kept apart from {@link #execute} so that
   * the interpreter's path stays small enough for HotSpot to inline into the run loop).
   */
  private int runTranslated(Block b, Translation t, long limit) {
    final Block first = b;
    int x;
    while (true) {
      // A self-loop or chain stops at an iteration short of the cut, too (at most a block past it).
      jitLimit = Math.min(limit, cutAt);
      runLimit = limit;
      final int base = eip;
      // A translation of the block's leading instructions only: how far the interpreter would
      // have gone, decided now, at the block's start, as it decides it.
      final int stop = t.count < b.count ? blockStop(b, limit) : 0;
      chainDepth = 0;
      x = t.run(this);
      // A translation of a whole block may have run its successors itself (chainTarget): the
      // last one that ran names its block.
      Block last = chainEnd;
      if (last != null) {
        chainEnd = null;
        b = last;
        t = last.translation;
      }
      if (x != Translation.COMPLETED) {
        x = x == Translation.DELIVERED ? -1 : x;
        break;
      }
      x = t.count < b.count ? finishBlock(b, base, t, stop) : afterBlock();
      if (x >= 0) {
        break;
      }
      Block next = chainable(b, limit);
      if (next == null) {
        break;
      }
      jit.chained();
      b = next;
      t = b.translation;
    }
    if (b != first) {
      chainedLast = b;
    }
    return x;
  }

  /**
   * After translation {@code t} of block {@code b} (at {@code base}) completed short of the
   * block's end: the rest of the block runs up to {@code stop} ({@link #blockStop} at the
   * block's start), through the translations that follow {@code t} (each one only when
   * {@code stop} covers all of it) and then the interpreter, and the block ends as an
   * interpreted one does. So a partial translation adds no boundary the interpreter does not
   * have: the run loop would check for events and the budget there, and look up a block in the
   * middle of this one. Nothing follows a store that invalidated the block (the interpreter
   * stops there too). The rest is translated once it has run {@link Translation#restHotAt}
   * times after {@code t}.
   */
  private int finishBlock(Block b, int base, Translation t, int stop) {
    while (b.valid && stop > t.count) {
      Translation rest = t.next;
      if (rest == null) {
        if (++t.restHeat != t.restHotAt) {
          break;
        }
        rest = jit.translateRest(this, b, t, b.code, b.count, b.endOffset, b.selfLoop);
        t.next = rest;
      }
      if (rest.count == 0 || stop < rest.count) {
        break;
      }
      eip = base + b.endOffset;
      int x;
      if (jit.lockstep() != null) {
        x = lockstepRun(b, rest, base);
        if (x != BLOCK_DONE) {
          return x;
        }
      } else {
        x = rest.run(this);
        if (x != Translation.COMPLETED) {
          return x == Translation.DELIVERED ? -1 : x;
        }
      }
      t = rest;
    }
    if (b.valid && stop > t.count) {
      eip = base + b.endOffset;
      int x = interpret(b, base, t.count, stop);
      if (x != BLOCK_DONE) {
        return x;
      }
    }
    return afterBlock();
  }

  /**
   * The successor of {@code b} (which has just completed) when the run loop, at this boundary,
   * would do nothing but follow {@code b}'s chain link to it and run its translation: no
   * interrupt shadow, debug feature, event or exit due, the link current (same epoch, same EIP,
   * still valid), and budget left for the whole translation. Else null, and the run loop takes
   * over exactly where it would have.
   */
  private Block chainable(Block b, long limit) {
    if (b.linkEpoch != epoch || busyCycles() >= cutAt || !quiet()) {
      return null;
    }
    Block next = b.linked(eip, epoch);
    if (next == null) {
      return null;
    }
    Translation t = next.translation;
    if (t == null || t.count == 0 || limit - busyCycles() < t.count) {
      return null;
    }
    return next;
  }

  /**
   * The last block whose translation ran in a chain that translations of whole blocks ran
   * themselves ({@link #chainTarget}), when it left: {@link #runTranslated} goes on from it.
   */
  Block chainEnd;
  /** Translations run nested in the current chain (bounded: each one is a JVM frame). */
  private int chainDepth;
  /** At most this many translations run nested inside one another in one chain. */
  static final int MAX_NESTED_CHAIN = 16;

  /**
   * Called by the translation of whole block {@code b} as it completes: the translation of the
   * successor that {@link #runTranslated} would run next at this boundary, to be run by the
   * caller itself, or null (and {@code b} is the last block run) when the run loop's chain
   * would stop here or go on to a translation of part of a block only, or the chain is
   * {@link #MAX_NESTED_CHAIN} deep: {@link #runTranslated} then takes over as it would have.
   */
  Translation chainTarget(Block b) {
    if (stopRequested || halted || chainDepth >= MAX_NESTED_CHAIN) {
      chainEnd = b;
      return null;
    }
    Block next = chainable(b, jitLimit);
    if (next == null || next.translation.count < next.count) {
      chainEnd = b;
      return null;
    }
    chainDepth++;
    jit.chained();
    return next.translation;
  }

  /**
   * True when the run loop's checks at this boundary would pass through: no interrupt shadow,
   * no debug feature, no event to deliver or exit to take. The run's watched flags answer the
   * common case with one test; anything they leave in doubt is decided as the loop decides it.
   */
  private boolean quiet() {
    if (nmiWindow) {
      return false;
    }
    if (((flags & watchFlags) | bpEnabled) == 0 && !shadow && !stepPending && !hostInterrupt) {
      return true;
    }
    return !shadow && !stepPending && ((flags & (Flags.TF | Flags.RF)) | bpEnabled) == 0
        && eventsQuiet();
  }

  /** True when the run loop's event checks at a boundary would neither deliver nor exit. */
  private boolean eventsQuiet() {
    if (vmcs != null) {
      if (hostInterrupt && vmcs.has(VmcsField.PIN_BASED_VM_EXEC_CONTROL,
          VmxControls.PIN_EXTERNAL_INTERRUPT_EXITING)) {
        return false;
      }
      return (flags & Flags.IF) == 0 || !vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
    }
    return (flags & Flags.IF) == 0 || intc == null || !intc.pending();
  }

  /**
   * One instruction of a translated block that the translator does not emit code for, run as
   * the interpreter runs it (the same dispatch as {@link #execBlock}, kept apart so that the
   * interpreter's loop stays one compiled method). The translation has written its registers
   * back and reloads them after; {@code i} is the instruction's 1-based index in its block.
   * Faults propagate to the translation's handler like those of translated instructions.
   */
  void jitStep(int f0, int d, int imm, int f3, int base, int i) {
    switch (f0 & 0x3FF) {
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
      case Op.XCHG_EG: DataXfer.xchg(this, f0, d); break;
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
      case Op.MOVS: StringOps.movs(this, f0, f3 >>> 20); break;
      case Op.STOS: StringOps.stos(this, f0, f3 >>> 20); break;
      case Op.MOV_RR32:
        if ((f3 >>> 20) == 0) {
          r[(f0 >>> 14) & 15] = r[(f0 >>> 10) & 15];
        } else {
          r[(f0 >>> 10) & 15] = r[(f0 >>> 14) & 15];
        }
        break;
      case Op.LOAD32: r[(f0 >>> 10) & 15] = read32(linR(f0, d, 2)); break;
      case Op.STORE32: write32(linW(f0, d, 2), r[(f0 >>> 10) & 15]); break;
      case Op.ALU_RR32: Alu.aluRR32(this, f0, f3 >>> 20); break;
      case Op.ALU_RI32: Alu.aluRI32(this, f0, imm, f3 >>> 20); break;
      case Op.INC_R32: {
        int reg = (f0 >>> 14) & 15;
        int a = r[reg];
        lfCf = carryIn();
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
        lfCf = carryIn();
        lfA = a;
        lfB = 1;
        lfR = a - 1;
        lfOp = LF_DEC;
        r[reg] = a - 1;
        break;
      }
      case Op.PUSH_R32: push32(r[(f0 >>> 14) & 15]); break;
      case Op.POP_R32: {
        int v = read32(stackAddr(r[ESP], 4, false));
        setStackPointer(r[ESP] + 4);
        r[(f0 >>> 14) & 15] = v;
        break;
      }
      case Op.FPU:
        if ((cr0 & (CR0_EM | CR0_TS)) != 0) {
          raise(Exceptions.NM, 0);
        }
        fpu.exec(this, f0, d, f3);
        break;
      default: execCold(f0, d, imm, f3, base, i); break;
    }  }

  /** The cycle limit (instructions and charged costs) of the translated block running now (see {@link #loopAgain}). */
  private long jitLimit;
  /**
   * The run's own cycle limit while a translation runs: what the run loop's {@link #chainable}
   * compares a block with. {@link #loopAgain} asks the same question, so it must not use
   * {@link #jitLimit}, which the cut lowers: a block that starts before the cut may end past it,
   * for the run loop and for a self-loop alike, and the cut itself is checked apart. With the
   * cut's limit here, a loop reaching the cut in the last block before it left by its full
   * check path instead, and the translated loops of HVM and PVH guests (whose runs are cut
   * every slice) ran about a third as fast throughout: bench-alu in hvm 1,500 MIPS against
   * 5,200 (the time was inside the translation's compiled code; why HotSpot's code became
   * slower was not traced).
   */
  private long runLimit;

  /**
   * Asked by a translated block that branches back to its own start: true when the run loop, at
   * this boundary, would do nothing but run the same translation again (no event to deliver or
   * exit to take, budget left, chained to itself), so the translation may loop by itself.
   */
  boolean loopAgain(Block b) {
    if (stopRequested || busyCycles() + b.translation.count > runLimit || b.linkEpoch != epoch
        || busyCycles() >= cutAt || !quiet()) {
      return false;
    }
    return b.linked(eip, epoch) == b;
  }

  /**
   * Set while a translated store under lockstep takes the slow path ({@link #journaledWrite}):
   * {@link Mmu#writeSlow} then journals each byte range of each frame just before it writes it,
   * or, for MMIO, a page holding decoded code or an address past RAM, marks the run unjournaled.
   */
  boolean journaling;

  /**
   * A translated store under lockstep: the old bytes are journaled so the block can be rerun.
   * An in-page store to a page the write TLB holds is journaled here; any other store (one
   * that crosses a page, or whose page the write TLB does not hold) goes through the same slow
   * path it takes outside lockstep, which journals what it writes frame by frame as it writes
   * it. So the journal adds no translation, TLB miss or page-walk reference of its own.
   */
  void journaledWrite(int lin, int size, int v) {
    int bytes = 1 << size;
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | tlbUser;
    if (wTag[idx] == page && (lin & 0xFFF) <= 0x1000 - bytes) {
      jit.lockstep().journal(wPage[idx], lin & 0xFFF, bytes,
          (wFrame[idx] & 0xFFFF_FFFFL) << 12 | (lin & 0xFFF));
      writeSized(size, lin, v);
      return;
    }
    journaling = true;
    try {
      writeSized(size, lin, v);
    } finally {
      journaling = false;
    }
  }

  /**
   * Lockstep: the translation runs first (faults are not delivered), its state is kept and
   * undone, then the interpreter runs the same block from the same state and both are compared.
   * The interpreter's outcome is the one that stands.
   */
  private int lockstepBlock(Block b, Translation t, long limit) {
    final int base = eip;
    final int stop = blockStop(b, limit);
    int x = lockstepRun(b, t, base);
    return x == BLOCK_DONE ? finishBlock(b, base, t, stop) : x;
  }

  /**
   * Lockstep for one translation {@code t} of block {@code b} (at {@code base}), from the state
   * it starts in (for a block's own translation EIP at the block's start, for a later one as
   * {@link #finishBlock} leaves it): returns {@link #BLOCK_DONE} when its instructions
   * completed, else the outcome of the exit or fault.
   */
  private int lockstepRun(Block b, Translation t, int base) {
    Lockstep ls = jit.lockstep();
    final int eip0 = eip;
    // Both engines count the instructions they retire from the block's start.
    final long icount0 = icount - t.first;
    final long charged0 = charged;
    final int flags0 = flags, lfOp0 = lfOp, lfA0 = lfA, lfB0 = lfB, lfR0 = lfR;
    final int lfCf0 = lfCf, lfOf0 = lfOf, mmioPos0 = mmioPos;
    final int[] r0 = Arrays.copyOf(r, 8);
    ls.begin();
    int x = t.run(this);
    int faultAt = x <= Translation.FAULT_BASE ? Translation.FAULT_BASE - x : 0;
    if (ls.unjournaledWrites()) {
      // A store went to MMIO or to a code page: it cannot be undone, so no rerun.
      ls.countUnchecked();
      if (faultAt > 0) {
        return faultInBlock(b.code, base, faultAt);
      }
      return x == Translation.COMPLETED ? BLOCK_DONE : x;
    }
    // The translation ran from the true state: its TLB misses and page-walk references are the
    // ones the run would have counted (virtual time depends on them); the rerun's are dropped.
    final long missesJ = tlbMisses;
    final long walksJ = walkRefs;
    final long chargedJ = charged;
    final long portsJ = portAccesses;
    final long mmioJ = mmioAccesses;
    ls.keepTranslated(r, eip, eflags(), icount - icount0, excVector, excError, pfAddr);
    ls.undo();
    System.arraycopy(r0, 0, r, 0, 8);
    eip = eip0;
    flags = flags0;
    lfOp = lfOp0;
    lfA = lfA0;
    lfB = lfB0;
    lfR = lfR0;
    lfCf = lfCf0;
    lfOf = lfOf0;
    icount = icount0 + t.first;
    charged = charged0;
    mmioPos = mmioPos0;
    vmExitPending = false;
    trapping = false;
    // Exactly the translated instructions (the rest of the block is run after either way),
    // with every exception leaving run() so that both are compared before delivery.
    final int mask = exceptionExitMask;
    exceptionExitMask = -1;
    int xi;
    try {
      blockEip = base;
      eip = base + b.endOffset;
      xi = interpret(b, base, t.first, t.count);
    } finally {
      exceptionExitMask = mask;
    }
    tlbMisses = missesJ;
    walkRefs = walksJ;
    charged = chargedJ;
    portAccesses = portsJ;
    mmioAccesses = mmioJ;
    ls.compare(b.physAddr, base, b.code, b.count, faultAt, r, eip, eflags(), icount - icount0,
        excVector, excError, pfAddr);
    if (xi == CpuExit.EXCEPTION && (excVector >= 32 || ((mask >>> excVector) & 1) == 0)) {
      // Now deliver it as the interpreter would have (EIP is at the faulting instruction).
      int f3 = b.code[(int) (icount - icount0) * 4 + 3];
      int len = (f3 >>> 16) & 15;
      xi = handleFault(eip, eip + len, false, len);
    }
    return xi;
  }
}
