package org.hospes.dom0.toolstack;

import java.io.OutputStream;
import org.hospes.abi.PvMmuAbi;
import org.hospes.dom0.backend.console.ConsoleBackend;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.PvBootLayout;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.BootTarget;
import org.hospes.dom0.boot.loader.BootedKernel;
import org.hospes.dom0.boot.loader.PvKernelLoader;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.hypercall.HypercallPage;

/**
 * Builds classic PV32 domains the way Xen's domain builder (libxenguest xc_dom_*) does for a
 * PAE guest: the kernel at its virtual addresses from VIRT_BASE, then ({@link PvBootLayout}) the
 * module, the P2M list, start_info, the xenstore and console rings, the initial page tables
 * (mapping themselves read-only) and the boot stack; the hypercall page if the kernel names
 * one; the rings' event channels and xenstore entries as for PVH. The L3 is pinned and becomes
 * the base pointer, and the vCPU starts in ring 1 at ENTRY with ESI = start_info's virtual
 * address.
 *
 * <p>xenstore: {@code console/ring-ref} and {@code store/ring-ref} hold the rings' machine
 * frames, as libxl writes them for a PV guest; dom0's backends map them by pseudo-physical
 * frame through the domain's P2M, which the builder fills and the guest cannot change.
 */
public final class PvDomainBuilder {
  /** What was built. */
  public record Built(Domain domain, BootedKernel kernel, PvBootLayout layout, long storePfn,
      int storePort, long consolePfn, int consolePort, ConsoleBackend console) {}

  private final Hypervisor hv;
  private final XenstoreService xenstore;

  public PvDomainBuilder(Hypervisor hv, XenstoreService xenstore) {
    this.hv = hv;
    this.xenstore = xenstore;
  }

  /** Creates a PV domain, builds it and lets it run. */
  public Built build(String name, int ramMiB, byte[] image, BootRequest request,
      OutputStream console) throws BootException {
    Domain d = hv.createPvDomain(name, ramMiB);
    d.setConsole(console);
    try {
      Built b = load(d, image, request, console);
      hv.unpause(d);
      return b;
    } catch (BootException | RuntimeException e) {
      hv.destroy(d, "build failed");
      throw e;
    }
  }

  /** Loads and starts the kernel of a created (paused) PV domain; leaves it paused. */
  public Built load(Domain d, byte[] image, BootRequest request, OutputStream console)
      throws BootException {
    if (d.mode() != DomainMode.PV || d.pv() == null) {
      throw new IllegalArgumentException("domain " + d.name() + " is not a PV domain");
    }
    int nrPages = d.p2m().size();
    long ram = (long) nrPages << 12;
    PvKernelLoader.Image k = PvKernelLoader.parse(image);
    BootedKernel booted = new PvKernelLoader().load(image, request, new BootTarget(BootMode.PV,
        d.memory(), ram, d.vcpus().get(0).cpu()));
    long virtBase = k.notes().virtBase();
    byte[] module = request.modules().isEmpty() ? new byte[0]
        : request.modules().get(0).data();
    PvBootLayout layout = PvBootLayout.plan(virtBase, k.virtEnd(), module.length, nrPages);
    if (module.length > 0) {
      d.memory().write(layout.pfnOf(layout.moduleVa()) << 12, module, 0, module.length);
    }
    if (k.notes().hypercallPage() != -1) {
      byte[] page = HypercallPage.pvContents();
      d.memory().write(layout.pfnOf(k.notes().hypercallPage()) << 12, page, 0, page.length);
    }
    DomainControl ctl = hv.control();
    int domid = d.domid();
    int storePort = ctl.allocUnboundFor(domid, DomainControl.DOM0);
    int consolePort = ctl.allocUnboundFor(domid, DomainControl.DOM0);
    if (storePort < 0 || consolePort < 0) {
      throw new IllegalStateException("cannot allocate event channels for domain " + domid);
    }
    long l3 = layout.writeTables(d.memory(), pfn -> d.p2m().lookup(pfn), nrPages);
    layout.writeStartInfo(d.memory(), pfn -> d.p2m().lookup(pfn), nrPages,
        d.sharedInfoMfn() << 12, storePort, consolePort, module.length,
        request.cmdline() == null ? "" : request.cmdline());
    // xc_dom_boot: the toolstack pins the L3 (validating the whole tree), then the vCPU's CR3.
    int rc = d.pv().mmu().extOp(PvMmuAbi.MMUEXT_PIN_L3_TABLE, (int) l3, 0);
    if (rc == 0) {
      rc = d.pv().boot(l3, (int) k.notes().entry(), (int) (layout.stackVa() + 4096),
          (int) layout.startInfoVa());
    }
    if (rc != 0) {
      throw BootException.format("PV domain builder: the initial page tables were refused (%d)",
          rc);
    }
    long storePfn = layout.pfnOf(layout.storeVa());
    long consolePfn = layout.pfnOf(layout.consoleVa());
    ConsoleBackend cons = ConsoleBackend.connect(ctl, domid, consolePfn, consolePort, console,
        hv.costModel());
    String dom = "/local/domain/" + domid;
    xenstore.write(dom + "/name", d.name());
    xenstore.write(dom + "/domid", Integer.toString(domid));
    xenstore.write(dom + "/console/ring-ref", Long.toString(d.p2m().lookup(consolePfn)));
    xenstore.write(dom + "/console/port", Integer.toString(consolePort));
    xenstore.write(dom + "/console/type", "xenconsoled");
    xenstore.write(dom + "/console/limit", "1048576");
    xenstore.write(dom + "/store/ring-ref", Long.toString(d.p2m().lookup(storePfn)));
    xenstore.write(dom + "/store/port", Integer.toString(storePort));
    xenstore.setPerms(dom, "n" + domid);
    String ro = "r" + domid;
    for (String p : new String[] {"name", "domid", "console", "console/ring-ref",
        "console/port", "console/type", "console/limit", "store", "store/ring-ref",
        "store/port"}) {
      xenstore.setPerms(dom + "/" + p, "n0", ro);
    }
    xenstore.introduce(domid, storePfn, storePort);
    return new Built(d, booted, layout, storePfn, storePort, consolePfn, consolePort, cons);
  }
}
