package org.hospes.x86.jit;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.hospes.x86.Cpu;

/**
 * One processor's translator and code cache. A block that has run {@link #threshold()} times is
 * translated ({@link Translator}) to a hidden class nested with the processor class. The cache
 * holds at most {@code capacity} translations: the oldest is evicted first (its block goes back
 * to the interpreter and may become hot again), and as hidden classes are not strongly linked to
 * their loader, an evicted translation's class unloads once nothing runs it (and, for a class
 * shared with other processors, once {@link SharedTranslations} has dropped it too).
 * Translations die with their decoded blocks (self-modifying code, page writes) since a dropped
 * block is never looked up again.
 */
public final class Jit {
  /**
   * Executions of a block before it is translated. High on purpose: every translation is a
   * class that HotSpot interprets, then compiles twice (C1, C2) on its own, which costs more
   * than a lukewarm block saves (measured on the Debian PVH boot: 64 made 9,065 classes and the
   * boot 2x slower than interpreted; 2,000 made 1,721 and 20,000 made 390, near parity). Once
   * RDTSC and PAUSE were charged their cycles and C2's thresholds raised (the launcher), 16,384
   * made 417 translations and 7.6-7.9 s of process CPU for that boot, 65,536 made 110 and
   * 6.5 s (the interpreter alone 6.4 s); a loop that runs millions of times waits a few ms
   * longer for its translation. Session 24 (load 1.5-1.9): with translations cheaper to make
   * and compile (no stack map frames, only the state a block uses, JitMem), an extra
   * translation costs ~2 ms of process CPU instead of ~6 ms (threshold 4,096: 8.5-8.8 s
   * against 14.3 s), yet the boot is still shortest at 65,536 (3.7-3.9 s; 4,096: 4.9-5.0 s,
   * 16,384: 4.1-4.4 s, 131,072: 3.8-4.3 s, interpreted 4.7-4.8 s): a lukewarm block runs too
   * few times to repay its class and C1 compile, and meanwhile runs as JVM-interpreted bytecode.
   */
  public static final String THRESHOLD_PROPERTY = "hospes.jit.threshold";
  /**
   * Executions before a block that jumps back to its own start is translated (never more than
   * {@link #THRESHOLD_PROPERTY}). Lower because such a translation goes round the loop inline
   * and so keeps the processor in HotSpot-compiled code, while the interpreter is at its
   * slowest early in a run: before HotSpot has compiled the interpreter loop, 65,536 runs of
   * bench-mem's 8-instruction loop took 70-170 ms of a 0.5 s run (translated 170 ms after
   * the run began in native, 70 ms in hvm, whose firmware had warmed the interpreter).
   */
  public static final String LOOP_THRESHOLD_PROPERTY = "hospes.jit.loopThreshold";
  /**
   * Whether translations of whole blocks run their successors' translations themselves
   * ({@code Cpu.chainTarget}); default true. False leaves all chaining to the run loop's
   * chain, as before: the same blocks run, chained the same way, only slower (a loop of
   * 51 two-instruction blocks: 24.3 ns per block against 19.4 ns nested; of 6-instruction
   * blocks 20.1 against 13.4 ns).
   */
  public static final String NEST_PROPERTY = "hospes.jit.nest";
  /** Translations kept at once. */
  public static final String CACHE_PROPERTY = "hospes.jit.cache";
  static final int DEFAULT_THRESHOLD = 65536;
  static final int DEFAULT_CAPACITY = 8192;
  static final int DEFAULT_LOOP_THRESHOLD = 4096;

  private final MethodHandles.Lookup host;
  private final Consumer<Object> evict;
  private final int threshold;
  private final int loopThreshold;
  private final boolean nest = !"false".equals(System.getProperty(NEST_PROPERTY));
  private final Lockstep lockstep;
  private final int capacity;
  /** Where translations' classes are shared with other processors. */
  private final SharedTranslations shared;
  /** This translator's identity in {@link #shared}. */
  private final long id = IDS.incrementAndGet();
  /** FIFO ring of translated blocks, grown up to {@link #capacity} as translations come. */
  private Object[] cache;
  private int[] cacheBytes;
  private int head;
  private int live;

  private long translations;
  private long untranslatable;
  private long translatedInstructions;
  private long translateNanos;
  private long liveBytes;
  private long evictions;
  private long chained;
  private long classes;
  private long onShared;

  private static final AtomicLong IDS = new AtomicLong();
  /** The constructor of every translation class: (block, code, first, count, restHotAt). */
  private static final MethodType CTOR = MethodType.methodType(void.class, Object.class,
      int[].class, int.class, int.class, int.class);

  Jit(MethodHandles.Lookup host, Consumer<Object> evict, boolean lockstep, int threshold,
      int capacity) {
    if (threshold < 1 || capacity < 1) {
      throw new IllegalArgumentException("JIT threshold and cache size must be at least 1");
    }
    this.host = host;
    this.evict = evict;
    this.threshold = threshold;
    this.loopThreshold = Math.min(threshold, setting(LOOP_THRESHOLD_PROPERTY,
        DEFAULT_LOOP_THRESHOLD));
    this.lockstep = lockstep ? new Lockstep() : null;
    this.capacity = capacity;
    this.shared = SharedTranslations.HOST;
    // The ring starts small and grows; a cache smaller than its first size starts at its size,
    // or it would hold more translations than it was given (and evict none until 16).
    this.cache = new Object[Math.min(16, capacity)];
    this.cacheBytes = new int[cache.length];
  }

  /**
   * The translator for a new processor under {@link Engine#current()}, or null for the
   * interpreter. {@code host} is the processor class's own lookup (translations are its
   * nestmates); {@code evict} takes a block's translation away when the cache drops it.
   */
  public static Jit create(MethodHandles.Lookup host, Consumer<Object> evict) {
    Engine e = Engine.current();
    if (e == Engine.INTERP) {
      return null;
    }
    // Every setting read before anything is made, so that a bad one is said as such (the
    // shared table reads its own in a static initializer, where a throw is an Error).
    int threshold = setting(THRESHOLD_PROPERTY, DEFAULT_THRESHOLD);
    int capacity = setting(CACHE_PROPERTY, DEFAULT_CAPACITY);
    setting(LOOP_THRESHOLD_PROPERTY, DEFAULT_LOOP_THRESHOLD);
    setting(SharedTranslations.CAPACITY_PROPERTY, SharedTranslations.DEFAULT_CAPACITY);
    warmUp();
    return new Jit(host, evict, e == Engine.LOCKSTEP, threshold, capacity);
  }

  /**
   * A whole-number setting of at least 1 from {@code -Dproperty}, or {@code dflt} when it is
   * not set. Integer.getInteger, used before, ran the default for a value it could not read,
   * and 0 ended the run as an internal error.
   *
   * @throws EngineSettingsException naming the property and its value
   */
  static int setting(String property, int dflt) {
    String s = System.getProperty(property);
    if (s == null) {
      return dflt;
    }
    try {
      int value = Integer.parseInt(s.strip());
      if (value >= 1) {
        return value;
      }
    } catch (NumberFormatException e) {
      // said below, as a value out of range is
    }
    throw new EngineSettingsException("-D" + property + "=" + s + ": must be a whole number,"
        + " at least 1");
  }

  /** Set by the first translator of this JVM, which starts {@link #warmUp}'s thread. */
  private static final AtomicBoolean WARMING = new AtomicBoolean();

  /**
   * Generates (and drops) a few translations of a made-up block on a background thread, once
   * per JVM, so that the vCPU's first real translation does not run ASM and the emitter cold:
   * before HotSpot has compiled them, generating the first class took 7-12 ms of the vCPU
   * thread (bench-mem's one translation, from 0.2 s into a 0.5 s run). Here that work runs
   * while the guest starts, on the other core.
   */
  static void warmUp() {
    if (WARMING.getAndSet(true)) {
      return;
    }
    Thread t = new Thread(() -> {
      int[] code = Translator.warmUpBlock();
      int n = code.length / 4;
      for (int k = 0; k < WARM_UP_CLASSES; k++) {
        Translator.generate(code, n, 0, Translator.coverage(code, n, 0, true), 12, false, true,
            k % 2 == 1);
      }
    }, "hospes-jit-warm-up");
    t.setDaemon(true);
    t.setPriority(Thread.MIN_PRIORITY);
    t.start();
  }

  /** Classes the warm-up generates: enough for C1 to compile ASM's busiest methods. */
  static final int WARM_UP_CLASSES = 8;

  public int threshold() {
    return threshold;
  }

  /** Executions before a block that jumps back to its own start is translated. */
  public int loopThreshold() {
    return loopThreshold;
  }

  /**
   * Runs after which a block is translated, and the rest of a block longer than one
   * translation after the translation before it: {@link #loopThreshold()} for a block that
   * jumps back to its own start (the rest of it runs as often), else {@link #threshold()}.
   * Measured on the Debian PVH boot (session 28): translating a block once it had run 262,144
   * instructions' worth of runs (of at most a translation's 40), when sooner than the
   * threshold, made 197 translations instead of 136 and the boot about 6% slower (five
   * alternated pairs, median 4.75 s against 4.48 s), as the blocks it added ran 6,500 to
   * 65,535 times: too few to repay a class and its compiles.
   */
  public int hotAt(boolean selfLoop) {
    return selfLoop ? loopThreshold : threshold;
  }

  /** The lockstep checker, or null when translations run alone. */
  public Lockstep lockstep() {
    return lockstep;
  }

  /**
   * Translates the leading instructions of a block ({@code count} decoded instructions of four
   * ints in {@code code}, ending {@code endOffset} bytes after its start) that the translator
   * handles. Returns the translation, or one of count 0 when the first instruction is not
   * handled. The translation is {@code cpu}'s alone; its class is too (holding that processor's
   * TLB arrays as constants) unless another processor translated the same code, in which case
   * the class is one that they share ({@link SharedTranslations}).
   */
  public Translation translate(Cpu cpu, Object block, int[] code, int count, int endOffset,
      boolean selfLoop) {
    return translate(cpu, block, null, code, count, endOffset, 0, selfLoop);
  }

  /**
   * Translates the rest of a block from where translation {@code before} of it ends: the
   * translation to run after it ({@link Translation#next}), or {@link Translation#NONE}.
   */
  public Translation translateRest(Cpu cpu, Object block, Translation before, int[] code,
      int count, int endOffset, boolean selfLoop) {
    return translate(cpu, block, before, code, count, endOffset, before.count, selfLoop);
  }

  private Translation translate(Cpu cpu, Object block, Translation before, int[] code, int count,
      int endOffset, int from, boolean selfLoop) {
    long t0 = System.nanoTime();
    int covered = Translator.coverage(code, count, from, lockstep == null);
    if (covered == 0) {
      untranslatable++;
      translateNanos += System.nanoTime() - t0;
      return Translation.NONE;
    }
    SharedTranslations.Key key = new SharedTranslations.Key(code, count, from, covered,
        endOffset, lockstep != null, nest);
    SharedTranslations.Claim claim = shared.claim(key, id);
    Translation t;
    int classBytes = claim.bytes();
    try {
      MethodHandle ctor = claim.shared();
      if (ctor == null) {
        boolean make = claim.plan() == SharedTranslations.Plan.MAKE_SHARED;
        byte[] bytes = Translator.generate(code, count, from, covered, endOffset,
            lockstep != null, nest, make);
        MethodHandles.Lookup hidden = make
            ? host.defineHiddenClass(bytes, true, MethodHandles.Lookup.ClassOption.NESTMATE)
            : host.defineHiddenClassWithClassData(bytes, cpu, true,
                MethodHandles.Lookup.ClassOption.NESTMATE);
        ctor = hidden.findConstructor(hidden.lookupClass(), CTOR);
        classes++;
        classBytes = bytes.length;
        if (make) {
          SharedTranslations.Claim won = shared.publish(key, ctor, classBytes);
          ctor = won.shared();
          classBytes = won.bytes();
        }
      }
      if (claim.plan() != SharedTranslations.Plan.OWN) {
        onShared++;
      }
      int restHotAt = covered < count ? hotAt(selfLoop) : Integer.MAX_VALUE;
      t = (Translation) ctor.invoke(block, code, from, covered, restHotAt);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException("cannot load a translated block", e);
    }
    remember(before == null ? block : before, classBytes);
    translations++;
    translatedInstructions += covered - from;
    translateNanos += System.nanoTime() - t0;
    return t;
  }

  /**
   * Enters a translation in the FIFO ring, evicting the oldest when the ring is full. The
   * ring holds what refers to each translation: its block (a block's own translation, which
   * {@code evict} takes away) or the translation before it in its block.
   */
  void remember(Object block, int bytes) {
    if (live == cache.length && cache.length < capacity) {
      // Grow: unroll the ring so that the oldest entry is first again.
      int n = Math.min(capacity, cache.length * 2);
      Object[] c = new Object[n];
      int[] b = new int[n];
      for (int k = 0; k < live; k++) {
        c[k] = cache[(head + k) % cache.length];
        b[k] = cacheBytes[(head + k) % cache.length];
      }
      cache = c;
      cacheBytes = b;
      head = 0;
    }
    if (live == cache.length) {
      Object owner = cache[head];
      if (owner instanceof Translation) {
        // The rest of a block: back to the interpreter after the translation before it, and
        // counted from zero again, as a block whose translation was evicted is.
        Translation before = (Translation) owner;
        before.next = null;
        before.restHeat = 0;
      } else {
        evict.accept(owner);
      }
      cache[head] = null;
      liveBytes -= cacheBytes[head];
      head = (head + 1) % cache.length;
      live--;
      evictions++;
    }
    int slot = (head + live) % cache.length;
    cache[slot] = block;
    cacheBytes[slot] = bytes;
    liveBytes += bytes;
    live++;
  }

  /** Blocks translated so far (including evicted ones). */
  public long translations() {
    return translations;
  }

  /** Hot blocks whose first instruction the translator does not handle. */
  public long untranslatable() {
    return untranslatable;
  }

  /** Guest instructions covered by all translations made. */
  public long translatedInstructions() {
    return translatedInstructions;
  }

  /** Host time spent translating and loading classes, in nanoseconds. */
  public long translateNanos() {
    return translateNanos;
  }

  /** Translations in the code cache now. */
  public int cachedTranslations() {
    return live;
  }

  /** Class-file bytes of the translations in the code cache now. */
  public long cachedBytes() {
    return liveBytes;
  }

  /** Counts a translation that ran straight after its predecessor's, chained. */
  public void chained() {
    chained++;
  }

  /**
   * Translations entered straight from the one before them (chained), without a trip through
   * the run loop.
   */
  public long chainedEntries() {
    return chained;
  }

  /**
   * Classes this processor defined for its translations: one per translation, except those
   * made on another processor's shared class.
   */
  public long classesDefined() {
    return classes;
  }

  /**
   * Translations that run on a class shared between processors ({@link SharedTranslations}),
   * made here or taken from another processor.
   */
  public long onSharedClasses() {
    return onShared;
  }

  /** Translations dropped because the cache was full. */
  public long evictions() {
    return evictions;
  }
}
