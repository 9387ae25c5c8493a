package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.hospes.dom0.bench.KernelSources;
import org.hospes.dom0.bench.QemuRunner;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The system-level differential oracle: {@code samples/kernels/sysfuzz.c} draws a random
 * sequence of segment loads, far transfers, INT/IRET across rings, page-table changes with
 * INVLPG, interrupt-shadow probes, TF single-steps, VM86 runs, task switches (JMP, CALL, task
 * gates in the GDT and the IDT), delivery through broken IDT gates, port I/O against the I/O
 * permission bitmap, PAE paging and system instructions
 * (VERR/VERW, BOUND, SLDT/STR/SMSW, SGDT/SIDT, LMSW, CLTS, MOV DR, SYSENTER/SYSEXIT) from the
 * seed on its command line, and prints one state line per step (values, selectors, fault
 * vectors with error codes and CR2, A/D bits, memory hashes).
 * Each seed runs under {@code qemu-system-i386} and on the Hospes native machine, and the first
 * seeds in HVM domains (EPT and shadow paging) too; the outputs must be equal line for line. The cases where QEMU's TCG departs from the SDM are left out by
 * the kernel and listed in its header comment. The same comparison checks the execute-disable
 * kernel {@code nx} under QEMU with NX.
 *
 * <pre>
 *   -Dhospes.sysdiff.seeds=N   seeds per run (default 3)
 *   -Dhospes.sysdiff.hvm.seeds=N seeds per HVM mode (EPT, shadow; default 1)
 *   -Dhospes.sysdiff.seed=S    first seed (default 1)
 *   -Dhospes.sysdiff.steps=M   steps per seed (default 300)
 *   -Dhospes.sysdiff.only=KIND every step of one kind: seg, far, int, page, large, shadow,
 *                              step, v86, task, idt, io, pae or sys (default: a random mix)
 * </pre>
 */
class SystemDiffTest {
  private static final String KERNEL = "sysfuzz";
  /** QEMU's lines by command line: the native and HVM runs of a seed compare with one run. */
  private static final Map<String, String> QEMU_OUTPUT = new ConcurrentHashMap<>();
  private static Path elf;

  @BeforeAll
  static void build() throws Exception {
    if (!QemuRunner.isAvailable()) {
      fail(QemuRunner.BINARY + " not found: install qemu-system-x86");
    }
    Path root = TestKernels.root();
    Path dir = root.resolve("samples").resolve("target").resolve("kernels");
    KernelSources.make(root, dir, Map.of(), List.of(KERNEL));
    elf = KernelSources.elf(dir, KERNEL);
  }

  static LongStream seeds() {
    long first = property("hospes.sysdiff.seed", 1, 0);
    return LongStream.range(first, first + property("hospes.sysdiff.seeds", 3, 1));
  }

  /**
   * {@code samples/kernels/nx.c}: execute-disable faults, their error codes and CR2, under QEMU
   * with NX ({@code -cpu qemu32,+nx}) and on Hospes: the bare processor, and HVM domains with
   * EPT and with shadow paging, whose PAE shadows carry the guest's XD bits.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"native", "HVM_EPT", "HVM_SHADOW"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void executeDisableAgreesWithQemu(String where) throws Exception {
    Path root = TestKernels.root();
    Path dir = root.resolve("samples").resolve("target").resolve("kernels");
    KernelSources.make(root, dir, Map.of(), List.of("nx"));
    Path nx = KernelSources.elf(dir, "nx");
    String qemu = QEMU_OUTPUT.get("nx");
    if (qemu == null) {
      qemu = runQemu(nx, "", "-cpu", "qemu32,+nx");
      QEMU_OUTPUT.put("nx", qemu);
    }
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    RunResult result;
    if (where.equals("native")) {
      NativeMachine machine = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
      machine.loadMultiboot(nx, "");
      result = machine.run();
    } else {
      HvmMachine machine = HvmMachine.create(DomainMode.valueOf(where), 64, serial,
          new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      machine.loadMultiboot(nx, "");
      result = machine.run(budget());
    }
    assertThat(serial.toString(StandardCharsets.ISO_8859_1))
        .as("nx kernel, Hospes (%s) vs QEMU", where).isEqualTo(qemu);
    assertThat(qemu).contains("fetch, XD in the PTE").contains("nx done");
    assertThat(result.exitStatus()).as("exit status, %s", result).isEqualTo(33);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void hospesAgreesWithQemu(long seed) throws Exception {
    String cmdline = cmdline(seed);
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    NativeMachine machine = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
    machine.loadMultiboot(elf, cmdline);
    RunResult result = machine.run(budget());
    compare(cmdline, seed, "native", serial, result);
  }

  /**
   * The same kernel in HVM domains, with EPT and with shadow page tables: its port I/O, CR
   * accesses, task switches and paging go through VM exits and dom0's device model there, and
   * must still give QEMU's lines. One seed each by default ({@code hospes.sysdiff.hvm.seeds}).
   */
  @ParameterizedTest(name = "{0} seed {1}")
  @MethodSource("hvmRuns")
  @Timeout(value = 300, unit = TimeUnit.SECONDS)  // a fault loop that retires no instruction
  void hvmDomainsAgreeWithQemu(DomainMode mode, long seed) throws Exception {
    String cmdline = cmdline(seed);
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    HvmMachine machine = HvmMachine.create(mode, 64, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    machine.loadMultiboot(elf, cmdline);
    RunResult result = machine.run(budget());
    compare(cmdline, seed, mode.toString(), serial, result);
  }

  static Stream<Arguments> hvmRuns() {
    long first = property("hospes.sysdiff.seed", 1, 0);
    long n = property("hospes.sysdiff.hvm.seeds", 1, 1);
    return Stream.of(DomainMode.HVM_EPT, DomainMode.HVM_SHADOW).flatMap(mode ->
        LongStream.range(first, first + n).mapToObj(seed -> Arguments.of(mode, seed)));
  }

  /**
   * An instruction budget far above what the steps take (300 take 5-20 M), so that a Hospes bug
   * that traps the kernel in a loop (a write fault that never sets D, say) ends the run with
   * what it printed so far instead of hanging the suite.
   */
  private static long budget() {
    return 50_000_000L + 200_000L * property("hospes.sysdiff.steps", 300, 1);
  }

  /** The step kinds sysfuzz.c knows for only=KIND (its kinds[] table). */
  private static final List<String> KINDS = List.of("seg", "far", "int", "page", "large",
      "shadow", "step", "v86", "task", "idt", "io", "pae", "sys");

  /**
   * A number from {@code -Dname}, {@code min} up to 2^32 - 1 (the kernel reads seeds and steps
   * as unsigned 32-bit decimals), or {@code dflt} when unset. Long.getLong, used before, ran the
   * default for a value it could not read ({@code -Dhospes.sysdiff.seeds=abc}: three seeds),
   * and a negative step count reached the kernel as garbage digits.
   */
  static long property(String name, long dflt, long min) {
    String s = System.getProperty(name);
    if (s == null) {
      return dflt;
    }
    try {
      long value = Long.parseLong(s.strip());
      if (value >= min && value <= 0xFFFF_FFFFL) {
        return value;
      }
    } catch (NumberFormatException e) {
      // said below
    }
    throw new IllegalArgumentException("-D" + name + "=" + s + ": must be a whole number from "
        + min + " to 4294967295");
  }

  /** {@code -Dhospes.sysdiff.only}: blank for every kind, else one the kernel knows. */
  static String only() {
    String only = System.getProperty("hospes.sysdiff.only", "").strip();
    if (!only.isEmpty() && !KINDS.contains(only)) {
      // The kernel would print "unknown step kind" under QEMU and here alike, and the two
      // outputs would match: a run that checked nothing, reported as passed.
      throw new IllegalArgumentException("-Dhospes.sysdiff.only=" + only + ": not a step kind"
          + " (" + String.join(", ", KINDS) + ")");
    }
    return only;
  }

  private static String cmdline(long seed) {
    String only = only();
    return "seed=" + seed + " steps=" + property("hospes.sysdiff.steps", 300, 1)
        + (only.isEmpty() ? "" : " only=" + only);
  }

  private static void compare(String cmdline, long seed, String where,
      ByteArrayOutputStream serial, RunResult result) throws Exception {
    String qemu = QEMU_OUTPUT.get(cmdline);
    if (qemu == null) {
      qemu = runQemu(elf, cmdline, "-cpu", "qemu32,+nx");
      QEMU_OUTPUT.put(cmdline, qemu);
    }
    String hospes = serial.toString(StandardCharsets.ISO_8859_1);
    String[] q = qemu.split("\n", -1);
    String[] h = hospes.split("\n", -1);
    for (int i = 0; i < Math.min(q.length, h.length); i++) {
      if (!q[i].equals(h[i])) {
        fail(String.format("sysfuzz %s (%s): first difference at line %d%n  qemu:   %s%n"
            + "  hospes: %s%n(replay: -Dhospes.sysdiff.seed=%d -Dhospes.sysdiff.seeds=1)",
            cmdline, where, i + 1, q[i], h[i], seed));
      }
    }
    assertThat(hospes).as("sysfuzz %s (%s; Hospes run: %s)", cmdline, where, result)
        .isEqualTo(qemu);
    assertThat(result.exitStatus()).as("exit status, %s", result).isEqualTo(33);
    assertThat(qemu).contains("sysfuzz done");
  }

  /** QEMU's serial output for the kernel with {@code cmdline}, firmware banner stripped. */
  private static String runQemu(Path kernel, String cmdline, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(QemuRunner.command(kernel));
    cmd.add("-append");
    cmd.add(cmdline);
    cmd.addAll(List.of(extra));
    Path out = Files.createTempFile("hospes-sysdiff-", ".out");
    try {
      Process p = new ProcessBuilder(cmd)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(out.toFile())
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor();
        fail("qemu-system-i386 did not finish " + kernel + " " + cmdline + " in 180 s");
      }
      assertThat(p.exitValue()).as("QEMU exit status for %s", cmdline)
          .isEqualTo(QemuRunner.SUCCESS_STATUS);
      byte[] raw = Files.readAllBytes(out);
      return new String(QemuRunner.stripFirmwareOutput(raw), StandardCharsets.ISO_8859_1);
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
