package org.hospes.x86.jit;

import org.hospes.x86.Cpu;

/**
 * A block (or its leading instructions) translated to JVM bytecode. The generated subclasses are
 * hidden classes nested with {@link Cpu}; each covers the first {@link #count} instructions of
 * its block and runs only when the instruction budget covers all of them.
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
  static final Translation NONE = new Translation(0) {
    @Override
    public int run(Cpu c) {
      throw new IllegalStateException("untranslatable block run as a translation");
    }
  };

  /** Guest instructions covered, from the block's start; 0 for {@link #NONE}. */
  public final int count;

  protected Translation(int count) {
    this.count = count;
  }

  /**
   * Runs the translated instructions with EIP at the block's start. Returns {@link #COMPLETED},
   * {@link #DELIVERED}, a fault under lockstep ({@link #FAULT_BASE}) or a CpuExit code.
   */
  public abstract int run(Cpu c);
}
