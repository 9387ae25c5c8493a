package org.hospes.hv.memory;

/**
 * How much machine memory a host may have. Machine memory is backed on first touch
 * ({@link org.hospes.x86.MemoryBus}), so its size costs almost nothing until domains write it;
 * what bounds it is where the touched frames live: the JVM's heap. The limit is the heap's
 * maximum ({@code -Xmx}, through {@code HOSPES_JAVA_OPTS} for the CLI), or the system property
 * {@value #PROPERTY} in MiB when set (to overcommit a host whose domains touch little, or to
 * keep a host smaller than the heap).
 */
public final class MachineMemoryLimit {
  /** System property: the limit in MiB, overriding the heap's size. */
  public static final String PROPERTY = "hospes.machine-memory-mib";
  /** The smallest host: the hypervisor's first MiB and a little room. */
  public static final int MIN_MIB = 4;

  private MachineMemoryLimit() {}

  /** The largest machine memory a host may be given, in MiB. */
  public static int maxMiB() {
    long v = property();
    if (v > 0) {
      return (int) Math.min(v, Integer.MAX_VALUE);
    }
    return (int) Math.min(Runtime.getRuntime().maxMemory() >>> 20, Integer.MAX_VALUE);
  }

  /**
   * The property's value in MiB; 0 when it is not set, -1 when it is set to something that is
   * not a whole number of at least {@value #MIN_MIB} (the heap bounds memory then: a bad
   * setting must not make every host impossible).
   */
  private static long property() {
    String set = System.getProperty(PROPERTY);
    if (set == null || set.isBlank()) {
      return 0;
    }
    try {
      long v = Long.parseLong(set.trim());
      return v >= MIN_MIB ? v : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Where the limit comes from, for messages: the property, or the JVM's heap. A property set
   * to something unusable ("16g", written as for -Xmx) is named as ignored: the messages used
   * to blame the property for a limit that was the heap's.
   */
  public static String source() {
    long v = property();
    if (v > 0) {
      return "-D" + PROPERTY;
    }
    String heap = "the JVM's maximum heap (raise it with -Xmx, e.g. HOSPES_JAVA_OPTS=-Xmx16g)";
    return v == 0 ? heap : heap + "; -D" + PROPERTY + "=" + System.getProperty(PROPERTY)
        + " is ignored: it must be a whole number of MiB, at least " + MIN_MIB;
  }
}
