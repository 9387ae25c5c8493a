package org.hospes.dom0.bench;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;

/**
 * Runs a multiboot kernel on Hospes with 64 MiB of RAM: on the native machine (no hypervisor)
 * or in an HVM domain. The time is that of the run alone, loading excluded.
 */
public final class HospesRunner {

  /**
   * The outcome of one run.
   *
   * @param result the machine's verdict: exit status, reason, retired instructions
   * @param serial what the kernel wrote to COM1
   * @param wallNanos wall time of {@code NativeMachine.run()} alone (loading excluded)
   * @param jitStats the translator's {@code --stats} line of a forked run, or null
   */
  public record Result(RunResult result, byte[] serial, long wallNanos, String jitStats) {
    public Result(RunResult result, byte[] serial, long wallNanos) {
      this(result, serial, wallNanos, null);
    }

    public String serialText() {
      return new String(serial, StandardCharsets.ISO_8859_1);
    }
  }

  private HospesRunner() {}

  /** The translator's line of {@code run --stats}; group 1 its figures. */
  static final java.util.regex.Pattern JIT_LINE = java.util.regex.Pattern.compile(
      "hospes: jit: ([^;\\n]*)");
  /**
   * The run line of {@code run --stats}: group 1 the ending, 2 the status, 3 the instructions, 4
   * the seconds of the run alone.
   */
  static final java.util.regex.Pattern STATS_LINE = java.util.regex.Pattern.compile(
      ": (.*), status (\\d+), (\\d+) instructions in ([0-9.]+) s");

  /**
   * The HotSpot options that a forked run inherits from this JVM: the compilers', and the two
   * heap options the launcher gives every run (the young generation's size, transparent huge
   * pages), which change how fast a run is.
   */
  private static final java.util.List<String> COMPILE_OPTIONS = java.util.List.of(
      "-XX:PerMethodTrapLimit=", "-XX:PerBytecodeTrapLimit=", "-XX:TieredStopAtLevel=",
      "-XX:Tier", "-XX:CICompilerCount=", "-XX:ReservedCodeCacheSize=", "-XX:+TieredCompilation",
      "-XX:-TieredCompilation", "-XX:NewSize=", "-XX:+UseTransparentHugePages",
      "-XX:-UseTransparentHugePages");

  /**
   * The compiler and heap options among a JVM's arguments: those the launcher gives every run (see
   * {@code ./hospes}) or a user gave the bench, so that a loop measured in a forked JVM runs
   * under the same compilers as {@code hospes run} would.
   */
  static java.util.List<String> compileFlags(java.util.List<String> jvmArguments) {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (String a : jvmArguments) {
      for (String prefix : COMPILE_OPTIONS) {
        if (a.startsWith(prefix)) {
          out.add(a);
          break;
        }
      }
    }
    return out;
  }

  /**
   * Runs the kernel in a fresh JVM ({@code hospes run --mode MODE --stats}), so one measurement's
   * JIT profile cannot shape the next: in one JVM, bench-mem measured 90 or 140 MIPS depending on
   * what ran before it. The time is the run alone, as the child measures it.
   */
  public static Result runForked(Path kernel, String mode, String engine) throws Exception {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    java.util.List<String> cmd = new java.util.ArrayList<>();
    cmd.add(javaBin);
    cmd.addAll(compileFlags(java.lang.management.ManagementFactory.getRuntimeMXBean()
        .getInputArguments()));
    cmd.addAll(java.util.List.of("-cp", System.getProperty("java.class.path"),
        "org.hospes.dom0.cli.HospesCli", "run", "--mode", mode, "--engine", engine, "--stats",
        kernel.toString()));
    Process p = BenchScratch.start(new ProcessBuilder(cmd)); // ended by a stopped bench too
    java.util.concurrent.CompletableFuture<byte[]> err = java.util.concurrent.CompletableFuture
        .supplyAsync(() -> {
          try {
            return p.getErrorStream().readAllBytes();
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
    byte[] serial = p.getInputStream().readAllBytes();
    int status = p.waitFor();
    BenchScratch.ended(p);
    String stderr = new String(err.get(), StandardCharsets.UTF_8);
    java.util.regex.Matcher m = STATS_LINE.matcher(stderr);
    if (!m.find()) {
      throw new IllegalStateException("no statistics line from the child run (status " + status
          + "): " + stderr.trim());
    }
    long insns = Long.parseLong(m.group(3));
    long nanos = Math.round(Double.parseDouble(m.group(4)) * 1e9);
    java.util.regex.Matcher j = JIT_LINE.matcher(stderr);
    return new Result(new RunResult(status, m.group(1), insns), serial, nanos,
        j.find() ? j.group(1) : null);
  }

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

  /**
   * Loads the kernel into a fresh HVM domain of the given mode and runs it to the end; the
   * instructions are the domain's (guest instructions, including those the hypervisor completed
   * for it).
   */
  public static Result runHvm(Path kernel, DomainMode mode) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    PrintStream diagnostics = new PrintStream(OutputStream.nullOutputStream());
    HvmMachine machine = HvmMachine.create(mode, 64, serial, diagnostics);
    machine.loadMultiboot(kernel, kernel.getFileName().toString());
    long t0 = System.nanoTime();
    RunResult result = machine.run();
    long t1 = System.nanoTime();
    return new Result(result, serial.toByteArray(), t1 - t0);
  }
}
