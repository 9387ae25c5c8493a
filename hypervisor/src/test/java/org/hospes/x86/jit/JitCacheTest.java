package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.invoke.MethodHandles;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class JitCacheTest {

  @Test
  void aFullCacheEvictsTheOldestTranslationFirst() {
    List<Object> evicted = new ArrayList<>();
    // Entries go straight into the cache: eviction order does not depend on the code.
    Jit jit = new Jit(MethodHandles.lookup(), evicted::add, false, 1, 40);
    List<Object> blocks = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      blocks.add(new Object());
    }
    for (Object b : blocks) {
      jit.remember(b, 10);
    }
    assertThat(evicted).containsExactlyElementsOf(blocks.subList(0, 60));
    assertThat(jit.cachedTranslations()).isEqualTo(40);
    assertThat(jit.cachedBytes()).isEqualTo(400);
    assertThat(jit.evictions()).isEqualTo(60);
  }

  @Test
  void aCacheSmallerThanTheRingsFirstSizeHoldsNoMoreThanItsSize() {
    List<Object> evicted = new ArrayList<>();
    Jit jit = new Jit(MethodHandles.lookup(), evicted::add, false, 1, 4);
    List<Object> blocks = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      blocks.add(new Object());
      jit.remember(blocks.get(i), 7);
      assertThat(jit.cachedTranslations()).isEqualTo(Math.min(i + 1, 4));
    }
    assertThat(evicted).containsExactlyElementsOf(blocks.subList(0, 6));
    assertThat(jit.cachedBytes()).isEqualTo(28);
    assertThat(jit.evictions()).isEqualTo(6);
  }

  @Test
  void aCacheOfOneKeepsOnlyTheNewest() {
    List<Object> evicted = new ArrayList<>();
    Jit jit = new Jit(MethodHandles.lookup(), evicted::add, false, 1, 1);
    Object a = new Object();
    Object b = new Object();
    jit.remember(a, 3);
    jit.remember(b, 5);
    assertThat(evicted).containsExactly(a);
    assertThat(jit.cachedTranslations()).isEqualTo(1);
    assertThat(jit.cachedBytes()).isEqualTo(5);
  }

  @Test
  void untranslatableBlocksAreCountedAndGetNoClass() {
    Jit jit = new Jit(MethodHandles.lookup(), b -> { }, false, 1, 8);
    int[] ud = {0, 0, 0, (2 << 16) | 2}; // handler 0: #UD
    assertThat(jit.translate(null, new Object(), ud, 1, 2, false).count).isZero();
    assertThat(jit.untranslatable()).isEqualTo(1);
    assertThat(jit.translations()).isZero();
  }
}
