package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * Processors that translate the same code share its class: the first has a class of its own,
 * the second makes the shared one, the rest only instantiate it, and each runs on its own
 * memory.
 */
class SharedTranslationsTest {
  private static final int CODE = 0x1000;
  private static final int DATA = 0x2000;
  private static final int WORDS = 64;

  /**
   * mov esi, DATA; mov ecx, 64; xor eax, eax; 1: add eax, [esi]; xor edx, 0x5eed1234;
   * add esi, 4; dec ecx; jnz 1b; hlt. The loop (a block that jumps to its own start, with a
   * constant no other test uses) sums the 64 words at DATA.
   */
  private static final byte[] SUM_LOOP = {
      (byte) 0xBE, 0x00, 0x20, 0x00, 0x00, (byte) 0xB9, 0x40, 0x00, 0x00, 0x00, 0x31,
      (byte) 0xC0, 0x03, 0x06, (byte) 0x81, (byte) 0xF2, 0x34, 0x12, (byte) 0xED, 0x5E,
      (byte) 0x83, (byte) 0xC6, 0x04, 0x49, 0x75, (byte) 0xF2, (byte) 0xF4};

  /** A processor under the JIT (loop threshold 10) whose words at DATA are {@code seed * i}. */
  private static Cpu cpu(int seed) {
    return JitProperties.with(JitProperties.jit(100, 10), () -> {
      MemoryBus mem = new MemoryBus(1 << 20);
      mem.write(CODE, SUM_LOOP, 0, SUM_LOOP.length);
      for (int i = 0; i < WORDS; i++) {
        mem.write32(DATA + 4 * i, seed * i);
      }
      Cpu c = new Cpu(mem, new IoBus());
      c.resetFlat32();
      c.setEip(CODE);
      c.setReg(Cpu.ESP, 0x8000);
      return c;
    });
  }

  private static int expectedSum(int seed) {
    int sum = 0;
    for (int i = 0; i < WORDS; i++) {
      sum += seed * i;
    }
    return sum;
  }

  @Test
  void theSecondProcessorMakesTheSharedClassAndTheRestOnlyInstantiateIt() {
    long sharedBefore = SharedTranslations.HOST.sharedClasses();
    Cpu[] cpus = {cpu(3), cpu(5), cpu(7), cpu(11)};
    int[] seeds = {3, 5, 7, 11};
    for (int k = 0; k < cpus.length; k++) {
      Cpu c = cpus[k];
      assertThat(c.run(1_000_000)).isEqualTo(CpuExit.HLT);
      // Each sums its own memory: a shared class reads the TLB of the processor it runs on.
      assertThat(c.reg(Cpu.EAX)).as("processor %d", k).isEqualTo(expectedSum(seeds[k]));
      assertThat(c.reg(Cpu.ECX)).isZero();
      assertThat(c.jit().translations()).as("processor %d", k).isEqualTo(1);
    }
    // The first: a class of its own, with its TLB as constants.
    assertThat(cpus[0].jit().classesDefined()).isEqualTo(1);
    assertThat(cpus[0].jit().onSharedClasses()).isZero();
    // The second makes the shared class; the others define none.
    assertThat(cpus[1].jit().classesDefined()).isEqualTo(1);
    assertThat(cpus[1].jit().onSharedClasses()).isEqualTo(1);
    for (int k = 2; k < cpus.length; k++) {
      assertThat(cpus[k].jit().classesDefined()).as("processor %d", k).isZero();
      assertThat(cpus[k].jit().onSharedClasses()).as("processor %d", k).isEqualTo(1);
    }
    assertThat(SharedTranslations.HOST.sharedClasses() - sharedBefore).isEqualTo(1);
    // Instructions and cycles do not depend on where the class came from.
    for (int k = 1; k < cpus.length; k++) {
      assertThat(cpus[k].instructions()).isEqualTo(cpus[0].instructions());
    }
  }

  @Test
  void theSharedClassRunsAgainAfterTheFirstProcessorRanItsOwn() {
    // The order of runs does not matter: made, shared, then the first runs again on its own.
    Cpu a = cpu(13);
    Cpu b = cpu(17);
    assertThat(b.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(a.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(a.reg(Cpu.EAX)).isEqualTo(expectedSum(13));
    assertThat(b.reg(Cpu.EAX)).isEqualTo(expectedSum(17));
  }

  private static final MethodHandle CTOR;

  static {
    try {
      CTOR = MethodHandles.lookup().findConstructor(Object.class,
          MethodType.methodType(void.class));
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static SharedTranslations.Key key(int op, int endOffset) {
    return new SharedTranslations.Key(new int[] {op, 0, 0, endOffset, 99, 99, 99, 99}, 1, 0, 1,
        endOffset, false, true);
  }

  @Test
  void claimsGoOwnThenMakeSharedThenReuse() {
    SharedTranslations t = new SharedTranslations(8);
    SharedTranslations.Key k = key(1, 2);
    assertThat(t.claim(k, 1).plan()).isEqualTo(SharedTranslations.Plan.OWN);
    // The same translator again (its translation was dropped): its own class again.
    assertThat(t.claim(key(1, 2), 1).plan()).isEqualTo(SharedTranslations.Plan.OWN);
    assertThat(t.claim(k, 2).plan()).isEqualTo(SharedTranslations.Plan.MAKE_SHARED);
    SharedTranslations.Claim won = t.publish(k, CTOR, 1234);
    assertThat(won.shared()).isSameAs(CTOR);
    // A second publisher (a race) gets the first one's class.
    MethodHandle other = CTOR.asType(CTOR.type());
    assertThat(t.publish(k, MethodHandles.dropArguments(other, 0, int.class), 99).bytes())
        .isEqualTo(1234);
    for (long translator : new long[] {1, 2, 3}) {
      SharedTranslations.Claim c = t.claim(k, translator);
      assertThat(c.plan()).isEqualTo(SharedTranslations.Plan.REUSE);
      assertThat(c.shared()).isSameAs(CTOR);
      assertThat(c.bytes()).isEqualTo(1234);
    }
    assertThat(t.sharedClasses()).isEqualTo(1);
    assertThat(t.reuses()).isEqualTo(3);
  }

  @Test
  void keysDifferInEveryPartTheClassDependsOn() {
    SharedTranslations.Key base = key(1, 2);
    assertThat(base).isEqualTo(key(1, 2)).hasSameHashCodeAs(key(1, 2));
    assertThat(base).isNotEqualTo(key(5, 2));
    assertThat(base).isNotEqualTo(key(1, 3));
    int[] code = {1, 0, 0, 2};
    assertThat(base).isNotEqualTo(new SharedTranslations.Key(code, 1, 0, 1, 2, true, true));
    assertThat(base).isNotEqualTo(new SharedTranslations.Key(code, 1, 0, 1, 2, false, false));
    int[] two = {1, 0, 0, 2, 7, 0, 0, 4};
    // Instructions past the covered ones count (the flag liveness reads them).
    assertThat(new SharedTranslations.Key(two, 2, 0, 1, 4, false, true))
        .isNotEqualTo(new SharedTranslations.Key(new int[] {1, 0, 0, 2, 8, 0, 0, 4}, 2, 0, 1, 4,
            false, true));
    assertThat(new SharedTranslations.Key(two, 2, 0, 1, 4, false, true))
        .isNotEqualTo(new SharedTranslations.Key(two, 2, 0, 2, 4, false, true));
    assertThat(new SharedTranslations.Key(two, 2, 1, 2, 4, false, true))
        .isNotEqualTo(new SharedTranslations.Key(two, 2, 0, 2, 4, false, true));
    // Ints past the block's count are not part of it.
    assertThat(base).isEqualTo(new SharedTranslations.Key(code, 1, 0, 1, 2, false, true));
  }

  @Test
  void theLeastRecentlyUsedEntryGoesFirst() {
    SharedTranslations t = new SharedTranslations(2);
    t.claim(key(1, 2), 1);
    t.claim(key(2, 2), 1);
    t.claim(key(1, 2), 1); // 1 used again: 2 is the eldest
    t.claim(key(3, 2), 1);
    assertThat(t.size()).isEqualTo(2);
    // Forgotten: another translator of key 2 is its first again.
    assertThat(t.claim(key(2, 2), 2).plan()).isEqualTo(SharedTranslations.Plan.OWN);
    assertThat(t.claim(key(3, 2), 2).plan()).isEqualTo(SharedTranslations.Plan.MAKE_SHARED);
  }

  @Test
  void aTableOfNoEntriesIsRefused() {
    assertThatThrownBy(() -> new SharedTranslations(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(SharedTranslations.CAPACITY_PROPERTY);
  }
}
