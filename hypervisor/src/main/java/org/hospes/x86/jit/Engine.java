package org.hospes.x86.jit;

import java.util.Locale;

/** How a processor executes guest code. The interpreter is the reference. */
public enum Engine {
  /** Decoded blocks, interpreted. */
  INTERP,
  /** Hot blocks translated to JVM bytecode, the rest interpreted. */
  JIT,
  /** Both on every translated block, compared at its end ({@link Lockstep}). */
  LOCKSTEP;

  /** System property naming the engine of processors created from now on. */
  public static final String PROPERTY = "hospes.engine";
  /** Setting this to true selects {@link #LOCKSTEP} whatever {@link #PROPERTY} says. */
  public static final String LOCKSTEP_PROPERTY = "hospes.jit.lockstep";

  /**
   * The engine processors use unless told otherwise. The translator: it counts exactly as the
   * interpreter does (instructions, virtual time, every guest-facing counter), so only the
   * wall time changes; the interpreter stays the reference, a property or flag away.
   */
  public static final Engine DEFAULT = JIT;

  /**
   * The engine new processors use: {@link #PROPERTY} (unset or empty: {@link #DEFAULT}).
   *
   * @throws EngineSettingsException if the property names no engine
   */
  public static Engine current() {
    if (Boolean.getBoolean(LOCKSTEP_PROPERTY)) {
      return LOCKSTEP;
    }
    String name = System.getProperty(PROPERTY);
    if (name == null || name.isBlank()) {
      return DEFAULT;
    }
    try {
      return parse(name);
    } catch (IllegalArgumentException e) {
      throw new EngineSettingsException("-D" + PROPERTY + "=" + name + ": unknown engine"
          + " (known: interp, jit, lockstep)");
    }
  }

  /** The engine called {@code name} (interp, jit, lockstep); IllegalArgumentException if none. */
  public static Engine parse(String name) {
    for (Engine e : values()) {
      if (e.name().equalsIgnoreCase(name.trim())) {
        return e;
      }
    }
    throw new IllegalArgumentException("unknown engine '" + name
        + "' (known: interp, jit, lockstep)");
  }

  /** The name on the command line. */
  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
