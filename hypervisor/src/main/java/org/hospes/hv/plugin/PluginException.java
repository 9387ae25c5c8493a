package org.hospes.hv.plugin;

/**
 * Plugins that cannot be installed together: a service entry that does not load, two modules
 * binding one name, or bindings Guice refuses. Its message is one line for the user.
 */
public final class PluginException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PluginException(String message) {
    super(message);
  }

  public PluginException(String message, Throwable cause) {
    super(message, cause);
  }
}
