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
    String set = System.getProperty(PROPERTY);
    if (set != null && !set.isBlank()) {
      try {
        long v = Long.parseLong(set.trim());
        if (v >= MIN_MIB) {
          return (int) Math.min(v, Integer.MAX_VALUE);
        }
      } catch (NumberFormatException e) {
        // Falls back to the heap: a bad setting must not make every host impossible.
      }
    }
    return (int) Math.min(Runtime.getRuntime().maxMemory() >>> 20, Integer.MAX_VALUE);
  }

  /** Where the limit comes from, for messages ("the JVM heap (-Xmx)" or the property). */
  public static String source() {
    String set = System.getProperty(PROPERTY);
    return set != null && !set.isBlank() ? "-D" + PROPERTY
        : "the JVM's maximum heap (raise it with -Xmx, e.g. HOSPES_JAVA_OPTS=-Xmx16g)";
  }
}
