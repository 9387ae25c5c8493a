package org.hospes.dom0.cli;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The modes {@code hospes run --mode} accepts: the rows of the architecture's comparison table
 * that exist so far. Add a constant here when a mode lands, and a case in {@link RunCommand}.
 */
enum RunMode {
  /** Bare emulated machine, no hypervisor. */
  NATIVE("native"),
  /** HVM domain: VMX non-root with EPT, devices emulated by dom0's device model. */
  HVM("hvm"),
  /** HVM domain without EPT: shadow page tables kept by the hypervisor. */
  HVM_SHADOW("hvm-shadow"),
  /** PVHVM domain: HVM with EPT plus Xen's platform PCI device; the kernel's PV drivers. */
  PVHVM("pvhvm"),
  /** PVH domain: HVM container booted at its PHYS32_ENTRY, PV interfaces only. */
  PVH("pvh"),
  /** Classic PV domain: the kernel in ring 1 on validated page tables, started by the PV builder. */
  PV("pv");

  private final String cliName;

  RunMode(String cliName) {
    this.cliName = cliName;
  }

  String cliName() {
    return cliName;
  }

  static Optional<RunMode> byName(String name) {
    return Arrays.stream(values()).filter(m -> m.cliName.equals(name)).findFirst();
  }

  /** "native, hvm, ..." for messages. */
  static String validNames() {
    return Arrays.stream(values()).map(RunMode::cliName).collect(Collectors.joining(", "));
  }
}
