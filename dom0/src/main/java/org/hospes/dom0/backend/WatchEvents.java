package org.hospes.dom0.backend;

import java.util.function.Consumer;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;

/**
 * A backend's xenstore watch connection, as a message consumer: runs the backend's handler once
 * per watch event. A handler's own writes may fire the watch again while it runs; those events
 * are run after the current one, never re-entrantly, so a backend's state machine sees one
 * change at a time.
 */
public final class WatchEvents implements Consumer<XsMessage> {
  private final Runnable handler;
  private int pending;
  private boolean handling;

  /** {@code handler} re-reads whatever it watches, so events carry no path for it. */
  public WatchEvents(Runnable handler) {
    this.handler = handler;
  }

  @Override
  public void accept(XsMessage m) {
    if (m.type() != XsWire.WATCH_EVENT) {
      return;
    }
    pending++;
    if (handling) {
      return; // fired by the handler's own write: run after the current event
    }
    handling = true;
    try {
      while (pending > 0) {
        pending--;
        handler.run();
      }
    } finally {
      handling = false;
    }
  }
}
