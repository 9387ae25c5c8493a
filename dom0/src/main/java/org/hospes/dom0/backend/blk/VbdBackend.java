package org.hospes.dom0.backend.blk;

import org.hospes.abi.Blkif;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.backend.XenbusBackend;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.CostModel;

/**
 * The xenbus half of blkback for one virtual block device: the backend's end of the XenbusState
 * machine ({@link XenbusBackend}), as Linux's drivers/block/xen-blkback/xenbus.c drives it.
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
public final class VbdBackend extends XenbusBackend {
  private final CostModel cost;
  private final DiskImage disk;
  private final BlkStats total = new BlkStats();
  private final boolean offerPersistent;
  private final boolean offerIndirect;
  private BlkRing ring;

  private VbdBackend(XenstoreService xs, DomainControl control, CostModel cost, int domid,
      int devid, DiskImage disk, boolean offerPersistent, boolean offerIndirect) {
    super(xs, control, domid, devid, VbdNodes.backendPath(control.domid(), domid, devid),
        VbdNodes.frontendPath(domid, devid));
    this.cost = cost;
    this.disk = disk;
    this.offerPersistent = offerPersistent;
    this.offerIndirect = offerIndirect;
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
    watchFrontend();
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

  @Override
  protected boolean connectsWhenInitialised() {
    return true;
  }

  @Override
  protected boolean disconnectsWhenClosing() {
    return false; // blkback keeps the ring until the frontend is Closed
  }

  @Override
  protected boolean connectRing() {
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

  @Override
  protected void connected() {
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
    setLastError(ring.haltReason());
    // The ring stays mapped until the frontend closes; nothing more is served from it.
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

  /**
   * Closes the image at the end of a run whose guest still has the device (the toolstack's
   * winding-up, Ctrl-C too): a writable image is forced to stable storage first and its lock
   * released, as QEMU does on exit. The backend serves nothing afterwards; a removal later
   * does not close it again (the images' close is idempotent).
   */
  public void closeImage() throws java.io.IOException {
    disk.close();
  }

  @Override
  protected void removeDevice() {
    // The toolstack removes both directories (libxl's device removal, done as dom0).
    VbdNodes.remove(xs, control.domid(), domid, devid);
    try {
      disk.close();
    } catch (java.io.IOException e) {
      setLastError("closing the image: " + e.getMessage());
    }
  }
}
