package org.hospes.dom0.toolstack;

import java.io.OutputStream;
import org.hospes.abi.HvmOp;
import org.hospes.dom0.backend.console.ConsoleBackend;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.BootTarget;
import org.hospes.dom0.boot.loader.BootedKernel;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.boot.loader.PvhKernelLoader;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;

/**
 * Builds PVH domains (and HVM domains booting a Xen-aware kernel with the pvh loader) the way
 * Xen's toolstack does, through dom0's privileged interface:
 * memory, the kernel and its hvm_start_info, then the xenstore and console pages with their
 * event channels, the HVM parameters that advertise them, the domain's xenstore entries and the
 * INTRODUCE that connects it to xenstored.
 *
 * <p>Special pages: Xen puts them at fixed PFNs below 4 GiB (xenstore 0xfeffc, console 0xfefff)
 * outside RAM. Hospes domains are small, so the builder takes the top two frames of the
 * domain's RAM instead — {@code pages-2} for xenstore and {@code pages-1} for the console — and
 * leaves them out of the e820 map in hvm_start_info, so the guest never uses them as RAM. Guests
 * find them, as on Xen, only through HVM_PARAM_STORE_PFN / HVM_PARAM_CONSOLE_PFN.
 *
 * <p>xenstore entries, with permissions: {@code /local/domain/N} owned by N (others none);
 * {@code name}, {@code domid}, {@code console/{ring-ref,port,type,limit}} owned by dom0 and
 * readable by N.
 */
public final class PvhDomainBuilder {
  /** Frames kept at the top of RAM for the special pages. */
  public static final int SPECIAL_PAGES = 2;

  /** What was built. */
  public record Built(Domain domain, BootedKernel kernel, long storeGfn, int storePort,
      long consoleGfn, int consolePort, ConsoleBackend console) {}

  private final Hypervisor hv;
  private final XenstoreService xenstore;

  public PvhDomainBuilder(Hypervisor hv, XenstoreService xenstore) {
    this.hv = hv;
    this.xenstore = xenstore;
  }

  /**
   * Creates a paused domain, loads {@code image}, sets up its PV services and unpauses it. When
   * the kernel cannot be loaded (not an ELF, no PVH entry, segments outside RAM) or the
   * services cannot be set up, the domain is destroyed, so its memory goes back to the machine,
   * and the error is thrown.
   */
  public Built build(String name, int ramMiB, byte[] image, String cmdline,
      OutputStream console) throws BootException {
    Domain d = hv.createHvmDomain(name, DomainMode.PVH, ramMiB);
    try {
      d.setConsole(console);
      Built b = load(d, image, cmdline, console);
      hv.unpause(d);
      return b;
    } catch (BootException | RuntimeException e) {
      hv.destroy(d, "build failed: " + e.getMessage());
      throw e;
    }
  }

  /** RAM the guest may use (the special pages are above it). */
  public static long usableRam(Domain d) {
    return ((long) d.p2m().size() - SPECIAL_PAGES) << 12;
  }

  /** Loads a created domain's kernel and sets up its PV services; leaves it paused. */
  public Built load(Domain d, byte[] image, String cmdline, OutputStream console)
      throws BootException {
    return load(d, image, cmdline, java.util.List.of(), console);
  }

  /** As {@link #load(Domain, byte[], String, OutputStream)}, with boot modules. */
  public Built load(Domain d, byte[] image, String cmdline,
      java.util.List<org.hospes.dom0.boot.BootModule> modules, OutputStream console)
      throws BootException {
    return load(d, new PvhKernelLoader(), image, new BootRequest(cmdline, modules), console);
  }

  /**
   * Loads a Xen-aware kernel with {@code loader} (one that {@link KernelLoader#wantsPvServices
   * wants PV services}) into a created domain of any HVM mode, below its special pages, and
   * sets up its PV services; leaves it paused. On Xen an HVM guest gets the same pages, params
   * and xenstore entries.
   */
  public Built load(Domain d, KernelLoader loader, byte[] image, BootRequest request,
      OutputStream console) throws BootException {
    return load(d, loader, image, request, console, 0);
  }

  /**
   * As above, the kernel told that the domain's ACPI tables are at {@code rsdp} (0 for none):
   * a PVHVM domain has an HVM PC's tables, as hvmloader writes them on Xen.
   */
  public Built load(Domain d, KernelLoader loader, byte[] image, BootRequest request,
      OutputStream console, long rsdp) throws BootException {
    BootedKernel k = loader.load(image, request, new BootTarget(BootMode.of(d.mode()),
        d.memory(), usableRam(d), d.vcpus().get(0).cpu(), rsdp));
    if (d.vcpus().size() > 1 && loader instanceof PvhKernelLoader) {
      // The MADT lists one local APIC per vCPU (libxl builds a PVH guest's tables so), so
      // that the kernel brings the others up by INIT-SIPI-SIPI.
      org.hospes.dom0.boot.AcpiTables.Image acpi = org.hospes.dom0.boot.AcpiTables.build(
          org.hospes.dom0.boot.PvhLoader.ACPI_BASE, d.vcpus().size());
      d.memory().write(org.hospes.dom0.boot.PvhLoader.ACPI_BASE, acpi.bytes(), 0,
          acpi.bytes().length);
    }
    return attach(d, k, console);
  }

  private Built attach(Domain d, BootedKernel k, OutputStream console) {
    DomainControl ctl = hv.control();
    int domid = d.domid();
    long pages = d.p2m().size();
    long storeGfn = pages - 2;
    long consoleGfn = pages - 1;
    int storePort = ctl.allocUnboundFor(domid, DomainControl.DOM0);
    int consolePort = ctl.allocUnboundFor(domid, DomainControl.DOM0);
    if (storePort < 0 || consolePort < 0) {
      throw new IllegalStateException("cannot allocate event channels for domain " + domid);
    }
    ctl.setHvmParam(domid, HvmOp.PARAM_STORE_PFN, storeGfn);
    ctl.setHvmParam(domid, HvmOp.PARAM_STORE_EVTCHN, storePort);
    ctl.setHvmParam(domid, HvmOp.PARAM_CONSOLE_PFN, consoleGfn);
    ctl.setHvmParam(domid, HvmOp.PARAM_CONSOLE_EVTCHN, consolePort);
    ConsoleBackend cons = ConsoleBackend.connect(ctl, domid, consoleGfn, consolePort, console,
        hv.costModel());
    String dom = "/local/domain/" + domid;
    xenstore.write(dom + "/name", d.name());
    xenstore.write(dom + "/domid", Integer.toString(domid));
    xenstore.write(dom + "/console/ring-ref", Long.toString(consoleGfn));
    xenstore.write(dom + "/console/port", Integer.toString(consolePort));
    xenstore.write(dom + "/console/type", "ioemu");
    xenstore.write(dom + "/console/limit", "1048576");
    xenstore.write(dom + "/store/ring-ref", Long.toString(storeGfn));
    xenstore.write(dom + "/store/port", Integer.toString(storePort));
    xenstore.setPerms(dom, "n" + domid);
    String ro = "r" + domid;
    for (String p : new String[] {"name", "domid", "console", "console/ring-ref",
        "console/port", "console/type", "console/limit", "store", "store/ring-ref",
        "store/port"}) {
      xenstore.setPerms(dom + "/" + p, "n0", ro);
    }
    xenstore.introduce(domid, storeGfn, storePort);
    return new Built(d, k, storeGfn, storePort, consoleGfn, consolePort, cons);
  }
}
