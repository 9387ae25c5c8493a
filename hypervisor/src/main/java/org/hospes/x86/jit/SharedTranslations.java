package org.hospes.x86.jit;

import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The classes of translations that more than one processor made from the same decoded code,
 * shared by all the processors of the JVM (every domain of a host, every vCPU of a domain).
 *
 * <p>Why: a translation's cost is its class, which HotSpot interprets, then compiles with C1 and
 * C2 on its own, while the code it runs is often the same in many processors: the vCPUs of one
 * kernel, or a hundred domains booted from one image. A processor's first translation of some
 * code gets a class of its own, which holds that processor's TLB arrays as constants (the
 * fastest form, and the only one a single domain ever makes); when a second processor
 * translates the same code, it makes a class that reads the TLB arrays from the processor it
 * runs on, and every later processor takes that class and only makes an instance of it for its
 * own block. So code run by N processors costs at most two classes and their compiles, not N.
 *
 * <p>The code is identified by what the class's bytes depend on: the block's decoded
 * instructions, which instructions are covered, the block's length in bytes, and the
 * translator's variant (lockstep, nesting). Branch targets and return addresses are relative
 * to the block's start, so the same code at another address shares the class too. The table
 * keeps at most {@link #capacity} entries, least recently used out first; a class dropped from
 * it unloads once no translation of it is left.
 */
final class SharedTranslations {
  /** Entries kept, as a JVM-wide setting. */
  static final String CAPACITY_PROPERTY = "hospes.jit.sharedClasses";
  static final int DEFAULT_CAPACITY = 4096;

  /** The table of this JVM. */
  static final SharedTranslations HOST =
      new SharedTranslations(Jit.setting(CAPACITY_PROPERTY, DEFAULT_CAPACITY));

  /** What a processor about to translate some code should do. */
  enum Plan {
    /** No other processor translated this code: a class of its own. */
    OWN,
    /** Another processor did, and no shared class exists yet: make it and {@link #publish}. */
    MAKE_SHARED,
    /** A shared class exists ({@link Claim#shared}): an instance of it. */
    REUSE
  }

  /**
   * The plan for one translation, with the shared class's constructor and class-file size for
   * {@code REUSE}.
   */
  record Claim(Plan plan, MethodHandle shared, int bytes) {}

  /** What a translation's class depends on. */
  static final class Key {
    private final int[] code;
    private final int from;
    private final int covered;
    private final int endOffset;
    private final int variant;
    private final int hash;

    /**
     * The key of the translation of instructions {@code from} up to {@code covered} of a block
     * of {@code count} decoded instructions (all of them: the flag liveness looks past the
     * covered ones) ending {@code endOffset} bytes after its start.
     */
    Key(int[] code, int count, int from, int covered, int endOffset, boolean lockstep,
        boolean nest) {
      this.code = Arrays.copyOf(code, 4 * count);
      this.from = from;
      this.covered = covered;
      this.endOffset = endOffset;
      this.variant = (lockstep ? 1 : 0) | (nest ? 2 : 0);
      this.hash = ((Arrays.hashCode(this.code) * 31 + from) * 31 + covered) * 31
          + endOffset * 4 + variant;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && hash == k.hash && from == k.from && covered == k.covered
          && endOffset == k.endOffset && variant == k.variant && Arrays.equals(code, k.code);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /** The processor that first translated the code, and the shared class once made. */
  private static final class Entry {
    final long firstTranslator;
    MethodHandle shared;
    int bytes;

    Entry(long firstTranslator) {
      this.firstTranslator = firstTranslator;
    }
  }

  private final int capacity;
  private final Map<Key, Entry> entries;
  private long sharedClasses;
  private long reuses;

  SharedTranslations(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("the shared translation table needs at least 1 entry, "
          + CAPACITY_PROPERTY + " is " + capacity);
    }
    this.capacity = capacity;
    this.entries = new LinkedHashMap<>(64, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Key, Entry> eldest) {
        return size() > SharedTranslations.this.capacity;
      }
    };
  }

  /**
   * What translator {@code translator} (a {@link Jit}'s id, unique in the JVM) should do to
   * translate the code of {@code key}; records it as the code's first translator when none
   * is known.
   */
  synchronized Claim claim(Key key, long translator) {
    Entry e = entries.get(key);
    if (e == null) {
      entries.put(key, new Entry(translator));
      return new Claim(Plan.OWN, null, 0);
    }
    if (e.shared != null) {
      reuses++;
      return new Claim(Plan.REUSE, e.shared, e.bytes);
    }
    return new Claim(e.firstTranslator == translator ? Plan.OWN : Plan.MAKE_SHARED, null, 0);
  }

  /**
   * Enters the shared class of {@code key}'s code (its translations' constructor and its
   * class-file size), and returns the class to use: this one, or the one another processor
   * entered meanwhile.
   */
  synchronized Claim publish(Key key, MethodHandle ctor, int bytes) {
    Entry e = entries.computeIfAbsent(key, k -> new Entry(-1));
    if (e.shared == null) {
      e.shared = ctor;
      e.bytes = bytes;
      sharedClasses++;
    }
    return new Claim(Plan.REUSE, e.shared, e.bytes);
  }

  /** Shared classes made so far. */
  synchronized long sharedClasses() {
    return sharedClasses;
  }

  /** Translations made on an existing shared class, without a class of their own. */
  synchronized long reuses() {
    return reuses;
  }

  /** Entries in the table now. */
  synchronized int size() {
    return entries.size();
  }
}
