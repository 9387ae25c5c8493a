package org.hospes.x86.jit;

import org.hospes.x86.Cpu;

/**
 * A block, or a run of its instructions, translated to JVM bytecode. The generated subclasses are
 * hidden classes nested with {@link Cpu}; each covers instructions {@link #first} (0-based) up to
 * {@link #count} of its block and runs only when the instruction budget, as decided at the
 * block's start, covers all of them. A block longer than one translation's limit is covered by a
 * chain of them: the block's own translation starts at 0, and each one's {@link #next}, once the
 * rest of the block has run often enough interpreted after it, takes over from its end.
 */
public abstract class Translation {
  /** {@link #run} finished the translated instructions; the run loop goes on. */
  public static final int COMPLETED = -1;
  /** An instruction faulted and the exception was delivered to the guest. */
  public static final int DELIVERED = -2;
  /**
   * Under lockstep, instruction {@code i} (1-based) faulted and nothing was delivered:
   * {@link #run} returns {@code FAULT_BASE - i}.
   */
  public static final int FAULT_BASE = -16;

  /** A block the translator cannot start: it stays with the interpreter. */
  static final Translation NONE = new Translation(0, 0) {
    @Override
    public int run(Cpu c) {
      throw new IllegalStateException("untranslatable block run as a translation");
    }
  };

  /** Index in its block of the first instruction covered (0 for a block's own translation). */
  public final int first;
  /** End of the instructions covered, counted from the block's start; 0 for {@link #NONE}. */
  public final int count;
  /**
   * The translation of the block's instructions from {@link #count} on, or {@link #NONE} when
   * they cannot start one; null until {@link #restHeat} reached its threshold. Written only by
   * the processor's own thread.
   */
  public Translation next;
  /** Runs of the rest of the block (from {@link #count}) that were interpreted after this. */
  public int restHeat;
  /** {@link #restHeat} at which the rest of the block is translated. */
  public final int restHotAt;

  protected Translation(int first, int count) {
    this(first, count, Integer.MAX_VALUE);
  }

  protected Translation(int first, int count, int restHotAt) {
    this.first = first;
    this.count = count;
    this.restHotAt = restHotAt;
  }

  /**
   * Runs the translated instructions: for a block's own translation ({@link #first} 0) with EIP
   * at the block's start; for a later one with {@code Cpu.blockEip} at the block's start, EIP
   * past the block and {@code Cpu.icount} counting the instructions before {@link #first} as
   * retired, as the interpreter leaves them. Returns {@link #COMPLETED},
   * {@link #DELIVERED}, a fault under lockstep ({@link #FAULT_BASE}) or a CpuExit code.
   */
  public abstract int run(Cpu c);
}
