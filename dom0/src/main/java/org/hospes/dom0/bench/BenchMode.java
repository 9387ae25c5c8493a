package org.hospes.dom0.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.hospes.hv.domain.DomainMode;

/**
 * A way {@code hospes bench} runs a kernel on Hospes: a name for {@code --mode} and the runner.
 * Adding a mode is one line in {@link #ALL}.
 *
 * @param name what {@code --mode} and the table call it
 * @param runner runs one kernel to its end and measures it
 */
public record BenchMode(String name, Runner runner) {

  /** Runs one kernel in this mode. */
  @FunctionalInterface
  public interface Runner {
    HospesRunner.Result run(Path kernel, String engine) throws Exception;
  }

  /** Every mode, in table order; each measurement runs in a fresh JVM. */
  public static final List<BenchMode> ALL = List.of(
      new BenchMode("native", (k, e) -> HospesRunner.runForked(k, "native", e)),
      new BenchMode("hvm", (k, e) -> HospesRunner.runForked(k, DomainMode.HVM_EPT.cliName(), e)),
      new BenchMode("hvm-shadow",
          (k, e) -> HospesRunner.runForked(k, DomainMode.HVM_SHADOW.cliName(), e)));

  /** "all", or one mode by name. */
  public static Optional<List<BenchMode>> select(String name) {
    if (name.equals("all")) {
      return Optional.of(ALL);
    }
    return ALL.stream().filter(m -> m.name.equals(name)).findFirst().map(List::of);
  }

  /** "native, hvm, ..., all" for messages. */
  public static String validNames() {
    return ALL.stream().map(BenchMode::name).collect(Collectors.joining(", ")) + ", all";
  }
}
