package org.hospes.x86.jit;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Runs test code with the JIT's system properties set (a processor reads them when it is made),
 * and puts the properties back as they were afterwards, set or not.
 */
final class JitProperties {
  private JitProperties() {}

  /** {@code body}'s result, computed with {@code properties} set. */
  static <T> T with(Map<String, String> properties, Supplier<T> body) {
    Map<String, String> saved = new HashMap<>();
    for (String key : properties.keySet()) {
      saved.put(key, System.getProperty(key));
    }
    properties.forEach(System::setProperty);
    try {
      return body.get();
    } finally {
      saved.forEach((key, value) -> {
        if (value == null) {
          System.clearProperty(key);
        } else {
          System.setProperty(key, value);
        }
      });
    }
  }

  /** The JIT engine with the given block and loop thresholds. */
  static Map<String, String> jit(int threshold, int loopThreshold) {
    return Map.of(Engine.PROPERTY, Engine.JIT.cliName(),
        Jit.THRESHOLD_PROPERTY, Integer.toString(threshold),
        Jit.LOOP_THRESHOLD_PROPERTY, Integer.toString(loopThreshold));
  }
}
