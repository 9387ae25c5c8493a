package org.hospes.dom0.toolstack;

import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.BootTarget;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.boot.loader.KernelLoaders;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.PlatformInterrupts;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.HypervisorFactory;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.memory.MachineMemoryLimit;
import org.hospes.hv.sched.Scheduler;
import org.hospes.x86.Cpu;

/**
 * dom0's toolstack for a whole host: one hypervisor running any number of domains. The kernel
 * is loaded by the spec's loader, or the one {@link KernelLoaders#choose} picks for its mode and
 * image. An HVM domain is served by its own device model (COM1 and isa-debug-exit through
 * ioreqs); a PVH domain has none. A Xen-aware kernel (the pvh loader's) gets dom0's xenstore
 * and a PV console in either ({@link PvhDomainBuilder}; both that console and console_io are its
 * console). Consoles go to one shared stream, line by line,
 * each line prefixed with the domain's name. Domains can be started at any virtual time (also
 * after others ended and were {@link #forget forgotten}, on the frames they gave back) and
 * destroyed at a chosen virtual time.
 *
 * <p>The run loop makes one scheduling decision at a time ({@link Hypervisor#step}) with a
 * budget that ends at the next toolstack event (a destroy request, the time limit), so
 * destroys happen at the virtual time asked, give or take one exit's cost.
 */
public final class HostRunner {
  /** Machine memory beyond the domains' RAM: the hypervisor's first MiB, EPT tables, slack. */
  private static final int OVERHEAD_MIB = 16;
  private static final int PER_DOMAIN_OVERHEAD_MIB = 1;

  /**
   * The most machine memory a host can have here: the JVM's heap, or the
   * {@link MachineMemoryLimit#PROPERTY} setting (memory is backed on first touch).
   */
  public static int maxMachineMiB() {
    return MachineMemoryLimit.maxMiB();
  }

  private final Hypervisor hv;
  private final OutputStream console;
  private final Map<String, GuestDomain> guests = new LinkedHashMap<>();
  /** Pending destroy requests: virtual time to domain names. */
  private final TreeMap<Long, List<String>> destroys = new TreeMap<>();
  private long instructionLimit = Long.MAX_VALUE;
  /** The hypervisor's console: PVH domains' console_io lines (stderr unless set). */
  private OutputStream hypervisorLog = System.err;

  public HostRunner(int machineMiB, Scheduler scheduler, CostModel cost, OutputStream console) {
    this(new Hypervisor(machineMiB, scheduler, cost), console);
  }

  /** A toolstack for an empty hypervisor. */
  public HostRunner(Hypervisor hv, OutputStream console) {
    this.hv = hv;
    this.console = console;
    hv.control().onDomainDeath(this::domainDied);
  }

  /**
   * Driver domains whose devices changed (one was removed, or the domain died): each is
   * destroyed by {@link #reapDriverDomains} once none of its devices is left.
   */
  private final java.util.Set<Integer> driverDomainsToCheck = new java.util.TreeSet<>();
  /** The driver domains the toolstack made, by domid, until it destroyed them. */
  private final Map<Integer, Domain> driverDomains = new java.util.HashMap<>();

  /**
   * dom0 is told of every domain's death. A driver domain that died under its devices leaves
   * their frontends with a backend that is Closed ({@link
   * org.hospes.dom0.backend.XenbusBackend#backendDomainDied}); a guest whose disks such a dead
   * backend served has them removed here, since no backend is left to see the guest go.
   */
  private void domainDied(int domid) {
    for (org.hospes.dom0.backend.blk.VbdBackend be : new ArrayList<>(vbds.values())) {
      if (be.removed()) {
        continue;
      }
      if (be.backendDomid() == domid) {
        be.backendDomainDied();
        driverDomainsToCheck.add(domid);
      } else if (be.domid() == domid && be.orphaned()) {
        be.forceRemove();
      }
    }
  }

  /** Starts the toolstack's bookkeeping of a vbd: a driver domain is checked when it goes. */
  private org.hospes.dom0.backend.blk.VbdBackend track(long key,
      org.hospes.dom0.backend.blk.VbdBackend be) {
    vbds.put(key, be);
    // A removed vbd (block-detach, or its guest's death) serves nothing and is never looked up
    // again: it leaves the table, or a host daemon kept every destroyed guest's backends.
    // (Nothing iterates the table itself while a backend is removed: the death handler and
    // reap work on copies or only read.)
    be.onRemoved(() -> vbds.remove(key, be));
    if (be.backendDomid() != org.hospes.hv.control.DomainControl.DOM0) {
      int dd = be.backendDomid();
      driverDomains.put(dd, hv.domain(dd));
      be.onRemoved(() -> driverDomainsToCheck.add(dd));
    }
    return be;
  }

  /**
   * Destroys the driver domains that serve nothing any more, and says which (for the log).
   * The toolstack made each of them for one guest's disks ({@code backend=NAME}), so it is the
   * toolstack's to end: when its last device was removed (block-detach, or its guest ended,
   * whose devices go with it), it is destroyed as xl destroys a domain: its memory is freed,
   * it leaves the hypervisor's lists and its {@code /local/domain/N} tree is removed. A later
   * {@code backend=NAME} makes a new one. Cheap when nothing changed (after every decision).
   */
  public List<String> reapDriverDomains() {
    reap();
    if (reaped.isEmpty()) {
      return List.of();
    }
    List<String> gone = new ArrayList<>(reaped.size() + 1);
    if (reapedDropped > 0) {
      gone.add(reapedDropped + " earlier driver-domain message" + (reapedDropped == 1 ? " was"
          : "s were") + " dropped: none asked for them");
    }
    gone.addAll(reaped);
    reaped.clear();
    reapedDropped = 0;
    return List.copyOf(gone);
  }

  /**
   * What {@link #reap} did and {@link #reapDriverDomains} did not return yet: the newest
   * {@link #MAX_UNREAD_REAPED}. Only the host daemon asks for them (after every decision);
   * run-many and the library's other users never do, and a long run that attached and
   * detached disks through driver domains kept every line.
   */
  private final java.util.ArrayDeque<String> reaped = new java.util.ArrayDeque<>();
  /** The lines left out of {@link #reaped} since it was last read. */
  private long reapedDropped;
  /** How many unread lines are kept: far more than one decision can destroy. */
  static final int MAX_UNREAD_REAPED = 64;

  /** {@link #reapDriverDomains}' work; the toolstack's own verbs call it after a change. */
  private void reap() {
    if (driverDomainsToCheck.isEmpty()) {
      return;
    }
    java.util.ArrayDeque<String> gone = reaped;
    // A copy: a destroy tells dom0 of the death, whose bookkeeping may add to the set.
    for (int dd : new ArrayList<>(driverDomainsToCheck)) {
      boolean serving = false;
      for (org.hospes.dom0.backend.blk.VbdBackend be : vbds.values()) {
        serving |= be.backendDomid() == dd && !be.removed();
      }
      if (serving) {
        continue;
      }
      driverDomainsToCheck.remove(dd);
      Domain d = driverDomains.remove(dd);
      if (d == null) {
        continue;
      }
      // One that died under its devices is out of the hypervisor's lists already (or leaves
      // them now); its nodes stayed for the frontends to see their backend Closed.
      boolean died = d.state().isFinal();
      hv.destroy(d, "driver domain: its last device was removed");
      if (xenstore != null) {
        xenstore.request(org.hospes.dom0.xenstore.XsWire.RM, "/local/domain/" + dd + "\0");
      }
      if (gone.size() == MAX_UNREAD_REAPED) {
        gone.removeFirst();
        reapedDropped++;
      }
      gone.add("driver domain " + dd + " (" + d.name() + ") "
          + (died ? "ended (" + d.endReason() + ") and its last device was removed"
              : "destroyed: its last device was removed"));
    }
  }

  /**
   * The devices the driver domain named or numbered {@code name} serves now (none if there is
   * no such driver domain): the host daemon's destroy refuses one that still serves.
   */
  public List<org.hospes.dom0.backend.blk.VbdBackend> servedBy(String name) {
    List<org.hospes.dom0.backend.blk.VbdBackend> out = new ArrayList<>();
    for (org.hospes.dom0.backend.blk.VbdBackend be : vbds.values()) {
      Domain d = hv.domain(be.backendDomid());
      if (!be.removed() && be.backendDomid() != 0 && d != null
          && (d.name().equals(name) || Integer.toString(d.domid()).equals(name))) {
        out.add(be);
      }
    }
    return out;
  }

  /** A host with the default scheduler (credit) and cost model. */
  public static HostRunner create(int machineMiB, OutputStream console) {
    return create(machineMiB, HypervisorFactory.DEFAULT_SCHEDULER,
        HypervisorFactory.DEFAULT_COST_MODEL, console);
  }

  /**
   * A host with the scheduler and cost model of those names, built in or from a plugin on the
   * class path; IllegalArgumentException listing the known names when one is unknown.
   */
  public static HostRunner create(int machineMiB, String schedulerName, String costModelName,
      OutputStream console) {
    return new HostRunner(HvmMachine.factory().hypervisor(schedulerName, costModelName,
        machineMiB), console);
  }

  /** Machine memory that holds all of {@code specs} at once. */
  public static int machineMiBFor(List<DomainSpec> specs) {
    long mib = OVERHEAD_MIB;
    for (DomainSpec s : specs) {
      // EPT or shadow tables and the boot information: about 1/32 of the RAM at most.
      mib += s.ramMiB() + PER_DOMAIN_OVERHEAD_MIB + s.ramMiB() / 32;
    }
    return (int) Math.max(64, Math.min(mib, Integer.MAX_VALUE));
  }

  public Hypervisor hypervisor() {
    return hv;
  }

  /** Where the hypervisor's console (PVH domains' console_io output) goes; stderr by default. */
  public void setHypervisorLog(OutputStream log) {
    this.hypervisorLog = log;
  }

  /** The domains started so far, in start order. */
  public List<GuestDomain> guests() {
    return Collections.unmodifiableList(new ArrayList<>(guests.values()));
  }

  /** dom0's xenstored, once a PVH domain was started; else null. */
  public org.hospes.dom0.xenstore.XenstoreService xenstore() {
    return xenstore;
  }

  private org.hospes.dom0.xenstore.XenstoreService xenstore;
  private GuestNetworks networks;

  /** dom0's virtual networks for the guests' vifs (made on first use). */
  public GuestNetworks networks() {
    if (networks == null) {
      networks = new GuestNetworks(hv);
    }
    return networks;
  }

  /** dom0's xenstored, started now if no domain needed it yet (xenstore-ls on a new host). */
  public org.hospes.dom0.xenstore.XenstoreService xenstoreService() {
    if (xenstore == null) {
      xenstore = new org.hospes.dom0.xenstore.XenstoreService(hv.control(), hv.costModel());
    }
    return xenstore;
  }

  public GuestDomain guest(String name) {
    return guests.get(name);
  }

  /** Destroys any domain that has retired more than {@code n} instructions. */
  public void setInstructionLimit(long n) {
    if (n <= 0) {
      throw new IllegalArgumentException("instruction limit must be positive");
    }
    instructionLimit = n;
  }

  /** Destroys domain {@code name} when virtual time reaches {@code cycles}. */
  public void destroyAt(String name, long cycles) {
    destroys.computeIfAbsent(Math.max(cycles, 0), k -> new ArrayList<>()).add(name);
  }

  /** Reads the spec's kernel and boot modules and starts it. */
  public GuestDomain start(DomainSpec spec) throws BootException {
    byte[] image = KernelFiles.read(spec.kernel());
    return start(spec, image, new BootRequest(spec.cmdline(),
        KernelFiles.readModules(spec.modules())));
  }

  /**
   * Where each domain's console also goes, unprefixed and at once (the toolstack daemon's
   * attachable consoles), by domain name; null for none. When set, consoles keep no history of
   * their own.
   */
  public void setConsoleTaps(java.util.function.Function<String, OutputStream> taps) {
    this.consoleTaps = taps;
  }

  private java.util.function.Function<String, OutputStream> consoleTaps;

  /** Forgets an ended domain, so its name can be used again (xl's list no longer shows it). */
  public void forget(String name) {
    GuestDomain g = guests.get(name);
    if (g != null && !g.isLive()) {
      g.console().close();
      guests.remove(name);
      // As libxl destroys a domain that shut down or crashed: it leaves the hypervisor's
      // lists (one already destroyed is gone, or stays dying while grant-mapped).
      hv.destroy(g.domain(), "released by the toolstack");
      // What its device model held goes with it too (destroy's path does the same): the
      // images it had open, locks and all, and its cards' ports and addresses on their
      // networks. A host daemon forgets every domain that shuts down; a run-many run lets go
      // of them all only when it ends.
      releaseDeviceImages(g);
      if (networks != null) {
        networks.forget(g.domain().domid());
      }
      // libxl__destroy_domid removes its xenstore nodes, whatever kind of guest it was.
      removeDomainNodes(g.domain().domid());
      reap();
    }
  }

  /**
   * Builds a domain for {@code spec}, loads the kernel image into its memory, gives an HVM
   * domain its device model and lets it run.
   *
   * @throws IllegalArgumentException when the name is taken
   * @throws IllegalStateException when machine memory runs out
   */
  public GuestDomain start(DomainSpec spec, byte[] image) throws BootException {
    return start(spec, image, BootRequest.of(spec.cmdline()));
  }

  /**
   * As {@link #start(DomainSpec, byte[])}, with boot modules for a Xen-aware kernel (listed in
   * its start info in order; the first is what Linux takes as its initrd).
   */
  public GuestDomain start(DomainSpec spec, byte[] image,
      java.util.List<org.hospes.dom0.boot.BootModule> modules) throws BootException {
    return start(spec, image, new BootRequest(spec.cmdline(), modules));
  }

  /** As {@link #start(DomainSpec, byte[])} with boot modules (xl's ramdisk) in the request. */
  public GuestDomain start(DomainSpec spec, byte[] image, BootRequest request)
      throws BootException {
    if (guests.containsKey(spec.name())) {
      throw new IllegalArgumentException("a domain named " + spec.name() + " exists already");
    }
    for (org.hospes.hv.control.DomainControl c : hv.serviceDomains()) {
      // A driver domain a disk's backend= made (or dom0, Domain-0) holds its name as a guest
      // does, as xl keeps names unique among all domains: two domains called one name would
      // make every later backend=NAME, destroy NAME or list ambiguous.
      if (c.domain().name().equals(spec.name())) {
        throw new IllegalArgumentException("a domain named " + spec.name() + " exists already ("
            + (c.domid() == 0 ? "dom0" : "a driver domain, " + c.privilege().describe()) + ")");
      }
    }
    KernelLoader loader = HostPlugins.classPath().kernelLoaders().choose(spec.loader(),
        BootMode.of(spec.mode()), image);
    Domain d = spec.mode() == DomainMode.PV ? hv.createPvDomain(spec.name(), spec.ramMiB())
        : hv.createHvmDomain(spec.name(), spec.mode(), spec.ramMiB(), spec.vcpus());
    // Each image is opened once (an image open for writing is locked), whatever serves it.
    java.util.Map<DiskSpec, org.hospes.dom0.disk.DiskImage> images = new java.util.HashMap<>();
    try {
      hv.setSchedulerParameters(d, spec.weight(), spec.cap());
      if (spec.cpus() != -1L) {
        try {
          hv.setHardAffinity(d, spec.cpus());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("cpus: " + e.getMessage() + " (the host has "
              + hv.pcpuCount() + ")", e);
        }
      }
      LineConsole lines = consoleTaps == null ? new LineConsole(spec.name(), console)
          : new LineConsole(spec.name(), console, consoleTaps.apply(spec.name()), false);
      GuestDomain[] self = new GuestDomain[1];
      HvmDeviceModel dm = null;
      org.hospes.dom0.backend.console.ConsoleBackend pvConsole = null;
      // console_io goes to the hypervisor's log, "(dN) " per line, as on a debug Xen; the PV
      // console of a Xen-aware kernel is written line by line with the serial output.
      d.setConsole(new org.hospes.hv.console.GuestConsoleLog(d.domid(), hypervisorLog));
      if (!spec.mode().pvDevicesOnly()) {
        dm = new HvmDeviceModel(lines,
            PlatformInterrupts.of(hv, d),
            (value, status) -> {
              self[0].debugExit(status);
              hv.shutdown(d, RunResult.DEBUG_EXIT, status);
            }, (long) d.p2m().size() << 12, spec.vcpus());
        hv.control().serveIoreqs(d.domid(), dm);
        PvhvmPlatform.attach(dm, d, line -> xenLog(d, line));
      }
      if (spec.mode() == DomainMode.PV) {
        if (!(loader instanceof org.hospes.dom0.boot.loader.PvKernelLoader)) {
          throw new BootException(spec.name() + ": mode pv boots classic PV kernels (Xen PV"
              + " ELF notes) only");
        }
        pvConsole = new PvDomainBuilder(hv, xenstoreService()).load(d, image, request, lines)
            .console();
        attachPvDevices(spec, d, images);
      } else if (loader.wantsPvServices() || spec.mode().xenPlatformPci()) {
        // dom0 gives it xenstore and a PV console, in a PVH or an HVM domain alike, and to any
        // kernel in a PVHVM domain (Linux finds Xen there by CPUID).
        pvConsole = new PvhDomainBuilder(hv, xenstoreService()).load(d, loader, image, request, lines)
            .console();
        attachPvDevices(spec, d, images);
      } else {
        // libxl makes /local/domain/N, its name and domid for every domain it builds, a
        // guest with no PV drivers too: xenstore-ls and the toolstack see it.
        HvmMachine.writeDomainNodes(xenstoreService(), d.domid(), spec.name());
        long rsdp = HvmMachine.installAcpiTables(hv, d);
        loader.load(image, request, new BootTarget(BootMode.of(spec.mode()), d.memory(),
            (long) d.p2m().size() << 12, d.vcpus().get(0).cpu(), rsdp));
      }
      attachVirtio(spec, d, dm);
      attachE1000(spec, d, dm);
      if (!spec.mode().pvDevicesOnly()) {
        // A boot loader runs after the firmware: the PIC, PIT and local APIC are as SeaBIOS
        // leaves them.
        org.hospes.dom0.boot.BiosLeftState.apply(d.platformPorts());
        org.hospes.dom0.boot.BiosLeftState.applyLocalApic(hv.platform(d).lapic(0));
        java.util.Map<DiskSpec, org.hospes.dom0.disk.DiskImage> ideDisks =
            new java.util.LinkedHashMap<>();
        for (DiskSpec disk : spec.disks()) {
          if (disk.busIn(spec.mode()) == DiskSpec.Bus.IDE) {
            // Emulated only: the image is closed when the domain ends.
            ideDisks.put(disk, deviceImage(d.domid(), open(images, disk)));
          } else if (spec.mode().xenPlatformPci()
              && disk.busIn(spec.mode()) == DiskSpec.Bus.XEN) {
            // A pvhvm vbd offered as an IDE disk too, on the vbd's own open image (its
            // backend closes it).
            ideDisks.put(disk, open(images, disk));
          }
        }
        HvmMachine.attachIdeDisks(hv, dm, d, ideDisks);
        PluginDevices.attach(org.hospes.dom0.plugin.HostPlugins.classPath().devices(),
            hv, dm, d, spec.devices(), line -> xenLog(d, line), "device");
        dm.firmwareSetup(d.platformPorts());
      }
      GuestDomain g = new GuestDomain(spec, d, dm, lines, hv.now());
      if (loader.wantsPvServices() || spec.mode().xenPlatformPci()) {
        g.markXenAware();
      }
      if (pvConsole != null) {
        g.setPvConsole(pvConsole);
      }
      self[0] = g;
      guests.put(spec.name(), g);
      hv.unpause(d);
      return g;
    } catch (BootException | RuntimeException e) {
      hv.destroy(d, "build failed");
      // A disk opened for a device that never came up would keep its image locked in this
      // process (a host daemon's next create of the same disk refused as "in use"): all of
      // them are given back (closing one a backend closed at the death does nothing).
      for (org.hospes.dom0.disk.DiskImage img : images.values()) {
        try {
          img.close();
        } catch (java.io.IOException closing) {
          e.addSuppressed(closing);
        }
      }
      // A virtio disk's image is the device model's own (not in images): closed too.
      for (org.hospes.dom0.disk.DiskImage img : deviceImages.getOrDefault(d.domid(),
          List.of())) {
        try {
          img.close();
        } catch (java.io.IOException closing) {
          e.addSuppressed(closing);
        }
      }
      deviceImages.remove(d.domid());
      vbds.keySet().removeIf(k -> (int) (k >>> 32) == d.domid());
      // Its interfaces' ports and capture files, and what the build wrote in xenstore for it
      // (libxl's destroy removes /local/domain/N and the backend directories of a domain
      // whose creation failed), go too: a later domain given this domid starts clean.
      if (networks != null) {
        networks.release(d.domid());
      }
      removeDomainNodes(d.domid());
      reap(); // one made for this domain's disks serves nothing now
      throw e;
    }
  }

  /**
   * Removes what xenstore holds for domain {@code domid}, as libxl__destroy_domid does: its
   * {@code /local/domain/N} tree and the backend directories for it in every service domain.
   * Nothing happens on a host whose xenstored never started.
   */
  private void removeDomainNodes(int domid) {
    if (xenstore == null) {
      return;
    }
    if (xenstore.store().isIntroduced(domid)) {
      xenstore.release(domid);
    }
    xenstore.request(org.hospes.dom0.xenstore.XsWire.RM, "/local/domain/" + domid + "\0");
    for (org.hospes.hv.control.DomainControl c : hv.serviceDomains()) {
      for (String kind : new String[] {"vbd", "vif"}) {
        xenstore.request(org.hospes.dom0.xenstore.XsWire.RM,
            "/local/domain/" + c.domid() + "/backend/" + kind + "/" + domid + "\0");
      }
    }
  }

  /**
   * Gives up on every domain of this host and what was opened for them (a usage error found
   * once some were built: run-many's second spec names a disk that is missing): each is
   * destroyed, so its machine memory goes back, its disk images and capture files are closed,
   * its xenstore nodes removed, and the networks closed. The host cannot be run after this.
   */
  public void tearDown(String reason) {
    for (GuestDomain g : guests.values()) {
      if (g.isLive()) {
        g.destroyedBy(DomainOutcome.Kind.DESTROYED, reason);
      }
      hv.destroy(g.domain(), reason);
      g.console().close();
      releaseDeviceImages(g);
      removeDomainNodes(g.domain().domid());
    }
    reap();
    if (networks != null) {
      networks.close();
    }
  }

  /** The domain's PV disks (blkback) and PV vifs (netback) in dom0: pvh, pvhvm and pv. */
  private void attachPvDevices(DomainSpec spec, Domain d,
      java.util.Map<DiskSpec, org.hospes.dom0.disk.DiskImage> images) {
    for (DiskSpec disk : spec.disks()) {
      if (disk.busIn(spec.mode()) != DiskSpec.Bus.XEN) {
        continue; // a device of the device model (DomainSpec refuses them in pv)
      }
      track(vbdKey(d.domid(), disk.devid()),
          HvmMachine.attachDisk(hv, xenstore, d.domid(), disk, open(images, disk)));
    }
    for (int i = 0; i < spec.vifs().size(); i++) {
      if (!spec.vifs().get(i).vifIn(spec.mode())) {
        continue; // a device of the device model
      }
      try {
        networks().attach(xenstore, d.domid(), i, spec.vifs().get(i));
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException(e.getMessage());
      }
    }
  }

  /**
   * The domain's bus=virtio disks and model=virtio vifs as virtio PCI devices of its device
   * model (IllegalArgumentException with one line in a mode without one, or when an image or
   * network cannot be opened).
   */
  private void attachVirtio(DomainSpec spec, Domain d, HvmDeviceModel dm) {
    boolean any = spec.disks().stream().anyMatch(DiskSpec::virtio)
        || spec.vifs().stream().anyMatch(VifSpec::virtio);
    if (!any) {
      return;
    }
    if (dm == null) {
      throw new IllegalArgumentException(spec.name() + ": bus=virtio and model=virtio are PCI"
          + " devices of the device model; mode " + spec.mode().cliName() + " has none");
    }
    for (DiskSpec disk : spec.disks()) {
      if (disk.virtio()) {
        try {
          VirtioPciDevices.attachDisk(hv, dm, d.domid(), disk,
              deviceImage(d.domid(), disk.open()));
        } catch (java.io.IOException e) {
          throw new IllegalArgumentException(e.getMessage());
        }
      }
    }
    for (int i = 0; i < spec.vifs().size(); i++) {
      if (spec.vifs().get(i).virtio()) {
        try {
          VirtioPciDevices.attachNic(hv, dm, networks(), d.domid(), i, spec.vifs().get(i));
        } catch (java.io.IOException e) {
          throw new IllegalArgumentException(e.getMessage());
        }
      }
    }
  }

  /** The domain's e1000 cards ({@link VifSpec#e1000In}), on its device model. */
  private void attachE1000(DomainSpec spec, Domain d, HvmDeviceModel dm) {
    for (int i = 0; i < spec.vifs().size(); i++) {
      if (!spec.vifs().get(i).e1000In(spec.mode())) {
        continue;
      }
      if (dm == null) {
        throw new IllegalArgumentException(spec.name() + ": model=e1000 is an emulated card of"
            + " the device model; mode " + spec.mode().cliName() + " has none");
      }
      try {
        E1000Devices.attach(hv, dm, networks(), d.domid(), i, spec.vifs().get(i));
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException(e.getMessage());
      }
    }
  }

  private static org.hospes.dom0.disk.DiskImage open(
      java.util.Map<DiskSpec, org.hospes.dom0.disk.DiskImage> images, DiskSpec disk) {
    org.hospes.dom0.disk.DiskImage img = images.get(disk);
    if (img == null) {
      try {
        img = disk.open();
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException(e.getMessage());
      }
      images.put(disk, img);
    }
    return img;
  }

  /** A device-model log line (unplug requests, PV driver messages) on the hypervisor's log. */
  private void xenLog(Domain d, String line) {
    xenLog(d.domid(), line);
  }

  private void xenLog(int domid, String line) {
    try {
      hypervisorLog.write(("(dm" + domid + ") " + line + "\n")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      hypervisorLog.flush();
    } catch (java.io.IOException e) {
      // The log is for people; losing a line must not stop the guest.
    }
  }

  /**
   * The images of each domain's device-model disks (IDE, virtio), by domid: closed, and their
   * write locks released, when the domain ends, so that a later domain can open them.
   * (A vbd's image is closed by its backend when the frontend goes.)
   */
  private final Map<Integer, List<org.hospes.dom0.disk.DiskImage>> deviceImages =
      new java.util.HashMap<>();

  private org.hospes.dom0.disk.DiskImage deviceImage(int domid,
      org.hospes.dom0.disk.DiskImage image) {
    deviceImages.computeIfAbsent(domid, k -> new java.util.ArrayList<>()).add(image);
    return image;
  }

  /**
   * Closes the domain's device-model disk images (once; an error is logged, not thrown) and
   * takes its interfaces off their networks, closing the capture files only it wrote.
   */
  private void releaseDeviceImages(GuestDomain g) {
    if (networks != null) {
      networks.release(g.domain().domid());
    }
    List<org.hospes.dom0.disk.DiskImage> images = deviceImages.remove(g.domain().domid());
    if (images == null) {
      return;
    }
    for (org.hospes.dom0.disk.DiskImage image : images) {
      try {
        image.close();
      } catch (java.io.IOException e) {
        xenLog(g.domain(), "closing a disk image: " + e.getMessage());
      }
    }
  }

  /** Live vbds by {@link #vbdKey}: the backends the toolstack started. */
  private final Map<Long, org.hospes.dom0.backend.blk.VbdBackend> vbds = new LinkedHashMap<>();

  /** How many vbds the toolstack tracks, removed ones included (for the tests). */
  int trackedVbds() {
    return vbds.size();
  }

  private static long vbdKey(int domid, int devid) {
    return (long) domid << 32 | devid;
  }

  /**
   * xl block-attach: gives running domain {@code domid} the disk {@code spec} (in dom0, or in the
   * driver domain its {@code backend=} names): its nodes are written, its backend waits in
   * InitWait for the frontend. IllegalArgumentException with one line if the vdev is in use or
   * the image cannot be opened.
   */
  public org.hospes.dom0.backend.blk.VbdBackend blockAttach(int domid, DiskSpec spec) {
    // A driver domain whose last device went is gone before a new one of its name is made.
    reap();
    org.hospes.dom0.backend.blk.VbdBackend old = vbds.get(vbdKey(domid, spec.devid()));
    if (old != null && !old.removed()) {
      throw new IllegalArgumentException("domain " + domid + " already has " + spec.vdev());
    }
    org.hospes.dom0.disk.DiskImage img;
    try {
      img = spec.open();
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException(e.getMessage());
    }
    org.hospes.dom0.backend.blk.VbdBackend be;
    try {
      be = HvmMachine.attachDisk(hv, xenstoreService(), domid, spec, img);
    } catch (RuntimeException e) {
      try {
        img.close();
      } catch (java.io.IOException closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
    return track(vbdKey(domid, spec.devid()), be);
  }

  /**
   * xl block-detach: asks the backend of {@code vdev} to close (online = 0, Closing); the
   * device is removed once the frontend reached Closed, at once if no frontend uses it. Returns the backend so the caller can
   * see it go ({@link org.hospes.dom0.backend.blk.VbdBackend#removed}).
   */
  public org.hospes.dom0.backend.blk.VbdBackend blockDetach(int domid, String vdev) {
    // xl block-detach takes the device's number too (libxl reads a plain number as the devid,
    // as 'xl block-list' shows it): 51712 is xvda.
    int devid = vdev.matches("[0-9]{1,9}") ? Integer.parseInt(vdev)
        : org.hospes.abi.Blkif.devidOf(vdev);
    org.hospes.dom0.backend.blk.VbdBackend be = vbds.get(vbdKey(domid, devid));
    if (devid < 0 || be == null || be.removed()) {
      throw new IllegalArgumentException("domain " + domid + " has no disk " + vdev);
    }
    be.unplug();
    org.hospes.abi.XenbusState fe = be.frontendState();
    if (fe == org.hospes.abi.XenbusState.INITIALISING || fe == org.hospes.abi.XenbusState.CLOSED
        || fe == org.hospes.abi.XenbusState.UNKNOWN) {
      // No frontend uses the device (none ever connected, or it closed): nothing to wait for.
      be.forceRemove();
      reap();
    }
    return be;
  }

  /** The domain's disks that are attached now (not yet removed), by devid order of attach. */
  public List<org.hospes.dom0.backend.blk.VbdBackend> blockBackends(int domid) {
    List<org.hospes.dom0.backend.blk.VbdBackend> out = new java.util.ArrayList<>();
    for (org.hospes.dom0.backend.blk.VbdBackend be : vbds.values()) {
      if (be.domid() == domid && !be.removed()) {
        out.add(be);
      }
    }
    return out;
  }

  /** Destroys a domain now (xl destroy). */
  public void destroy(String name, String reason) {
    GuestDomain g = guests.get(name);
    if (g != null && g.isLive()) {
      g.destroyedBy(DomainOutcome.Kind.DESTROYED, reason);
      hv.destroy(g.domain(), reason);
      g.console().close();
      releaseDeviceImages(g);
      reap();
    }
  }

  /** Runs until every domain has ended or {@code maxCycles} of virtual time have passed. */
  public void run(long maxCycles) {
    runUntil(maxCycles, () -> false);
  }

  /**
   * Runs until {@code stop} says so (checked after every scheduling decision), every domain
   * has ended, or {@code maxCycles} of virtual time have passed. Returns true if {@code stop}
   * ended it.
   */
  public boolean runUntil(long maxCycles, BooleanSupplier stop) {
    long end = maxCycles >= Long.MAX_VALUE - hv.now() ? Long.MAX_VALUE : hv.now() + maxCycles;
    try {
      while (true) {
        handleDestroys();
        enforceInstructionLimit();
        reap();
        if (stop.getAsBoolean()) {
          return true;
        }
        if (!anyLive() || hv.now() >= end) {
          return false;
        }
        long budget = end - hv.now();
        Map.Entry<Long, List<String>> next = destroys.firstEntry();
        if (next != null) {
          budget = Math.min(budget, Math.max(next.getKey() - hv.now(), 1));
        }
        budget = Math.min(budget, instructionsLeft());
        if (networks != null) {
          // Host-side network work (the NAT gateway's sockets and timers) between slices.
          networks.networks().poll();
        }
        if (!hv.step(budget)) {
          haltBlocked();
          if (anyLive()) {
            return false; // paused domains only: nothing will ever run
          }
        }
      }
    } finally {
      for (GuestDomain g : guests.values()) {
        if (!g.isLive()) {
          g.console().close();
          releaseDeviceImages(g);
        }
      }
    }
  }

  /** Ends the run: domains still alive keep their state, partial console lines are shown. */
  public void finish() {
    // The vbds of domains still alive (the run stopped, or reached its limit) close their
    // images: flushed to stable storage, as QEMU does on exit, and their locks released.
    for (org.hospes.dom0.backend.blk.VbdBackend be : new ArrayList<>(vbds.values())) {
      try {
        be.closeImage();
      } catch (java.io.IOException e) {
        xenLog(be.domid(), "closing a disk image: " + e.getMessage());
      }
    }
    for (GuestDomain g : guests.values()) {
      g.console().close();
      releaseDeviceImages(g);
      try {
        g.domain().console().close();
      } catch (java.io.IOException e) {
        // The hypervisor log is stderr or a file the CLI reports on.
      }
    }
  }

  private boolean anyLive() {
    for (GuestDomain g : guests.values()) {
      if (g.isLive()) {
        return true;
      }
    }
    return false;
  }

  private void handleDestroys() {
    while (!destroys.isEmpty() && destroys.firstKey() <= hv.now()) {
      Map.Entry<Long, List<String>> e = destroys.pollFirstEntry();
      for (String name : e.getValue()) {
        destroy(name, String.format(Locale.ROOT, "destroyed on request at %,d cycles",
            e.getKey()));
      }
    }
  }

  private void enforceInstructionLimit() {
    if (instructionLimit == Long.MAX_VALUE) {
      return;
    }
    for (GuestDomain g : guests.values()) {
      if (g.isLive() && g.instructions() >= instructionLimit) {
        Cpu cpu = g.domain().vcpus().get(0).cpu();
        String reason = String.format(Locale.ROOT, "instruction limit of %d reached at"
            + " eip=0x%08x", instructionLimit, cpu.eip());
        g.destroyedBy(DomainOutcome.Kind.INSTRUCTION_LIMIT, reason);
        hv.destroy(g.domain(), reason);
        g.console().close();
        releaseDeviceImages(g);
      }
    }
  }

  /**
   * The fewest instructions any live domain may still execute: a bound on the next step's
   * budget, since every instruction costs at least one cycle. Long.MAX_VALUE without a limit.
   */
  private long instructionsLeft() {
    if (instructionLimit == Long.MAX_VALUE) {
      return Long.MAX_VALUE;
    }
    long left = Long.MAX_VALUE;
    for (GuestDomain g : guests.values()) {
      if (g.isLive()) {
        left = Math.min(left, instructionLimit - g.instructions());
      }
    }
    return Math.max(left, 1);
  }

  /** Nothing can run and no timer is due: blocked vCPUs can never wake. The domains halted. */
  private void haltBlocked() {
    for (GuestDomain g : guests.values()) {
      Domain d = g.domain();
      if (d.state() == DomainState.RUNNING) {
        boolean blocked = true;
        for (Vcpu v : d.vcpus()) {
          blocked &= v.state() == VcpuState.BLOCKED || v.state() == VcpuState.OFFLINE;
        }
        if (blocked) {
          hv.shutdown(d, RunResult.HALTED, 0);
        }
      }
    }
  }
}
