package org.hospes.dom0.backend.net;

import org.hospes.abi.XenbusState;
import org.hospes.dom0.backend.WatchEvents;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.xenstore.Xenstored;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.CostModel;

/**
 * netback for one virtual network interface: the backend's end of the XenbusState machine,
 * driven by a xenstore watch on the frontend's {@code state} as Linux's
 * drivers/net/xen-netback/xenbus.c does, and the vif's port on dom0's virtual switch.
 *
 * <ul>
 *   <li>Probe: writes {@code feature-sg}, {@code feature-rx-copy} = 1, {@code feature-rx-flip},
 *       the GSO and IPv6 checksum features = 0 (not offered) and switches to InitWait. No
 *       {@code multi-queue-max-queues} and no {@code feature-split-event-channels}: one queue,
 *       one event channel.
 *   <li>Frontend Connected: reads {@code tx-ring-ref}, {@code rx-ring-ref},
 *       {@code event-channel}, {@code request-rx-copy} (must be 1: there is no flipping
 *       receive path), {@code feature-rx-notify} (mandatory, as in Linux) and
 *       {@code feature-sg}, connects the {@link NetRing} and switches to Connected. Frontend
 *       Initialised changes nothing (netfront goes from Initialising straight to Connected).
 *   <li>Frontend Closing: disconnects, Closing. Closed: Closed, and if the toolstack set
 *       {@code online} to 0 (hot-unplug) both directories go. Initialising while Closed:
 *       InitWait again (reconnect).
 * </ul>
 *
 * <p>A frontend that breaks the ring protocol is disconnected (xenbus_dev_fatal: the reason in
 * the backend's {@code error} node, then Closing). Frames for the guest while it is not
 * connected are dropped and counted, as a NIC with its link down drops them.
 */
public final class VifBackend implements SwitchPort {
  private final XenstoreService xs;
  private final DomainControl control;
  private final CostModel cost;
  private final int domid;
  private final int devid;
  private final String mac;
  private final String bePath;
  private final String fePath;
  private final Xenstored.Connection watcher;
  private final WatchEvents watchEvents = new WatchEvents(this::frontendChanged);
  private final NetStats total = new NetStats();
  private FrameSink toSwitch;
  private XenbusState state = XenbusState.INITIALISING;
  private NetRing ring;
  private boolean removed;
  private String lastError;
  private long droppedUnconnected;

  private VifBackend(XenstoreService xs, DomainControl control, CostModel cost, int domid,
      int devid, String mac) {
    this.xs = xs;
    this.control = control;
    this.cost = cost;
    this.domid = domid;
    this.devid = devid;
    this.mac = mac;
    this.bePath = VifNodes.backendPath(domid, devid);
    this.fePath = VifNodes.frontendPath(domid, devid);
    this.watcher = xs.store().connectDom0(watchEvents);
  }

  /**
   * Starts the backend of an interface whose nodes {@link VifNodes#create} wrote: probes, goes
   * to InitWait and follows the frontend from there. Attach it to a switch to carry frames.
   */
  public static VifBackend start(XenstoreService xs, DomainControl control, CostModel cost,
      int domid, int devid, String mac) {
    VifBackend b = new VifBackend(xs, control, cost, domid, devid, mac);
    b.probe();
    return b;
  }

  private void probe() {
    xs.write(bePath + "/feature-sg", "1");
    xs.write(bePath + "/feature-gso-tcpv4", "0");
    xs.write(bePath + "/feature-gso-tcpv6", "0");
    xs.write(bePath + "/feature-ipv6-csum-offload", "0");
    xs.write(bePath + "/feature-rx-copy", "1");
    xs.write(bePath + "/feature-rx-flip", "0");
    xs.write(bePath + "/feature-multicast-control", "0");
    xs.write(bePath + "/feature-split-event-channels", "0");
    control.onDomainDeath(d -> {
      if (d == domid && !removed) {
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

  @Override
  public String name() {
    return "vif" + domid + "." + devid;
  }

  @Override
  public void attach(FrameSink toSwitch) {
    this.toSwitch = toSwitch;
  }

  @Override
  public void deliver(byte[] frame, int offset, int length) {
    if (ring == null || state != XenbusState.CONNECTED) {
      droppedUnconnected++;
      return;
    }
    ring.receive(frame, offset, length);
  }

  private void fromGuest(byte[] frame, int off, int len) {
    FrameSink s = toSwitch;
    if (s != null) {
      s.send(this, frame, off, len);
    }
  }

  public int domid() {
    return domid;
  }

  public int devid() {
    return devid;
  }

  public String mac() {
    return mac;
  }

  public XenbusState state() {
    return state;
  }

  /** The connected rings, or null. */
  public NetRing ring() {
    return ring;
  }

  /** Counters over every connection (the current one included). */
  public NetStats stats() {
    NetStats s = new NetStats();
    s.add(total);
    if (ring != null) {
      s.add(ring.stats());
    }
    s.rxDropped += droppedUnconnected;
    return s;
  }

  public boolean removed() {
    return removed;
  }

  /** The last reason a connection failed or was cut, or null. */
  public String lastError() {
    return lastError;
  }

  private void frontendChanged() {
    if (removed) {
      return;
    }
    XenbusState fe = XenbusState.parse(xs.read(fePath + "/state"));
    switch (fe) {
      case INITIALISING -> {
        if (state == XenbusState.CLOSED) {
          switchState(XenbusState.INIT_WAIT);
        }
      }
      case INITIALISED -> {
        // netback waits for Connected: netfront writes its keys, then says Connected.
      }
      case CONNECTED -> {
        if (state == XenbusState.CONNECTED || state == XenbusState.CLOSING) {
          return;
        }
        disconnectRing();
        if (connectRing()) {
          switchState(XenbusState.CONNECTED);
        }
      }
      case CLOSING -> {
        disconnectRing();
        switchState(XenbusState.CLOSING);
      }
      case CLOSED -> {
        disconnectRing();
        switchState(XenbusState.CLOSED);
        if ("0".equals(xs.read(bePath + "/online"))) {
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

  private boolean connectRing() {
    String queues = xs.read(fePath + "/multi-queue-num-queues");
    if (queues != null && !queues.trim().equals("1")) {
      fatal("frontend asked for " + queues + " queues, the backend offers 1");
      return false;
    }
    if (xs.read(fePath + "/event-channel-tx") != null) {
      fatal("split event channels were not offered");
      return false;
    }
    if (readInt(fePath + "/request-rx-copy") != 1) {
      fatal("request-rx-copy must be 1: only the copying receive path is offered");
      return false;
    }
    if (readInt(fePath + "/feature-rx-notify") != 1) {
      fatal("feature-rx-notify is mandatory");
      return false;
    }
    int txRef = readInt(fePath + "/tx-ring-ref");
    int rxRef = readInt(fePath + "/rx-ring-ref");
    int evtchn = readInt(fePath + "/event-channel");
    if (txRef < 0 || rxRef < 0 || evtchn < 0) {
      fatal("reading " + fePath + "/tx-ring-ref, rx-ring-ref and event-channel");
      return false;
    }
    boolean sg = readInt(fePath + "/feature-sg") == 1;
    try {
      ring = NetRing.connect(control, domid, txRef, rxRef, evtchn, sg, cost, this::fromGuest,
          this::ringHalted);
    } catch (IllegalArgumentException e) {
      fatal(e.getMessage());
      return false;
    }
    return true;
  }

  private void ringHalted() {
    lastError = ring.haltReason();
    xs.write(bePath + "/error", lastError);
    // The rings stay mapped until the frontend closes; nothing more is served from them.
    switchState(XenbusState.CLOSING);
  }

  private void fatal(String why) {
    lastError = why;
    xs.write(bePath + "/error", why);
    switchState(XenbusState.CLOSING);
  }

  private int readInt(String path) {
    String v = xs.read(path);
    try {
      return v == null ? -1 : Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private void switchState(XenbusState s) {
    if (state == s && s != XenbusState.INIT_WAIT) {
      return;
    }
    state = s;
    if (!removed) {
      xs.write(bePath + "/state", s.text());
    }
  }

  private void disconnectRing() {
    if (ring != null) {
      ring.disconnect();
      total.add(ring.stats());
      ring = null;
    }
  }

  private void unwatch() {
    xs.store().handle(watcher, XsMessage.of(XsWire.UNWATCH, 0, 0,
        fePath + "/state\0fe-state\0"));
  }

  /** The toolstack's hot-unplug (xl network-detach): online = 0, backend state Closing. */
  public void unplug() {
    xs.write(bePath + "/online", "0");
    disconnectRing();
    switchState(XenbusState.CLOSING);
  }

  private void remove() {
    if (removed) {
      return;
    }
    removed = true;
    unwatch();
    VifNodes.remove(xs, domid, devid);
  }

  /** The backend goes away (a restart of the service): rings dropped, Closed, nodes kept. */
  public void stop() {
    disconnectRing();
    unwatch();
    switchState(XenbusState.CLOSED);
  }
}
