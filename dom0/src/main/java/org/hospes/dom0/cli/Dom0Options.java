package org.hospes.dom0.cli;

import org.hospes.dom0.toolstack.Dom0Settings;
import picocli.CommandLine.Option;

/** {@code --dom0-weight} and {@code --dom0-cap}, shared by {@code run} and {@code run-many}. */
final class Dom0Options {

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String WEIGHT_HELP =
      "Hypervisor modes: dom0's credit-scheduler weight, 1..65535 (default 256,"
          + " as Xen). dom0's services (xenstored, backends, device models) run in its vCPU's"
          + " time.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String CAP_HELP =
      "Hypervisor modes: dom0's cap in percent of one CPU, 0 for none (default 0,"
          + " as Xen). A small cap slows the guests' I/O, which dom0 serves.";

  @Option(names = "--dom0-weight", paramLabel = "W",
      description = WEIGHT_HELP)
  Long weight;

  @Option(names = "--dom0-cap", paramLabel = "PERCENT",
      description = CAP_HELP)
  Long cap;

  /**
   * {@code base} with the options given applied over it.
   *
   * @throws org.hospes.dom0.toolstack.DomainSpec.SpecException naming a bad option
   */
  Dom0Settings over(Dom0Settings base) {
    return base.withOptions(weight, cap);
  }
}
