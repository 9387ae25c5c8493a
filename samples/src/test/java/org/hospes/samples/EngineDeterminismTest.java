package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hospes.dom0.bench.KernelSources;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.Cpu;
import org.hospes.x86.jit.Engine;
import org.hospes.x86.jit.Jit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Determinism across engines as users get it: the translator with its default threshold (not
 * the low one of {@link JitEnginesTest}), on kernels whose loops run long enough to be
 * translated, in every mode. The interpreter and the translator must print the same bytes
 * (nanobench prints the virtual TSC cycles it measured, so its output is virtual time itself)
 * and count the same instructions, modelled cycles, VM exits by reason and every other counter
 * of the domain; only the translator's own figures differ. A translation that retires one
 * instruction more or less, misses the TLB once more or delivers a timer interrupt one block
 * later changes at least one of them.
 */
class EngineDeterminismTest {
  /** Long enough that the loops pass the default threshold (65,536 runs) several times over. */
  private static final String ITERS = "250000";

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (String mode : List.of("native", "hvm", "hvm-shadow")) {
      out.add(Arguments.of("bench-alu", mode, null));
      out.add(Arguments.of("bench-mem", mode, null));
      out.add(Arguments.of("nanobench", mode, "iters=80000"));
    }
    out.add(Arguments.of("bench-alu", "pvh", null));
    out.add(Arguments.of("bench-mem", "pvh", null));
    return out.stream();
  }

  private record Outcome(String output, long[] counters, Jit jit) {}

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void theTranslatorCountsExactlyAsTheInterpreter(String kernel, String mode, String cmdline)
      throws Exception {
    Path elf = build(kernel, mode);
    Outcome interp = withEngine(Engine.INTERP, () -> run(elf, mode, cmdline));
    Outcome jit = withEngine(Engine.JIT, () -> run(elf, mode, cmdline));

    assertThat(interp.jit()).as("the interpreter has no translator").isNull();
    assertThat(jit.jit().translations()).as("blocks translated at the default threshold")
        .isPositive();
    assertThat(jit.output()).as("output").isEqualTo(interp.output());
    assertThat(interp.output()).as("the kernel ran to its end").isNotEmpty();
    assertThat(jit.counters()).as("instructions, cycles, status and every counter")
        .containsExactly(interp.counters());
  }

  private static Path build(String kernel, String mode) throws Exception {
    Path root = TestKernels.root();
    Path dir = root.resolve("samples/target/kernels-determinism");
    if (mode.equals("pvh")) {
      return KernelSources.makePvh(root, dir, Long.parseLong(ITERS), kernel);
    }
    KernelSources.make(root, dir, Map.of("ITERS", ITERS), List.of(kernel));
    return KernelSources.elf(dir, kernel);
  }

  private static Outcome run(Path elf, String mode, String cmdline) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    if (mode.equals("native")) {
      NativeMachine m = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
      m.loadMultiboot(elf, cmdline);
      RunResult r = m.run();
      Cpu c = m.cpu();
      long[] counts = {r.instructions(), c.cycles(), r.exitStatus(), c.tlbMisses(),
          c.pageWalkReferences(), m.pic().acknowledgeCount(), c.undefinedOpcodes()};
      return new Outcome(text(serial), counts, c.jit());
    }
    HvmMachine m = HvmMachine.create(DomainMode.byCliName(mode), 64, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    if (mode.equals("pvh")) {
      m.loadPvh(elf, cmdline);
    } else {
      m.loadMultiboot(elf, cmdline);
    }
    RunResult r = m.run();
    return new Outcome(text(serial), counters(m.domain().totals(), r),
        m.domain().vcpus().get(0).cpu().jit());
  }

  private static String text(ByteArrayOutputStream out) {
    return new String(out.toByteArray(), StandardCharsets.ISO_8859_1);
  }

  /** Instructions, cycles and status first, then every other public counter, flattened. */
  private static long[] counters(Counters c, RunResult r) throws IllegalAccessException {
    List<Long> all = new ArrayList<>(List.of(c.instructions, c.cycles, (long) r.exitStatus()));
    for (Field f : Counters.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers())) {
        continue;
      }
      if (f.getType() == long.class) {
        all.add(f.getLong(c));
      } else if (f.getType() == long[].class) {
        Arrays.stream((long[]) f.get(c)).forEach(all::add);
      }
    }
    return all.stream().mapToLong(Long::longValue).toArray();
  }

  /** Runs {@code body} with processors of {@code engine} at the default JIT threshold. */
  private static <T> T withEngine(Engine engine, Callable<T> body) throws Exception {
    String saved = System.getProperty(Engine.PROPERTY);
    String savedLockstep = System.getProperty(Engine.LOCKSTEP_PROPERTY);
    String savedThreshold = System.getProperty(Jit.THRESHOLD_PROPERTY);
    System.setProperty(Engine.PROPERTY, engine.cliName());
    System.clearProperty(Engine.LOCKSTEP_PROPERTY);
    System.clearProperty(Jit.THRESHOLD_PROPERTY);
    try {
      return body.call();
    } finally {
      restore(Engine.PROPERTY, saved);
      restore(Engine.LOCKSTEP_PROPERTY, savedLockstep);
      restore(Jit.THRESHOLD_PROPERTY, savedThreshold);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }
}
