package org.hospes.dom0.backend;

import org.hospes.abi.XenbusState;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.xenstore.Xenstored;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;
import org.hospes.hv.control.DomainControl;

/**
 * The backend's end of one split device's XenbusState machine, as Linux's xenbus drivers share
 * it: a watch on the frontend's {@code state}, InitWait after the probe, connecting the rings
 * when the frontend is ready, Closing and Closed after it, removal of the device when the
 * toolstack has set {@code online} to 0 (hot-unplug) or the domain dies, and xenbus_dev_fatal
 * (the reason in the backend's {@code error} node, then Closing). A device class (blkback,
 * netback) says what its rings are, what it writes when connected, and the two places where
 * Linux's backends differ: blkback connects on the frontend's Initialised as well as
 * Connected, and netback drops its rings as soon as the frontend is Closing.
 *
 * <p>The backend reads and writes xenstore as its own domain (0, or a driver domain), so in a
 * driver domain it has that domain's permissions only.
 */
public abstract class XenbusBackend {
  protected final XenstoreService xs;
  protected final DomainControl control;
  protected final int domid;
  protected final int devid;
  protected final String bePath;
  protected final String fePath;
  private final Xenstored.Connection watcher;
  private XenbusState state = XenbusState.INITIALISING;
  private boolean removed;
  /** True once the backend's own domain (a driver domain) died under it. */
  private boolean orphaned;
  private String lastError;
  private final java.util.List<Runnable> removalListeners = new java.util.ArrayList<>();

  protected XenbusBackend(XenstoreService xs, DomainControl control, int domid, int devid,
      String bePath, String fePath) {
    this.xs = xs;
    this.control = control;
    this.domid = domid;
    this.devid = devid;
    this.bePath = bePath;
    this.fePath = fePath;
    WatchEvents events = new WatchEvents(this::frontendChanged);
    this.watcher = control.domid() == DomainControl.DOM0
        ? xs.store().connectDom0(events)
        : xs.store().connectService(control.domid(), events);
  }

  /** Maps the frontend's rings and binds its event channel; false after {@link #fatal}. */
  protected abstract boolean connectRing();

  /** Unmaps the rings, if connected, keeping their counters. */
  protected abstract void disconnectRing();

  /** The rings are up: write what the frontend reads now, then switch to Connected. */
  protected abstract void connected();

  /** Removes the device's nodes (and releases what it holds) once it is unplugged. */
  protected abstract void removeDevice();

  /** True if the frontend's Initialised already connects (blkback), not only Connected. */
  protected abstract boolean connectsWhenInitialised();

  /** True if the rings go as soon as the frontend is Closing (netback), not at Closed. */
  protected abstract boolean disconnectsWhenClosing();

  /**
   * The end of the probe, after the device's features are written: the domain's death tears
   * the device down (libxl on destroy), the state goes to InitWait and the frontend's state is
   * watched (the watch fires once when set, so a frontend already waiting is seen at once).
   */
  protected final void watchFrontend() {
    // Its frontend's death alone, and forgotten with it: a watcher of every death would stay
    // with the backend's domain (dom0) for good, holding this backend after it was removed.
    control.onDeathOf(domid, () -> {
      if (!removed) {
        disconnectRing();
        state = XenbusState.CLOSED;
        remove();
      }
    });
    switchState(XenbusState.INIT_WAIT);
    xs.store().watchFrom(watcher);
    xs.store().handle(watcher, XsMessage.of(XsWire.WATCH, 0, 0,
        fePath + "/state\0fe-state\0"));
  }

  private void frontendChanged() {
    if (removed || orphaned) {
      return;
    }
    XenbusState fe = XenbusState.parse(read(fePath + "/state"));
    switch (fe) {
      case INITIALISING -> {
        if (state == XenbusState.CLOSED) {
          switchState(XenbusState.INIT_WAIT); // a frontend reconnecting
        }
      }
      case INITIALISED -> {
        if (connectsWhenInitialised()) {
          connectFrontend();
        }
      }
      case CONNECTED -> connectFrontend();
      case CLOSING -> {
        if (disconnectsWhenClosing()) {
          disconnectRing();
        }
        switchState(XenbusState.CLOSING);
      }
      case CLOSED -> {
        disconnectRing();
        switchState(XenbusState.CLOSED);
        if ("0".equals(read(bePath + "/online"))) {
          remove();
        }
      }
      case UNKNOWN -> {
        disconnectRing();
        remove();
      }
      default -> fatal("saw state " + fe.code() + " at frontend");
    }
  }

  private void connectFrontend() {
    if (state == XenbusState.CONNECTED || state == XenbusState.CLOSING) {
      return;
    }
    disconnectRing();
    if (connectRing()) {
      connected();
    }
  }

  public final int domid() {
    return domid;
  }

  public final int devid() {
    return devid;
  }

  /** The domain this backend runs in (0, or a driver domain). */
  public final int backendDomid() {
    return control.domid();
  }

  public final XenbusState state() {
    return state;
  }

  /** True once the device was unplugged and its nodes removed. */
  public final boolean removed() {
    return removed;
  }

  /** The last reason a connection failed or was cut, or null. */
  public final String lastError() {
    return lastError;
  }

  protected final void setLastError(String why) {
    lastError = why;
  }

  /** The frontend's state as this backend reads it. */
  public final XenbusState frontendState() {
    return XenbusState.parse(read(fePath + "/state"));
  }

  /** xenbus_dev_fatal: the reason in the backend's error node, then Closing. */
  protected final void fatal(String why) {
    lastError = why;
    write(bePath + "/error", why);
    switchState(XenbusState.CLOSING);
  }

  /** A write as the backend's domain; xenstored's refusal is an error. */
  protected final void write(String path, String value) {
    XsMessage m = xs.requestAs(control.domid(), XsWire.WRITE, path + "\0" + value);
    if (m.type() == XsWire.ERROR) {
      throw new IllegalStateException("xenstored refused domain " + control.domid()
          + " writing " + path + ": " + m.text().trim());
    }
  }

  /** A read as the backend's domain; null if the node is missing or not readable. */
  protected final String read(String path) {
    XsMessage m = xs.requestAs(control.domid(), XsWire.READ, path + "\0");
    return m.type() == XsWire.ERROR ? null : m.text();
  }

  /** A number the frontend wrote, or -1 if missing or not a number. */
  protected final int readInt(String path) {
    String v = read(path);
    try {
      return v == null ? -1 : Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  protected final void switchState(XenbusState s) {
    if (state == s && s != XenbusState.INIT_WAIT) {
      return;
    }
    state = s;
    if (!removed) {
      write(bePath + "/state", s.text());
    }
  }

  private void unwatch() {
    xs.store().handle(watcher, XsMessage.of(XsWire.UNWATCH, 0, 0,
        fePath + "/state\0fe-state\0"));
  }

  /** The toolstack's hot-unplug (xl block-detach, network-detach): online = 0, Closing. */
  public final void unplug() {
    write(bePath + "/online", "0");
    if (disconnectsWhenClosing()) {
      disconnectRing();
    }
    switchState(XenbusState.CLOSING);
  }

  /**
   * The toolstack's forced removal (a detach the frontend does not take part in: it never
   * connected, or is gone): the rings, if any, are dropped, and the device removed.
   */
  public final void forceRemove() {
    disconnectRing();
    switchState(XenbusState.CLOSED);
    remove();
  }

  private void remove() {
    if (removed) {
      return;
    }
    removed = true;
    if (!orphaned) {
      unwatch();
    }
    removeDevice();
    for (Runnable r : removalListeners) {
      r.run();
    }
  }

  /** Runs {@code r} once the device is removed (the toolstack's bookkeeping of its backends). */
  public final void onRemoved(Runnable r) {
    removalListeners.add(r);
  }

  /** True once the domain this backend ran in died under it (see {@link #backendDomainDied}). */
  public final boolean orphaned() {
    return orphaned;
  }

  /**
   * The domain this backend runs in (a driver domain) died: nothing of it serves the device any
   * more. Its rings are dropped (the hypervisor already took its mappings and ports away with
   * it) and it stops watching; the toolstack, as dom0, sets the backend's {@code state} to
   * Closed and {@code online} to 0, so the frontend sees its backend close, as a Xen frontend
   * does when its backend domain goes, rather than waiting on a backend that will never
   * answer. The device's directories stay until the toolstack removes the device
   * ({@link #forceRemove}: block-detach, or the frontend's own domain ending).
   */
  public final void backendDomainDied() {
    if (removed || orphaned) {
      return;
    }
    orphaned = true;
    disconnectRing();
    unwatch();
    state = XenbusState.CLOSED;
    xs.write(bePath + "/online", "0");
    xs.write(bePath + "/state", XenbusState.CLOSED.text());
  }

  /**
   * The backend goes away (a crash or a restart of the service): its rings are dropped and its
   * state set to Closed; the nodes stay, so a new backend on the device can reconnect.
   */
  public final void stop() {
    disconnectRing();
    unwatch();
    switchState(XenbusState.CLOSED);
  }
}
