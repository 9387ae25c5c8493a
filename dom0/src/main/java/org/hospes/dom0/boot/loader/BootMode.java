package org.hospes.dom0.boot.loader;

import java.util.Arrays;
import java.util.Optional;
import org.hospes.hv.domain.DomainMode;

/**
 * The modes a kernel can be booted in, as {@code hospes run --mode} names them: the bare machine
 * and the hypervisor's domain modes. A {@link KernelLoader} says which of them it can boot.
 */
public enum BootMode {
  /** The bare emulated PC, no hypervisor. */
  NATIVE("native", null),
  /** An HVM domain with EPT. */
  HVM("hvm", DomainMode.HVM_EPT),
  /** An HVM domain with shadow page tables. */
  HVM_SHADOW("hvm-shadow", DomainMode.HVM_SHADOW),
  /** An HVM domain with EPT and Xen's platform PCI device: a Xen-aware kernel's PV drivers. */
  PVHVM("pvhvm", DomainMode.PVHVM),
  /** A PVH domain: HVM container, direct boot, PV interfaces only. */
  PVH("pvh", DomainMode.PVH),
  /** A classic PV domain: the kernel in ring 1, started by the PV domain builder. */
  PV("pv", DomainMode.PV);

  private final String cliName;
  private final DomainMode domainMode;

  BootMode(String cliName, DomainMode domainMode) {
    this.cliName = cliName;
    this.domainMode = domainMode;
  }

  public String cliName() {
    return cliName;
  }

  /** The hypervisor's mode for a domain booted this way; null for {@link #NATIVE}. */
  public DomainMode domainMode() {
    return domainMode;
  }

  public static BootMode of(DomainMode mode) {
    return Arrays.stream(values()).filter(m -> m.domainMode == mode).findFirst().orElseThrow();
  }

  public static Optional<BootMode> byName(String name) {
    return Arrays.stream(values()).filter(m -> m.cliName.equals(name)).findFirst();
  }

  @Override
  public String toString() {
    return cliName;
  }
}
