package org.hospes.dom0.backend.blk;

import org.hospes.abi.Blkif;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.backend.WatchEvents;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.xenstore.Xenstored;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.CostModel;

/**
 * The xenbus half of blkback for one virtual block device: the backend's end of the XenbusState
 * machine, driven by a xenstore watch on the frontend's {@code state}, as Linux's
 * drivers/block/xen-blkback/xenbus.c does.
 *
 * <ul>
 *   <li>Probe: writes {@code feature-max-indirect-segments}, {@code multi-queue-max-queues} and
 *       switches to InitWait.
 *   <li>Frontend Initialised or Connected: reads {@code ring-ref}, {@code event-channel},
 *       {@code protocol} and {@code feature-persistent}, connects the {@link BlkRing}, then
 *       writes {@code feature-flush-cache}, {@code feature-barrier}, {@code feature-discard},
 *       {@code feature-persistent}, {@code sectors}, {@code info}, {@code sector-size} and
 *       {@code physical-sector-size} and switches to Connected.
 *   <li>Frontend Closing: Closing. Frontend Closed: disconnects the ring, Closed; if the
 *       toolstack set {@code online} to 0 (hot-unplug) the device is removed (both directories
 *       go, the disk is closed). Frontend Initialising while Closed: InitWait again (reconnect).
 * </ul>
 *
 * <p>{@link #stop()} models a backend that goes away (its ring dropped, state Closed, the
 * device left in xenstore); {@link #start} on the same device afterwards is the restarted
 * backend, and the frontend reconnects through InitWait. A frontend that breaks the ring
 * protocol is disconnected: the backend switches to Closing.
 */
public final class VbdBackend {
  private final XenstoreService xs;
  private final DomainControl control;
  private final CostModel cost;
  private final int domid;
  private final int devid;
  private final DiskImage disk;
  private final String bePath;
  private final String fePath;
  private final Xenstored.Connection watcher;
  private final WatchEvents watchEvents = new WatchEvents(this::frontendChanged);
  private final BlkStats total = new BlkStats();
  private final boolean offerPersistent;
  private final boolean offerIndirect;
  private XenbusState state = XenbusState.INITIALISING;
  private BlkRing ring;
  private boolean removed;
  private String lastError;

  private VbdBackend(XenstoreService xs, DomainControl control, CostModel cost, int domid,
      int devid, DiskImage disk, boolean offerPersistent, boolean offerIndirect) {
    this.xs = xs;
    this.control = control;
    this.cost = cost;
    this.domid = domid;
    this.devid = devid;
    this.disk = disk;
    this.offerPersistent = offerPersistent;
    this.offerIndirect = offerIndirect;
    this.bePath = VbdNodes.backendPath(control.domid(), domid, devid);
    this.fePath = VbdNodes.frontendPath(domid, devid);
    // The backend's xenstore connection is its own domain's: in a driver domain it has that
    // domain's permissions (its backend directory, the frontend's directory to read).
    this.watcher = control.domid() == DomainControl.DOM0
        ? xs.store().connectDom0(watchEvents)
        : xs.store().connectService(control.domid(), watchEvents);
  }

  /**
   * Starts the backend of a device whose nodes {@link VbdNodes#create} wrote: probes, goes to
   * InitWait and follows the frontend from there. {@code offerPersistent} and
   * {@code offerIndirect} are normally true; the benchmark turns them off to compare.
   */
  public static VbdBackend start(XenstoreService xs, DomainControl control, CostModel cost,
      int domid, int devid, DiskImage disk, boolean offerPersistent, boolean offerIndirect) {
    VbdBackend b = new VbdBackend(xs, control, cost, domid, devid, disk, offerPersistent,
        offerIndirect);
    b.probe();
    return b;
  }

  /** With persistent grants and indirect descriptors offered. */
  public static VbdBackend start(XenstoreService xs, DomainControl control, CostModel cost,
      int domid, int devid, DiskImage disk) {
    return start(xs, control, cost, domid, devid, disk, true, true);
  }

  private void probe() {
    if (offerIndirect) {
      write(bePath + "/feature-max-indirect-segments",
          Integer.toString(BlkRing.MAX_INDIRECT_SEGMENTS));
    }
    write(bePath + "/multi-queue-max-queues", "1");
    control.onDomainDeath(d -> {
      if (d == domid && !removed) {
        // The toolstack tears the domain's devices down (libxl on destroy): the ring goes,
        // the nodes go and the image is closed (its lock released).
        disconnectRing();
        state = XenbusState.CLOSED;
        remove();
      }
    });
    switchState(XenbusState.INIT_WAIT);
    // The watch fires once when set, so a frontend already waiting is seen at once.
    xs.store().watchFrom(watcher);
    xs.store().handle(watcher, XsMessage.of(XsWire.WATCH, 0, 0,
        fePath + "/state\0fe-state\0"));
  }

  public int domid() {
    return domid;
  }

  public int devid() {
    return devid;
  }

  public XenbusState state() {
    return state;
  }

  /** The connected ring, or null. */
  public BlkRing ring() {
    return ring;
  }

  /** Counters over every connection this backend served (the current one included). */
  public BlkStats stats() {
    BlkStats s = new BlkStats();
    s.add(total);
    if (ring != null) {
      s.add(ring.stats());
    }
    return s;
  }

  /** True once the device was unplugged and its nodes removed. */
  public boolean removed() {
    return removed;
  }

  /** The last reason a connection attempt failed, or null. */
  public String lastError() {
    return lastError;
  }

  private void frontendChanged() {
    if (removed) {
      return;
    }
    XenbusState fe = XenbusState.parse(read(fePath + "/state"));
    switch (fe) {
      case INITIALISING -> {
        if (state == XenbusState.CLOSED) {
          switchState(XenbusState.INIT_WAIT);
        }
      }
      case INITIALISED, CONNECTED -> {
        if (state == XenbusState.CONNECTED || state == XenbusState.CLOSING) {
          return;
        }
        disconnectRing();
        if (connectRing()) {
          connect();
        }
      }
      case CLOSING -> switchState(XenbusState.CLOSING);
      case CLOSED -> {
        disconnectRing();
        switchState(XenbusState.CLOSED);
        if (!"0".equals(read(bePath + "/online"))) {
          return;
        }
        remove();
      }
      case UNKNOWN -> {
        disconnectRing();
        remove();
      }
      default -> fatal("saw state " + fe.code() + " at frontend");
    }
  }

  private boolean connectRing() {
    String protocol = read(fePath + "/protocol");
    if (protocol != null && !protocol.equals(Blkif.PROTOCOL_X86_32)) {
      // Hospes guests are 32-bit: the x86_32 layouts are the native ones.
      fatal("unknown fe protocol " + protocol);
      return false;
    }
    String queues = read(fePath + "/multi-queue-num-queues");
    if (queues != null && !queues.equals("1")) {
      fatal("frontend asked for " + queues + " queues, the backend offers 1");
      return false;
    }
    String order = read(fePath + "/ring-page-order");
    if (order != null && !order.equals("0")) {
      fatal("ring-page-order " + order + " not offered");
      return false;
    }
    int ringRef = readInt(fePath + "/ring-ref");
    int evtchn = readInt(fePath + "/event-channel");
    if (ringRef < 0 || evtchn < 0) {
      fatal("reading " + fePath + "/ring-ref and event-channel");
      return false;
    }
    boolean persistent = offerPersistent && "1".equals(read(fePath + "/feature-persistent"));
    try {
      ring = BlkRing.connect(control, domid, ringRef, evtchn, disk, persistent, cost,
          this::ringHalted);
    } catch (IllegalArgumentException e) {
      fatal(e.getMessage());
      return false;
    }
    return true;
  }

  private void connect() {
    write(bePath + "/feature-flush-cache", "1");
    write(bePath + "/feature-barrier", "1");
    write(bePath + "/discard-granularity", "4096");
    write(bePath + "/discard-alignment", "0");
    write(bePath + "/feature-discard", "1");
    write(bePath + "/feature-persistent", offerPersistent ? "1" : "0");
    write(bePath + "/sectors", Long.toString(disk.sizeBytes() >>> Blkif.SECTOR_SHIFT));
    write(bePath + "/info", Integer.toString(disk.readOnly() ? Blkif.VDISK_READONLY : 0));
    write(bePath + "/sector-size", "512");
    write(bePath + "/physical-sector-size", "512");
    switchState(XenbusState.CONNECTED);
  }

  private void ringHalted() {
    lastError = ring.haltReason();
    // The ring stays mapped until the frontend closes; nothing more is served from it.
    switchState(XenbusState.CLOSING);
  }

  private void fatal(String why) {
    // xenbus_dev_fatal: the reason in the backend's error node, then Closing.
    lastError = why;
    write(bePath + "/error", why);
    switchState(XenbusState.CLOSING);
  }

  /** A write as the backend's domain; xenstored's refusal is an error. */
  private void write(String path, String value) {
    XsMessage m = xs.requestAs(control.domid(), XsWire.WRITE, path + "\0" + value);
    if (m.type() == XsWire.ERROR) {
      throw new IllegalStateException("xenstored refused domain " + control.domid()
          + " writing " + path + ": " + m.text().trim());
    }
  }

  private String read(String path) {
    XsMessage m = xs.requestAs(control.domid(), XsWire.READ, path + "\0");
    return m.type() == XsWire.ERROR ? null : m.text();
  }

  /** The domain this backend runs in (0, or a driver domain). */
  public int backendDomid() {
    return control.domid();
  }

  private int readInt(String path) {
    String v = read(path);
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
      write(bePath + "/state", s.text());
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

  /** The toolstack's hot-unplug (xl block-detach): online = 0, backend state Closing. */
  public void unplug() {
    write(bePath + "/online", "0");
    switchState(XenbusState.CLOSING);
  }

  /**
   * The toolstack's forced removal (xl block-detach when the frontend does not take part: it
   * never connected, or is gone): the ring, if any, is dropped, and the device removed.
   */
  public void forceRemove() {
    disconnectRing();
    switchState(XenbusState.CLOSED);
    remove();
  }

  /** The frontend's state as this backend reads it. */
  public XenbusState frontendState() {
    return XenbusState.parse(read(fePath + "/state"));
  }

  private void remove() {
    if (removed) {
      return;
    }
    removed = true;
    unwatch();
    // The toolstack removes both directories (libxl's device removal, done as dom0).
    VbdNodes.remove(xs, control.domid(), domid, devid);
    try {
      disk.close();
    } catch (java.io.IOException e) {
      lastError = "closing the image: " + e.getMessage();
    }
  }

  /**
   * The backend goes away (a crash or a restart of the service): its ring is dropped and its
   * state set to Closed; the nodes stay, so a new {@link #start} on the device can reconnect.
   */
  public void stop() {
    disconnectRing();
    unwatch();
    switchState(XenbusState.CLOSED);
  }
}
