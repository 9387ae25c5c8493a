package org.hospes.hv.domain;

/** Life cycle of a domain (cf. xl list's r/b/p/s/c/d). */
public enum DomainState {
  CREATED,
  RUNNING,
  PAUSED,
  BLOCKED,
  SHUTDOWN,
  CRASHED,
  DYING;

  /** True once the domain can never run again. */
  public boolean isFinal() {
    return this == SHUTDOWN || this == CRASHED || this == DYING;
  }
}
