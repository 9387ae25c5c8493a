package org.hospes.dom0.devicemodel.plugin;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One {@code --device NAME[,key=value...]}: the device's name and its options in the order
 * given. A key may appear once; a bare word after the name is a key with the value "on", as in
 * QEMU's {@code -device} properties ({@code msi} is {@code msi=on}). {@code bareKeys} remembers
 * which keys were bare, so that a key that needs a value ({@link #longOption}) refuses a bare
 * word by name instead of reading "on", and {@link #toString} echoes what the user typed.
 */
public record DeviceSpec(String name, Map<String, String> options, Set<String> bareKeys) {

  public DeviceSpec {
    if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
      throw new IllegalArgumentException("device name must be letters, digits, _ . -, got '"
          + name + "'");
    }
    options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
    bareKeys = Set.copyOf(bareKeys);
  }

  /** A device whose options all came as key=value. */
  public DeviceSpec(String name, Map<String, String> options) {
    this(name, options, Set.of());
  }

  /**
   * Parses {@code NAME[,key=value...]}. IllegalArgumentException with a one-line reason: empty
   * text, a bad name, an empty key or a key given twice.
   */
  public static DeviceSpec parse(String text) {
    String t = text == null ? "" : text.strip();
    if (t.isEmpty()) {
      throw new IllegalArgumentException("empty device specification (NAME[,key=value...])");
    }
    String[] parts = t.split(",", -1);
    // Named as every other --device error names it ("device edu: ..."): the whole text after
    // the option's own echo of it was a second, different prefix.
    String about = "device " + parts[0].strip() + ": ";
    Map<String, String> options = new LinkedHashMap<>();
    Set<String> bare = new java.util.HashSet<>();
    for (int i = 1; i < parts.length; i++) {
      String item = parts[i].strip();
      int eq = item.indexOf('=');
      String key = eq < 0 ? item : item.substring(0, eq).strip();
      String value = eq < 0 ? "on" : item.substring(eq + 1).strip();
      if (key.isEmpty()) {
        throw new IllegalArgumentException(about + "empty option");
      }
      if (options.put(key, value) != null) {
        throw new IllegalArgumentException(about + "option " + key + " given twice");
      }
      if (eq < 0) {
        bare.add(key);
      }
    }
    return new DeviceSpec(parts[0].strip(), options, bare);
  }

  /** The option's value, or {@code fallback} if it was not given. */
  public String option(String key, String fallback) {
    return options.getOrDefault(key, fallback);
  }

  /**
   * Refuses options other than {@code known}, naming them: for a plugin's {@code attach}.
   */
  public void requireOnly(Set<String> known) {
    for (String k : options.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException("device " + name + ": unknown option '" + k + "'"
            + (known.isEmpty() ? "; it takes none"
                : "; known: " + String.join(", ", new java.util.TreeSet<>(known))));
      }
    }
  }

  /**
   * An integer option (decimal or 0x hex) within [min, max], or {@code fallback}. A bare key
   * ({@code edu,slot}) is refused as having no value rather than read as the number "on".
   */
  public long longOption(String key, long fallback, long min, long max) {
    String v = options.get(key);
    if (v == null) {
      return fallback;
    }
    if (bareKeys.contains(key)) {
      throw new IllegalArgumentException("device " + name + ": option " + key
          + " needs a value (" + key + "=N)");
    }
    long n;
    try {
      n = v.startsWith("0x") || v.startsWith("0X") ? Long.parseLong(v.substring(2), 16)
          : Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("device " + name + ": " + key
          + " must be a number, got '" + v + "'");
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(String.format("device %s: %s must be %d..%d, got %d",
          name, key, min, max, n));
    }
    return n;
  }

  /** The text {@link #parse} reads back. */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder(name);
    options.forEach((k, v) -> {
      b.append(',').append(k);
      if (!bareKeys.contains(k)) {
        b.append('=').append(v);
      }
    });
    return b.toString();
  }
}
