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
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.stats.Counters;
import org.hospes.sdk.GuestBuilder;
import org.hospes.x86.Cpu;
import org.hospes.x86.jit.Engine;
import org.hospes.x86.jit.Jit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every sample kernel in native, hvm and hvm-shadow mode, and a PVH guest, under the engines.
 * The lockstep engine compares each translated block with the interpreter (a mismatch throws)
 * and counts as the interpreter does; the jit engine must give the golden serial output and
 * exactly the same counters: instructions, virtual time, exits by reason, TLB misses, page
 * walks, interrupts, hypercalls. In native mode and for the PVH guest the interpreter alone runs
 * too. Blocks are translated after 2 runs here so that cold code is translated too.
 */
class JitEnginesTest {

  static Stream<Arguments> cases() throws Exception {
    List<Arguments> out = new ArrayList<>();
    for (String mode : List.of("native", "hvm", "hvm-shadow")) {
      for (String k : TestKernels.names()) {
        out.add(Arguments.of(k, mode));
      }
    }
    return out.stream();
  }

  private record Outcome(String output, long[] counters, Jit jit) {}

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void translatedRunsMatchTheInterpreter(String kernel, String mode) throws Exception {
    Path elf = TestKernels.elf(kernel);
    String golden = new String(TestKernels.golden(kernel), StandardCharsets.ISO_8859_1);
    Outcome lockstep = withEngine(Engine.LOCKSTEP, () -> multiboot(elf, mode));
    Outcome jit = withEngine(Engine.JIT, () -> multiboot(elf, mode));

    assertThat(lockstep.output()).as("lockstep output").isEqualTo(golden);
    assertThat(jit.output()).as("jit output").isEqualTo(golden);
    assertThat(jit.counters()).as("every counter, jit vs lockstep")
        .containsExactly(lockstep.counters());
    if (mode.equals("native")) {
      // The interpreter alone, once per kernel: lockstep and jit count exactly as it does.
      Outcome interp = withEngine(Engine.INTERP, () -> multiboot(elf, mode));
      assertThat(jit.counters()).as("every counter, jit vs interpreter")
          .containsExactly(interp.counters());
    }
    if (!kernel.equals("empty")) {
      assertThat(jit.jit().translations()).as("translations").isPositive();
      assertThat(lockstep.jit().lockstep().checked()).as("blocks checked").isPositive();
    }
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aPvhGuestRunsIdenticallyUnderEveryEngine() throws Exception {
    Path root = TestKernels.root();
    GuestBuilder builder = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
    Path hello = builder.build("hello-pvh",
        List.of(root.resolve("samples/guests/hello-pvh/hello.c")));
    Outcome interp = withEngine(Engine.INTERP, () -> pvh(hello));
    Outcome lockstep = withEngine(Engine.LOCKSTEP, () -> pvh(hello));
    Outcome jit = withEngine(Engine.JIT, () -> pvh(hello));
    assertThat(interp.output()).startsWith("Hello from a PVH guest");
    assertThat(lockstep.output()).isEqualTo(interp.output());
    assertThat(jit.output()).isEqualTo(interp.output());
    assertThat(lockstep.counters()).containsExactly(interp.counters());
    assertThat(jit.counters()).containsExactly(interp.counters());
    assertThat(jit.jit().translations()).isPositive();
  }

  private static Outcome multiboot(Path elf, String mode) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    if (mode.equals("native")) {
      NativeMachine m = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
      m.loadMultiboot(elf, null);
      RunResult r = m.run();
      Cpu c = m.cpu();
      long[] counts = {r.instructions(), c.cycles(), r.exitStatus(), c.tlbMisses(),
          c.pageWalkReferences(), m.pic().acknowledgeCount(), c.undefinedOpcodes()};
      return new Outcome(text(serial), counts, c.jit());
    }
    DomainMode dm = mode.equals("hvm") ? DomainMode.HVM_EPT : DomainMode.HVM_SHADOW;
    HvmMachine m = HvmMachine.create(dm, 64, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.loadMultiboot(elf, null);
    RunResult r = m.run();
    return new Outcome(text(serial), counters(m.domain().totals(), r), jitOf(m));
  }

  private static Outcome pvh(Path guest) throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 16, console,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.loadPvh(guest, null);
    RunResult r = m.run();
    return new Outcome(text(console), counters(m.domain().totals(), r), jitOf(m));
  }

  private static Jit jitOf(HvmMachine m) {
    return m.domain().vcpus().get(0).cpu().jit();
  }

  private static String text(ByteArrayOutputStream out) {
    return new String(out.toByteArray(), StandardCharsets.ISO_8859_1);
  }

  /** Instructions and cycles first, then every other public counter, flattened. */
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

  private static <T> T withEngine(Engine engine, Callable<T> body) throws Exception {
    String saved = System.getProperty(Engine.PROPERTY);
    String savedThreshold = System.getProperty(Jit.THRESHOLD_PROPERTY);
    System.setProperty(Engine.PROPERTY, engine.cliName());
    System.setProperty(Jit.THRESHOLD_PROPERTY, "2");
    try {
      return body.call();
    } finally {
      restore(Engine.PROPERTY, saved);
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
