package org.hospes.hv.domain;

/** How a domain's processor and memory are virtualized: the axis of every comparative study. */
public enum DomainMode {
  /** VMX non-root with EPT: the guest's page tables plus a second-level walk. */
  HVM_EPT("hvm"),
  /** VMX non-root with shadow page tables kept by the hypervisor. */
  HVM_SHADOW("hvm-shadow"),
  /** HVM container booted directly, paravirtual I/O only (no device model). */
  PVH("pvh");

  private final String cliName;

  DomainMode(String cliName) {
    this.cliName = cliName;
  }

  /** The name used on the command line and in reports. */
  public String cliName() {
    return cliName;
  }

  public boolean usesEpt() {
    return this != HVM_SHADOW;
  }
}
