package org.hospes.dom0.backend.net;

import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.xenstore.XsWire;

/**
 * The toolstack's part of a virtual network interface (libxl's device_nic_add): the frontend
 * directory {@code /local/domain/D/device/vif/N} (the guest's; dom0 may read it) and the backend
 * directory {@code /local/domain/0/backend/vif/D/N} (dom0's; the guest may read it), with xl's
 * keys. Both hold {@code mac} and {@code handle}: Linux's netfront reads its MAC address from its
 * own directory.
 */
public final class VifNodes {
  private VifNodes() {}

  public static String frontendPath(int domid, int devid) {
    return "/local/domain/" + domid + "/device/vif/" + devid;
  }

  public static String backendPath(int domid, int devid) {
    return "/local/domain/0/backend/vif/" + domid + "/" + devid;
  }

  /**
   * Writes both directories for interface {@code devid} of domain {@code domid}, with MAC
   * address {@code mac} ("00:16:3e:..") on the network {@code bridge} (its name, for xl's
   * {@code bridge} key).
   */
  public static void create(XenstoreService xs, int domid, int devid, String mac, String bridge) {
    String fe = frontendPath(domid, devid);
    String be = backendPath(domid, devid);
    String[] beKeys = {
        "frontend", fe,
        "frontend-id", Integer.toString(domid),
        "online", "1",
        "state", "1",
        "mac", mac,
        "bridge", bridge,
        "handle", Integer.toString(devid),
        "type", "vif",
    };
    String[] feKeys = {
        "backend", be,
        "backend-id", "0",
        "state", "1",
        "handle", Integer.toString(devid),
        "mac", mac,
    };
    xs.writeDir(be, beKeys, "n0", "r" + domid);
    xs.writeDir(fe, feKeys, "n" + domid, "r0");
  }

  /** Removes both directories (after the backend reached Closed on hot-unplug). */
  public static void remove(XenstoreService xs, int domid, int devid) {
    xs.request(XsWire.RM, frontendPath(domid, devid) + "\0");
    xs.request(XsWire.RM, backendPath(domid, devid) + "\0");
  }
}
