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
 * @param pvh true if the mode boots the kernel's PVH build ({@link #pvhImage}) rather than the
 *     Multiboot kernel
 * @param successStatus the exit status of a kernel that finished: 33 from isa-debug-exit, 0 from
 *     a PVH poweroff
 */
public record BenchMode(String name, Runner runner, boolean pvh, int successStatus) {

  /** Runs one kernel in this mode. */
  @FunctionalInterface
  public interface Runner {
    HospesRunner.Result run(Path kernel, String engine) throws Exception;
  }

  /** Every mode, in table order; each measurement runs in a fresh JVM. */
  public static final List<BenchMode> ALL = List.of(
      multiboot("native"),
      multiboot(DomainMode.HVM_EPT.cliName()),
      multiboot(DomainMode.HVM_SHADOW.cliName()),
      new BenchMode(DomainMode.PVH.cliName(),
          (k, e) -> HospesRunner.runForked(pvhImage(k), DomainMode.PVH.cliName(), e), true, 0));

  private static BenchMode multiboot(String mode) {
    return new BenchMode(mode, (k, e) -> HospesRunner.runForked(k, mode, e), false,
        QemuRunner.SUCCESS_STATUS);
  }

  /** The PVH build of a benchmark kernel: {@code NAME.pvh.elf} beside {@code NAME.elf}. */
  public static Path pvhImage(Path multibootKernel) {
    String name = multibootKernel.getFileName().toString().replaceFirst("\\.elf$", "");
    return multibootKernel.resolveSibling(name + ".pvh.elf");
  }

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
