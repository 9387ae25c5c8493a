package org.hospes.hv.memory;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The machine memory limit and what messages say of it. A property written as for -Xmx
 * ("16g") is ignored for the heap's limit, and the messages said the limit was the property's:
 * the user was sent to the setting that had no effect.
 */
class MachineMemoryLimitTest {
  private static final long HEAP_MIB = Runtime.getRuntime().maxMemory() >>> 20;

  @AfterEach
  void clear() {
    System.clearProperty(MachineMemoryLimit.PROPERTY);
  }

  @Test
  void unsetTheHeapBoundsIt() {
    System.clearProperty(MachineMemoryLimit.PROPERTY);
    assertThat(MachineMemoryLimit.maxMiB()).isEqualTo((int) HEAP_MIB);
    assertThat(MachineMemoryLimit.source()).isEqualTo("the JVM's maximum heap (raise it with"
        + " -Xmx, e.g. HOSPES_JAVA_OPTS=-Xmx16g)");
  }

  @Test
  void aWholeNumberOfMibIsTheLimit() {
    System.setProperty(MachineMemoryLimit.PROPERTY, " 64 ");
    assertThat(MachineMemoryLimit.maxMiB()).isEqualTo(64);
    assertThat(MachineMemoryLimit.source()).isEqualTo("-Dhospes.machine-memory-mib");
  }

  @Test
  void anUnusableValueIsNamedAsIgnored() {
    for (String bad : new String[] {"16g", "3", "-1"}) {
      System.setProperty(MachineMemoryLimit.PROPERTY, bad);
      assertThat(MachineMemoryLimit.maxMiB()).as(bad).isEqualTo((int) HEAP_MIB);
      assertThat(MachineMemoryLimit.source()).as(bad).isEqualTo("the JVM's maximum heap (raise"
          + " it with -Xmx, e.g. HOSPES_JAVA_OPTS=-Xmx16g); -Dhospes.machine-memory-mib=" + bad
          + " is ignored: it must be a whole number of MiB, at least 4");
    }
  }
}
