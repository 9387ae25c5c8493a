package org.hospes.dom0.backend.net;

import org.hospes.abi.XenbusState;
import org.hospes.dom0.backend.XenbusBackend;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.CostModel;

/**
 * netback for one virtual network interface: the backend's end of the XenbusState machine
 * ({@link XenbusBackend}) as Linux's drivers/net/xen-netback/xenbus.c drives it, and the vif's
 * port on dom0's virtual switch.
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
public final class VifBackend extends XenbusBackend implements SwitchPort {
  private final CostModel cost;
  private final String mac;
  private final NetStats total = new NetStats();
  private FrameSink toSwitch;
  private NetRing ring;
  private long droppedUnconnected;

  private VifBackend(XenstoreService xs, DomainControl control, CostModel cost, int domid,
      int devid, String mac) {
    super(xs, control, domid, devid, VifNodes.backendPath(domid, devid),
        VifNodes.frontendPath(domid, devid));
    this.cost = cost;
    this.mac = mac;
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
    write(bePath + "/feature-sg", "1");
    write(bePath + "/feature-gso-tcpv4", "0");
    write(bePath + "/feature-gso-tcpv6", "0");
    write(bePath + "/feature-ipv6-csum-offload", "0");
    write(bePath + "/feature-rx-copy", "1");
    write(bePath + "/feature-rx-flip", "0");
    write(bePath + "/feature-multicast-control", "0");
    write(bePath + "/feature-split-event-channels", "0");
    watchFrontend();
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
    if (ring == null || state() != XenbusState.CONNECTED) {
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

  public String mac() {
    return mac;
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

  @Override
  protected boolean connectsWhenInitialised() {
    return false; // netfront writes its keys, then says Connected
  }

  @Override
  protected boolean disconnectsWhenClosing() {
    return true;
  }

  @Override
  protected boolean connectRing() {
    String queues = read(fePath + "/multi-queue-num-queues");
    if (queues != null && !queues.trim().equals("1")) {
      fatal("frontend asked for " + queues + " queues, the backend offers 1");
      return false;
    }
    if (read(fePath + "/event-channel-tx") != null) {
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

  @Override
  protected void connected() {
    switchState(XenbusState.CONNECTED);
  }

  private void ringHalted() {
    setLastError(ring.haltReason());
    write(bePath + "/error", lastError());
    // The rings stay mapped until the frontend closes; nothing more is served from them.
    switchState(XenbusState.CLOSING);
  }

  @Override
  protected void disconnectRing() {
    if (ring != null) {
      ring.disconnect();
      total.add(ring.stats());
      ring = null;
    }
  }

  @Override
  protected void removeDevice() {
    VifNodes.remove(xs, domid, devid);
  }
}
