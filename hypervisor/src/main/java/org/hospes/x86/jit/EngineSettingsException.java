package org.hospes.x86.jit;

/**
 * A {@code -Dhospes.engine} or {@code -Dhospes.jit.*} setting that cannot be used, with the
 * property and its value named: the user's to correct (the CLI says so with the usage status),
 * not a fault of the processor. Such a setting was either ignored (a value that is not a
 * number ran the default) or ended a run as an internal error.
 */
public final class EngineSettingsException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  EngineSettingsException(String message) {
    super(message);
  }
}
