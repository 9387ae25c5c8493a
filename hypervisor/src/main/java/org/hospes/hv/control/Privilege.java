package org.hospes.hv.control;

/**
 * What a service domain may do to other domains, as Xen's XSM dummy policy decides it
 * ({@code xen/include/xsm/dummy.h}): the control domain (dom0, {@code is_privileged}) may act on
 * any domain; a domain given a target ({@code XEN_DOMCTL_set_target}, here a driver domain) may
 * act on that one domain as if it were privileged over it; any other domain only on itself.
 *
 * <p>The actions keep the dummy policy's names and its order of checks: {@code XSM_TARGET}
 * (foreign mappings, HVM params of another domain, event channels allocated in another domain)
 * admits the domain itself, then the domain whose target it is, then the control domain;
 * {@code XSM_DM_PRIV} (serving a domain's ioreqs: dm_op) the same without the domain itself;
 * {@code XSM_PRIV} (introducing domains to xenstore, creating domains) the control domain only.
 *
 * @param control the control domain's privilege (dom0)
 * @param target the one domain this domain is privileged over, or {@link #NO_TARGET}
 */
public record Privilege(boolean control, int target) {
  public static final int NO_TARGET = -1;

  /** dom0's: privileged over every domain. */
  public static final Privilege CONTROL = new Privilege(true, NO_TARGET);
  /** An unprivileged domain's: only itself. */
  public static final Privilege NONE = new Privilege(false, NO_TARGET);

  public Privilege {
    if (control && target != NO_TARGET) {
      throw new IllegalArgumentException("the control domain has no single target");
    }
    if (target < NO_TARGET || target > 0x7FEF) {
      throw new IllegalArgumentException("target must be a domid 0..32751, got " + target);
    }
  }

  /** A driver domain's: privileged over {@code domid} alone. */
  public static Privilege over(int domid) {
    return new Privilege(false, domid);
  }

  /** XSM_TARGET: {@code self} acting on {@code domid}. */
  public boolean mayActOn(int self, int domid) {
    return domid == self || mayServe(domid);
  }

  /** XSM_DM_PRIV: a device model or backend acting for {@code domid}. */
  public boolean mayServe(int domid) {
    return domid == target || control;
  }

  /** XSM_PRIV: only the control domain. */
  public boolean isControl() {
    return control;
  }

  /** For messages: "the control domain", "privileged over domain 3", "unprivileged". */
  public String describe() {
    if (control) {
      return "the control domain";
    }
    return target == NO_TARGET ? "unprivileged" : "privileged over domain " + target;
  }
}
