package org.hospes.dom0.backend.blk;

import org.hospes.dom0.xenstore.XenstoreService;

/**
 * The toolstack's part of a virtual block device (libxl's device_disk_add): the frontend and
 * backend directories with xl's keys and permissions. The frontend directory
 * {@code /local/domain/D/device/vbd/N} belongs to the guest, dom0 may read it; the backend
 * directory {@code /local/domain/0/backend/vbd/D/N} belongs to dom0, the guest may read it.
 */
public final class VbdNodes {
  private VbdNodes() {}

  public static String frontendPath(int domid, int devid) {
    return "/local/domain/" + domid + "/device/vbd/" + devid;
  }

  public static String backendPath(int domid, int devid) {
    return backendPath(0, domid, devid);
  }

  /** The backend directory when domain {@code backendDomid} serves the device. */
  public static String backendPath(int backendDomid, int domid, int devid) {
    return "/local/domain/" + backendDomid + "/backend/vbd/" + domid + "/" + devid;
  }

  /**
   * Writes both directories for disk {@code vdev} (devid {@code devid}) of domain
   * {@code domid}: {@code params} is the image's path, {@code readOnly} gives mode "r".
   */
  public static void create(XenstoreService xs, int domid, int devid, String vdev, String params,
      String format, boolean readOnly) {
    create(xs, 0, domid, devid, vdev, params, format, readOnly);
  }

  /** As above, the device served by domain {@code backendDomid} (libxl's backend_domid). */
  public static void create(XenstoreService xs, int backendDomid, int domid, int devid,
      String vdev, String params, String format, boolean readOnly) {
    String fe = frontendPath(domid, devid);
    String be = backendPath(backendDomid, domid, devid);
    String[] beKeys = {
        "frontend", fe,
        "frontend-id", Integer.toString(domid),
        "online", "1",
        "removable", "0",
        "bootable", "1",
        "state", "1",
        "dev", vdev,
        "type", "qdisk",
        "mode", readOnly ? "r" : "w",
        "device-type", "disk",
        "params", format + ":" + params,
        "discard-enable", "1",
    };
    String[] feKeys = {
        "backend", be,
        "backend-id", Integer.toString(backendDomid),
        "state", "1",
        "virtual-device", Integer.toString(devid),
        "device-type", "disk",
    };
    xs.writeDir(be, beKeys, "n" + backendDomid, "r" + domid);
    xs.writeDir(fe, feKeys, "n" + domid, "r" + backendDomid);
  }

  /** Removes both directories (after the backend reached Closed on hot-unplug). */
  public static void remove(XenstoreService xs, int domid, int devid) {
    remove(xs, 0, domid, devid);
  }

  /** As above for a device served by {@code backendDomid}; done by the toolstack (dom0). */
  public static void remove(XenstoreService xs, int backendDomid, int domid, int devid) {
    xs.request(org.hospes.dom0.xenstore.XsWire.RM, frontendPath(domid, devid) + "\0");
    xs.request(org.hospes.dom0.xenstore.XsWire.RM,
        backendPath(backendDomid, domid, devid) + "\0");
  }
}
