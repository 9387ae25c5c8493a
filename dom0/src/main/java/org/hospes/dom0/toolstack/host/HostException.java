package org.hospes.dom0.toolstack.host;

/**
 * A request the host refused, or a host that is not there; the message is one line for the
 * user. {@link #usage} says whether the user's input was at fault (exit status 2).
 */
public class HostException extends Exception {
  private static final long serialVersionUID = 1L;
  private final boolean usage;

  public HostException(String message, boolean usage) {
    super(message);
    this.usage = usage;
  }

  public boolean usage() {
    return usage;
  }

  /** No host answers on the socket. */
  public static final class NoHost extends HostException {
    private static final long serialVersionUID = 1L;

    public NoHost() {
      super("no host is running (start one with ./hospes host start)", true);
    }
  }
}
