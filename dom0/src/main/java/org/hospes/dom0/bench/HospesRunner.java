package org.hospes.dom0.bench;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;

/** Runs a multiboot kernel on the Hospes native machine (no hypervisor), 64 MiB of RAM. */
public final class HospesRunner {

  /**
   * The outcome of one run.
   *
   * @param result the machine's verdict: exit status, reason, retired instructions
   * @param serial what the kernel wrote to COM1
   * @param wallNanos wall time of {@code NativeMachine.run()} alone (loading excluded)
   */
  public record Result(RunResult result, byte[] serial, long wallNanos) {
    public String serialText() {
      return new String(serial, StandardCharsets.ISO_8859_1);
    }
  }

  private HospesRunner() {}

  /** Loads the kernel into a fresh machine and runs it to the end. */
  public static Result run(Path kernel) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    NativeMachine machine = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
    machine.loadMultiboot(kernel, kernel.getFileName().toString());
    long t0 = System.nanoTime();
    RunResult result = machine.run();
    long t1 = System.nanoTime();
    return new Result(result, serial.toByteArray(), t1 - t0);
  }
}
