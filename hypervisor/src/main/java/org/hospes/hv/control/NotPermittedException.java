package org.hospes.hv.control;

import org.hospes.abi.XenErrno;

/**
 * A service domain asked for something its {@link Privilege} does not allow (Xen answers
 * -EPERM from the XSM hook). The message names who lacks what over which domain.
 */
public final class NotPermittedException extends RuntimeException {
  public NotPermittedException(String message) {
    super(message);
  }

  /** The errno Xen returns for it. */
  public int errno() {
    return XenErrno.EPERM.negated();
  }
}
