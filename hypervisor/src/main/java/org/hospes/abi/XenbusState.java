package org.hospes.abi;

/** enum xenbus_state (public/io/xenbus.h): each end's {@code state} node in xenstore. */
public enum XenbusState {
  UNKNOWN(0),
  INITIALISING(1),
  /** The backend is ready for the frontend's details (ring-ref, event-channel). */
  INIT_WAIT(2),
  /** The frontend has published its details. */
  INITIALISED(3),
  CONNECTED(4),
  /** The device is being closed (on either side). */
  CLOSING(5),
  CLOSED(6),
  RECONFIGURING(7),
  RECONFIGURED(8);

  private static final XenbusState[] BY_CODE = values();
  private final int code;

  XenbusState(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /**
   * The state a node's text names; UNKNOWN for a missing node or anything else (as Linux's
   * xenbus_read_driver_state).
   */
  public static XenbusState parse(String text) {
    if (text == null) {
      return UNKNOWN;
    }
    try {
      int c = Integer.parseInt(text.trim());
      return c >= 0 && c < BY_CODE.length ? BY_CODE[c] : UNKNOWN;
    } catch (NumberFormatException e) {
      return UNKNOWN;
    }
  }

  /** The node's text. */
  public String text() {
    return Integer.toString(code);
  }
}
