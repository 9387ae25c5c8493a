package org.hospes.hv.domain;

/** How a domain's processor and memory are virtualized: the axis of every comparative study. */
public enum DomainMode {
  /** VMX non-root with EPT: the guest's page tables plus a second-level walk. */
  HVM_EPT("hvm"),
  /** VMX non-root with shadow page tables kept by the hypervisor. */
  HVM_SHADOW("hvm-shadow"),
  /**
   * PVHVM: an HVM domain with EPT and the device model, plus Xen's platform PCI device
   * (5853:0001) and the emulated-device unplug protocol, so that a Xen-aware kernel finds its
   * grant-table space and event-channel interrupt there and uses PV front-ends instead of the
   * emulated devices (xl's {@code type = "hvm"} with {@code xen_platform_pci = 1}).
   */
  PVHVM("pvhvm"),
  /** HVM container booted directly, paravirtual I/O only (no device model). */
  PVH("pvh"),
  /**
   * Classic paravirtualization (Xen's PV32 PAE): the guest kernel runs in ring 1 on page tables
   * the hypervisor validates (no EPT, no VMX), traps bounced to its virtual IDT, hypercalls by
   * int 0x82.
   */
  PV("pv");

  private final String cliName;

  DomainMode(String cliName) {
    this.cliName = cliName;
  }

  /** The name used on the command line and in reports. */
  public String cliName() {
    return cliName;
  }

  public boolean usesEpt() {
    return this == HVM_EPT || this == PVHVM || this == PVH;
  }

  /** True for the modes whose guests have only PV devices (no device model): PVH and PV. */
  public boolean pvDevicesOnly() {
    return this == PVH || this == PV;
  }

  /** True for the mode whose device model has Xen's platform PCI device: PVHVM. */
  public boolean xenPlatformPci() {
    return this == PVHVM;
  }

  /** The mode named {@code cliName} ("hvm", "hvm-shadow", "pvhvm", "pvh", "pv"), or null. */
  public static DomainMode byCliName(String cliName) {
    for (DomainMode m : values()) {
      if (m.cliName.equals(cliName)) {
        return m;
      }
    }
    return null;
  }
}
