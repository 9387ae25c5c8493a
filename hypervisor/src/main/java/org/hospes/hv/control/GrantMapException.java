package org.hospes.hv.control;

/** A grant map a service asked for was refused by the granter's table (a GNTST_* status). */
public final class GrantMapException extends RuntimeException {
  private final int status;

  public GrantMapException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** The GNTST_* status (negative). */
  public int status() {
    return status;
  }
}
