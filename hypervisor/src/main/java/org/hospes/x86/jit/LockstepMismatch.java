package org.hospes.x86.jit;

/** A translated block ended in another state than the interpreter's; the message says where. */
public final class LockstepMismatch extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LockstepMismatch(String message) {
    super(message);
  }
}
