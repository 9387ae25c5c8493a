package org.hospes.dom0.toolstack;

import java.util.Locale;
import org.hospes.dom0.machine.ExitStatus;

/**
 * How one domain of a host run ended, as the toolstack reports it.
 *
 * @param kind the kind of ending
 * @param status the exit status it maps to, as for {@code hospes run} (isa-debug-exit's
 *     (V<<1)|1, 0 for a clean halt, 3 crashed, 4 limit reached); -1 for a destroyed domain
 * @param reason one line: the crash reason, the limit, who destroyed it
 * @param instructions guest instructions it retired
 */
public record DomainOutcome(Kind kind, int status, String reason, long instructions) {

  public enum Kind {
    /** Shut itself down through isa-debug-exit. */
    EXITED,
    /** Halted with nothing left that could wake it. */
    HALTED,
    /** Crashed (triple fault, or something the hypervisor could not handle). */
    CRASHED,
    /** Destroyed by the toolstack on request. */
    DESTROYED,
    /** Destroyed by the toolstack because it reached the instruction limit. */
    INSTRUCTION_LIMIT,
    /** Still running when the run's time limit was reached. */
    RUNNING;

    public String label() {
      return name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }
  }

  /** True for endings that count as success: status 33 (or 0 from a clean halt). */
  public boolean succeeded() {
    return kind == Kind.HALTED || kind == Kind.EXITED && (status == 33 || status == 0);
  }

  static DomainOutcome crashed(String reason, long insns) {
    return new DomainOutcome(Kind.CRASHED, ExitStatus.GUEST_CRASHED, reason, insns);
  }

  /** One line for people: "exited with status 33", "crashed: triple fault at ...". */
  public String describe() {
    return switch (kind) {
      case EXITED -> "exited with status " + status;
      case HALTED -> "halted";
      case CRASHED -> "crashed: " + reason;
      case DESTROYED, INSTRUCTION_LIMIT, RUNNING -> reason;
    } + String.format(Locale.ROOT, " (%,d instructions)", instructions);
  }
}
