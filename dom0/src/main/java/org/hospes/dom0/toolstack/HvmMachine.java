package org.hospes.dom0.toolstack;

import com.google.common.base.Preconditions;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.hospes.dom0.boot.BiosLeftState;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.LoadedKernel;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootTarget;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.BootedKernel;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.boot.loader.MultibootKernelLoader;
import org.hospes.abi.SchedOp;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.PlatformInterrupts;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.machine.GuestOutputTail;
import org.hospes.dom0.machine.RunResult;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.HypervisorFactory;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.x86.Cpu;
import org.hospes.x86.Flags;

/**
 * One kernel in a domain (hvm, hvm-shadow or pvh): the hypervisor, the domain built by the
 * toolstack and, in HVM modes, dom0's device model serving its COM1 and isa-debug-exit through
 * ioreqs. The kernel is loaded by a {@link KernelLoader}; a Xen-aware one also gets dom0's
 * xenstore and PV console. Same exit conventions as the native machine, so a kernel behaves
 * alike in both.
 */
public final class HvmMachine {
  /** Virtual time between checks of the instruction limit and serial flushes. */
  private static final long SLICE = 1_000_000;

  private final Hypervisor hv;
  private final Domain domain;
  private final HvmDeviceModel deviceModel;
  private final PrintStream diagnostics;
  private String kernelName = "kernel";
  private final OutputStream serial;
  private final GuestOutputTail output;
  private org.hospes.dom0.xenstore.XenstoreService xenstore;
  private PvhDomainBuilder.Built pvh;
  private PvDomainBuilder.Built pv;
  private int debugExitStatus = -1;
  private org.hospes.dom0.machine.HostLink link = org.hospes.dom0.machine.HostLink.NONE;

  private HvmMachine(DomainMode mode, int ramMiB, int cpus, OutputStream serial,
      PrintStream diagnostics, Hypervisor hv) {
    this.diagnostics = diagnostics;
    // Every path of guest output (COM1, console_io, the PV console) goes through the tail, so a
    // crash report can repeat what the guest said last.
    this.output = new GuestOutputTail(serial);
    this.serial = output;
    this.hv = hv;
    Preconditions.checkArgument(cpus == 1 || mode != DomainMode.PV,
        "pv domains have one vCPU so far, got %s", cpus);
    this.domain = mode == DomainMode.PV ? hv.createPvDomain("guest", ramMiB)
        : hv.createHvmDomain("guest", mode, ramMiB, cpus);
    // console_io goes to the hypervisor's console, as on a debug Xen (guest_loglvl=all):
    // stderr unless setHypervisorLog says otherwise. COM1 and the PV ring go to serial.
    setHypervisorLog(diagnostics);
    this.deviceModel = new HvmDeviceModel(this.serial,
        PlatformInterrupts.of(hv, domain),
        (value, status) -> {
          if (debugExitStatus < 0) {
            debugExitStatus = status;
            hv.shutdown(domain, RunResult.DEBUG_EXIT, status);
          }
        }, (long) ramMiB << 20, cpus);
    if (!mode.pvDevicesOnly()) {
      hv.control().serveIoreqs(domain.domid(), deviceModel);
    }
    PvhvmPlatform.attach(deviceModel, domain, line -> {
      diagnostics.println("hospes: device model: " + line);
      diagnostics.flush();
    });
  }

  /**
   * Gives up on the machine before its guest ran (a load failed): the domain is destroyed, so
   * its machine memory goes back and the backends started for it let go of it (they unmap
   * its pages when told of its death). The machine cannot be loaded again. Its networks stay
   * the caller's to close, as after a run.
   */
  private void discard(String reason) {
    hv.destroy(domain, reason);
  }

  /**
   * Gives up on a machine whose guest never ran (its caller found a user error once it was
   * made: a disk, a network interface or a device it cannot have): the domain is destroyed, so
   * its machine memory goes back and dom0's services let go of it, and the networks made for
   * its interfaces are closed. Nothing happens to a machine whose domain is already gone.
   */
  public void abandon(String reason) {
    if (!domain.state().isFinal()) {
      discard(reason);
    }
    if (networks != null) {
      networks.close();
    }
  }

  /** One way of loading the guest, which may fail. */
  private interface Load<T> {
    T run() throws BootException;
  }

  /**
   * Runs {@code load} on a machine whose domain is still there; when it fails, however (the
   * kernel file, the kernel, its services, a device the mode cannot have), the machine is
   * {@link #discard discarded} and the error thrown.
   */
  private <T> T loading(Load<T> load) throws BootException {
    if (domain.state().isFinal()) {
      throw new BootException("the machine's domain is gone (" + domain.endReason()
          + "): make a new machine");
    }
    try {
      return load.run();
    } catch (BootException | RuntimeException | Error e) {
      discard("load failed: " + e.getMessage());
      throw e;
    }
  }

  /** With the default scheduler (credit) and cost model. */
  public static HvmMachine create(DomainMode mode, int ramMiB, OutputStream serial,
      PrintStream diagnostics) {
    return create(mode, ramMiB, serial, diagnostics, HypervisorFactory.DEFAULT_SCHEDULER,
        HypervisorFactory.DEFAULT_COST_MODEL);
  }

  /**
   * With the scheduler and cost model of those names, built-in or from a plugin on the class
   * path. IllegalArgumentException listing the known names when one is unknown.
   */
  public static HvmMachine create(DomainMode mode, int ramMiB, OutputStream serial,
      PrintStream diagnostics, String schedulerName, String costModelName) {
    return create(mode, ramMiB, serial, diagnostics, factory(), schedulerName, costModelName);
  }

  public static HvmMachine create(DomainMode mode, int ramMiB, OutputStream serial,
      PrintStream diagnostics, HypervisorFactory factory, String schedulerName,
      String costModelName) {
    return create(mode, ramMiB, 1, serial, diagnostics, factory, schedulerName, costModelName);
  }

  /** With {@code cpus} vCPUs (hvm, hvm-shadow, pvhvm and pvh; pv has one). */
  public static HvmMachine create(DomainMode mode, int ramMiB, int cpus, OutputStream serial,
      PrintStream diagnostics) {
    return create(mode, ramMiB, cpus, serial, diagnostics, factory(),
        HypervisorFactory.DEFAULT_SCHEDULER, HypervisorFactory.DEFAULT_COST_MODEL);
  }

  public static HvmMachine create(DomainMode mode, int ramMiB, int cpus, OutputStream serial,
      PrintStream diagnostics, HypervisorFactory factory, String schedulerName,
      String costModelName) {
    Hypervisor hv = factory.hypervisor(schedulerName, costModelName, machineMiB(ramMiB));
    return new HvmMachine(mode, ramMiB, cpus, serial, diagnostics, hv);
  }

  /** Machine memory for a guest of {@code ramMiB}: its RAM, page tables and the hypervisor's. */
  public static int machineMiB(int ramMiB) {
    return Math.max(64, ramMiB + 32);
  }

  /** The factory over the class path's plugins, built once (building an injector is slow). */
  public static HypervisorFactory factory() {
    return org.hospes.dom0.plugin.HostPlugins.classPath().hypervisors();
  }

  public Hypervisor hypervisor() {
    return hv;
  }

  /**
   * Where the hypervisor's console goes: the domain's console_io output, one "(dN) " line at a
   * time (org.hospes.hv.console.GuestConsoleLog). stderr by default; {@code --hv-log FILE}.
   */
  public void setHypervisorLog(OutputStream log) {
    // The crash report's tail keeps console_io as the guest wrote it, before the "(dN) " prefix.
    domain.setConsole(output.recordingInto(
        new org.hospes.hv.console.GuestConsoleLog(domain.domid(), log)));
  }

  public Domain domain() {
    return domain;
  }

  public HvmDeviceModel deviceModel() {
    return deviceModel;
  }

  public LoadedKernel loadMultiboot(Path kernel, String cmdline) throws BootException {
    return loading(() -> loadMultibootOrFail(KernelFiles.read(kernel), kernel.toString(),
        cmdline));
  }

  /** Loads the kernel into the domain's memory and sets the multiboot entry state. */
  public LoadedKernel loadMultiboot(byte[] image, String name, String cmdline)
      throws BootException {
    return loading(() -> loadMultibootOrFail(image, name, cmdline));
  }

  private LoadedKernel loadMultibootOrFail(byte[] image, String name, String cmdline)
      throws BootException {
    long rsdp = installAcpiTables(hv, domain);
    LoadedKernel loaded = new MultibootKernelLoader().loadMultiboot(image, cmdline,
        new BootTarget(BootMode.of(domain.mode()), domain.memory(),
            (long) domain.p2m().size() << 12, domain.vcpus().get(0).cpu(), rsdp));
    kernelName = name;
    // A boot loader runs after the firmware: the PIC, PIT and local APIC are as SeaBIOS leaves
    // them.
    BiosLeftState.apply(domain.platformPorts());
    if (!domain.mode().pvDevicesOnly()) {
      BiosLeftState.applyLocalApic(hv.platform(domain).lapic(0));
    }
    attachIde();
    attachPluginDevices();
    deviceModel.firmwareSetup(domain.platformPorts());
    hv.unpause(domain);
    return loaded;
  }

  /**
   * Loads {@code kernel} with {@code loader} and lets the domain run. A Xen-aware kernel
   * ({@link KernelLoader#wantsPvServices()}) also gets dom0's xenstore and PV console, in any
   * mode, as {@link #loadPvh} gives them; its PV console is copied to {@code consoleLog} if
   * that is not null.
   */
  public BootedKernel load(KernelLoader loader, Path kernel, BootRequest request,
      OutputStream consoleLog) throws BootException {
    return loading(() -> loadOrFail(loader, KernelFiles.read(kernel), kernel.toString(),
        request, consoleLog));
  }

  private final java.util.Map<DiskSpec, org.hospes.dom0.disk.DiskImage> disks =
      new java.util.LinkedHashMap<>();
  private final java.util.List<org.hospes.dom0.backend.blk.VbdBackend> blockBackends =
      new java.util.ArrayList<>();

  /**
   * Gives the domain a disk (before loading): in PVH and PVHVM its vbd nodes and blkback are
   * set up then; in hvm and hvm-shadow it is an IDE disk by default ({@link DiskSpec#busFor}).
   */
  public void addDisk(DiskSpec spec, org.hospes.dom0.disk.DiskImage image) {
    disks.put(spec, image);
  }

  /**
   * Closes every disk image given to the machine, when its run is over (it ended, or was
   * stopped: Ctrl-C) or it never ran: a writable one is forced to stable storage first, as
   * QEMU does on exit, and its write lock is released. A vbd's image that its backend closed
   * already is not closed again. Returns one line per image that failed to close (none as a
   * rule); the machine serves no disk afterwards.
   */
  public java.util.List<String> closeDisks() {
    java.util.List<String> problems = new java.util.ArrayList<>();
    for (java.util.Map.Entry<DiskSpec, org.hospes.dom0.disk.DiskImage> d : disks.entrySet()) {
      try {
        d.getValue().close();
      } catch (java.io.IOException e) {
        problems.add("disk " + d.getKey().vdev() + ": cannot close: " + e.getMessage());
      }
    }
    return problems;
  }

  private final java.util.List<org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy> virtio =
      new java.util.ArrayList<>();

  /** The virtio PCI devices of the domain's bus=virtio disks and model=virtio vifs. */
  public java.util.List<org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy> virtioDevices() {
    return virtio;
  }

  private void attachVirtio() throws BootException {
    boolean any = disks.keySet().stream().anyMatch(DiskSpec::virtio)
        || vifSpecs.stream().anyMatch(VifSpec::virtio);
    if (!any) {
      return;
    }
    if (domain.mode().pvDevicesOnly()) {
      throw new BootException("bus=virtio and model=virtio are PCI devices of the device"
          + " model: they need an hvm mode, not " + domain.mode().cliName());
    }
    for (java.util.Map.Entry<DiskSpec, org.hospes.dom0.disk.DiskImage> d : disks.entrySet()) {
      if (d.getKey().virtio()) {
        virtio.add(VirtioPciDevices.attachDisk(hv, deviceModel, domain.domid(), d.getKey(),
            d.getValue()));
      }
    }
    for (int i = 0; i < vifSpecs.size(); i++) {
      if (vifSpecs.get(i).virtio()) {
        try {
          virtio.add(VirtioPciDevices.attachNic(hv, deviceModel, networks(), domain.domid(), i,
              vifSpecs.get(i)));
        } catch (java.io.IOException e) {
          throw new BootException(e.getMessage(), e);
        }
      }
    }
  }

  private final java.util.List<org.hospes.dom0.devicemodel.e1000.E1000> e1000s =
      new java.util.ArrayList<>();

  /** The emulated e1000 cards of the domain's interfaces (after loading), in order. */
  public java.util.List<org.hospes.dom0.devicemodel.e1000.E1000> e1000Devices() {
    return e1000s;
  }

  /** An e1000 for each interface whose model is e1000 in this mode ({@link VifSpec#e1000In}). */
  private void attachE1000() throws BootException {
    for (int i = 0; i < vifSpecs.size(); i++) {
      if (!vifSpecs.get(i).e1000In(domain.mode())) {
        continue;
      }
      if (domain.mode().pvDevicesOnly()) {
        throw new BootException("model=e1000 is an emulated card of the device model: it"
            + " needs an hvm mode, not " + domain.mode().cliName());
      }
      try {
        e1000s.add(E1000Devices.attach(hv, deviceModel, networks(), domain.domid(), i,
            vifSpecs.get(i)));
      } catch (java.io.IOException e) {
        throw new BootException(e.getMessage(), e);
      }
    }
  }

  private org.hospes.dom0.devicemodel.plugin.DeviceModelPlugins devicePlugins;
  private final java.util.List<org.hospes.dom0.devicemodel.plugin.DeviceSpec> deviceSpecs =
      new java.util.ArrayList<>();
  private java.util.List<org.hospes.dom0.devicemodel.plugin.DeviceModelPlugin.AttachedDevice>
      pluginDevices = java.util.List.of();

  /**
   * Where {@link #addDevice} looks devices up: the class path's plugins unless a test gives
   * its own.
   */
  public void setDevicePlugins(org.hospes.dom0.devicemodel.plugin.DeviceModelPlugins plugins) {
    this.devicePlugins = java.util.Objects.requireNonNull(plugins);
  }

  private org.hospes.dom0.devicemodel.plugin.DeviceModelPlugins devicePlugins() {
    if (devicePlugins == null) {
      devicePlugins = org.hospes.dom0.plugin.HostPlugins.classPath().devices();
    }
    return devicePlugins;
  }

  /**
   * Gives the domain a plugin device ({@code --device}; before loading): it is added to the
   * device model after the built-in devices. IllegalArgumentException listing the known
   * devices if no plugin has that name.
   */
  public void addDevice(org.hospes.dom0.devicemodel.plugin.DeviceSpec spec) {
    devicePlugins().plugin(spec.name());
    deviceSpecs.add(spec);
  }

  /** The plugin devices, in {@link #addDevice} order (after loading). */
  public java.util.List<org.hospes.dom0.devicemodel.plugin.DeviceModelPlugin.AttachedDevice>
      pluginDevices() {
    return pluginDevices;
  }

  private void attachPluginDevices() throws BootException {
    if (deviceSpecs.isEmpty() || !pluginDevices.isEmpty()) {
      return;
    }
    pluginDevices = java.util.List.copyOf(PluginDevices.attach(devicePlugins(), hv,
        domain.mode().pvDevicesOnly() ? null : deviceModel, domain, deviceSpecs, line -> {
          diagnostics.println("hospes: device model: " + line);
          diagnostics.flush();
        }));
  }

  private org.hospes.dom0.devicemodel.ide.Piix3Ide ide;

  /** The PIIX3 IDE controller of the domain's IDE disks (after loading), or null if none. */
  public org.hospes.dom0.devicemodel.ide.Piix3Ide ide() {
    return ide;
  }

  /**
   * Puts the disks on the IDE bus ({@link DiskSpec#busFor}: the default in hvm and hvm-shadow)
   * on the PIIX3's IDE function at 00:01.1: hdX where the vdev says so, else the first free of
   * primary master, primary slave, secondary master, secondary slave. More than four, or an
   * IDE disk in a mode without a device model, is refused with a one-line reason.
   */
  private void attachIde() throws BootException {
    if (ide == null) {
      ide = attachIdeDisks(hv, deviceModel, domain, disks);
    }
  }

  /**
   * The IDE part of building an HVM domain, for this class and run-many's HostRunner: a PIIX3
   * IDE function on {@code dm} with the disks whose bus is IDE, or null if there are none. In
   * a PVHVM domain the disks on the Xen bus (its default) are also offered as emulated IDE
   * disks, as xl does (QEMU's {@code -drive if=ide,index=N} beside the vbd): xvdX and hdX at
   * position X when it is among hda..hdd and free, the others PV only. Every IDE disk is
   * registered with the device model as unpluggable, so that a PVHVM guest's drivers remove
   * the emulated copies (Xen's unplug protocol) before taking the same images through blkfront.
   */
  static org.hospes.dom0.devicemodel.ide.Piix3Ide attachIdeDisks(Hypervisor hv,
      HvmDeviceModel dm, Domain domain,
      java.util.Map<DiskSpec, org.hospes.dom0.disk.DiskImage> disks) throws BootException {
    boolean hvm = !domain.mode().pvDevicesOnly();
    boolean pvhvm = domain.mode().xenPlatformPci();
    org.hospes.dom0.devicemodel.ide.Piix3Ide ide = null;
    for (java.util.Map.Entry<DiskSpec, org.hospes.dom0.disk.DiskImage> d : disks.entrySet()) {
      DiskSpec spec = d.getKey();
      DiskSpec.Bus bus = spec.busIn(domain.mode());
      boolean copy = pvhvm && bus == DiskSpec.Bus.XEN && dm != null;
      if (bus != DiskSpec.Bus.IDE && !copy) {
        continue;
      }
      if (!copy && spec.backendProblem(domain.mode()) != null) {
        // run and run-many refuse it before opening any image; a last guard for other callers.
        throw new BootException(spec.backendProblem(domain.mode()));
      }
      if (!hvm || dm == null) {
        throw new BootException("disk " + spec.target() + ": bus=ide is an emulated disk of"
            + " the device model; " + domain.mode().cliName() + " has none (use bus=xen)");
      }
      int at = DiskSpec.ideIndex(spec.vdev());
      if (copy) {
        at = at >= 0 ? at : xvdIndex(spec.vdev());
        if (at < 0 || at >= org.hospes.dom0.devicemodel.ide.Piix3Ide.MAX_DISKS
            || ide != null && ide.channel(at >>> 1).drive(at & 1) != null) {
          continue; // a vbd only, as xl leaves disks past the fourth
        }
      }
      if (ide == null) {
        ide = new org.hospes.dom0.devicemodel.ide.Piix3Ide(dm,
            new org.hospes.dom0.devicemodel.ForeignGuestDma(hv.control(), domain.domid()));
        ide.attach(dm);
      }
      for (int p = 0; at < 0 && p < org.hospes.dom0.devicemodel.ide.Piix3Ide.MAX_DISKS; p++) {
        if (ide.channel(p >>> 1).drive(p & 1) == null) {
          at = p;
        }
      }
      if (at < 0) {
        throw new BootException("disk " + spec.target() + ": at most 4 IDE disks (hda..hdd)");
      }
      try {
        ide.attachDisk(at, new org.hospes.dom0.devicemodel.ide.AtaDrive(d.getValue(),
            String.format("HOSPES%04d%d", domain.domid(), at), "HOSPES HARDDISK"));
      } catch (IllegalArgumentException e) {
        throw new BootException("disk " + spec.target() + ": " + e.getMessage(), e);
      }
      dm.registerUnpluggable(ide.unpluggable(at));
    }
    return ide;
  }

  /** xvda..xvdz as 0..25 (libxl's disk index), else -1. */
  private static int xvdIndex(String vdev) {
    return vdev != null && vdev.matches("xvd[a-z]") ? vdev.charAt(3) - 'a' : -1;
  }

  /**
   * Removes the domain's emulated IDE disks (Xen's unplug protocol, for a PVHVM guest whose
   * PV drivers take the same images); nothing if it has none.
   */
  public void unplugDisks() {
    if (ide != null) {
      ide.unplugDisks();
    }
  }

  /** The block backends of the domain's disks (after loading). */
  public java.util.List<org.hospes.dom0.backend.blk.VbdBackend> blockBackends() {
    return blockBackends;
  }

  private final java.util.List<VifSpec> vifSpecs = new java.util.ArrayList<>();
  private final java.util.List<org.hospes.dom0.backend.net.VifBackend> netBackends =
      new java.util.ArrayList<>();
  private GuestNetworks networks;

  /** dom0's virtual networks for this machine (made on first use). */
  public GuestNetworks networks() {
    if (networks == null) {
      networks = new GuestNetworks(hv);
    }
    return networks;
  }

  /**
   * Gives the domain a network interface (before loading): its vif nodes, netback and port on
   * its network are set up then. Checks the network now: IllegalArgumentException or
   * IOException (a topology that cannot be made) with a one-line reason.
   */
  public void addVif(VifSpec spec) throws java.io.IOException {
    networks().networks().network(spec.net());
    vifSpecs.add(spec);
  }

  /** The network backends of the domain's interfaces (after loading). */
  public java.util.List<org.hospes.dom0.backend.net.VifBackend> netBackends() {
    return netBackends;
  }

  /**
   * Writes a disk's vbd nodes (libxl's part) and starts its backend for {@code domid}: in dom0,
   * or with {@code backend=NAME} in the driver domain NAME ({@link #driverDomain}).
   */
  static org.hospes.dom0.backend.blk.VbdBackend attachDisk(Hypervisor hv,
      org.hospes.dom0.xenstore.XenstoreService xs, int domid, DiskSpec spec,
      org.hospes.dom0.disk.DiskImage image) {
    org.hospes.hv.control.DomainControl backend = spec.backend() == null ? hv.control()
        : driverDomain(hv, xs, spec.backend(), domid);
    org.hospes.dom0.backend.blk.VbdNodes.create(xs, backend.domid(), domid, spec.devid(),
        spec.vdev(), spec.target().toString(), image.format(), image.readOnly());
    return org.hospes.dom0.backend.blk.VbdBackend.start(xs, backend, hv.costModel(), domid,
        spec.devid(), image);
  }

  /**
   * The driver domain called {@code name} for guest {@code domid}: made on first use with the
   * privilege over that guest alone. A driver domain serves one frontend domain, so a name
   * already serving another guest (or a guest's own name) is refused with a one-line reason.
   * A new one gets its xenstore directory as xl makes one for every domain it creates.
   */
  static org.hospes.hv.control.DomainControl driverDomain(Hypervisor hv,
      org.hospes.dom0.xenstore.XenstoreService xs, String name, int domid) {
    for (org.hospes.hv.control.DomainControl c : hv.serviceDomains()) {
      if (c.domain().name().equals(name)) {
        if (!c.privilege().equals(org.hospes.hv.control.Privilege.over(domid))) {
          throw new IllegalArgumentException("backend=" + name + ": driver domain " + name
              + " (" + c.privilege().describe() + ") cannot serve domain " + domid
              + "; a driver domain serves one guest");
        }
        return c;
      }
    }
    for (org.hospes.hv.domain.Domain d : hv.domains()) {
      if (d.name().equals(name)) {
        throw new IllegalArgumentException("backend=" + name + ": " + name
            + " is a guest, not a driver domain");
      }
    }
    org.hospes.hv.control.DomainControl c = hv.createDriverDomain(name, domid);
    writeDomainNodes(xs, c.domid(), name);
    return c;
  }

  /**
   * libxl's nodes of a domain with no kernel of its own to boot here (a driver domain):
   * {@code /local/domain/N} made as libxl__domain_make makes it (dom0's, the domain may read
   * it), then {@code name} (libxl__domain_rename) and {@code domid} (libxl__build_post),
   * which inherit those permissions.
   */
  static void writeDomainNodes(org.hospes.dom0.xenstore.XenstoreService xs, int domid,
      String name) {
    String dom = "/local/domain/" + domid;
    String[] perms = {"n0", "r" + domid};
    xs.write(dom, "");
    xs.setPerms(dom, perms);
    xs.write(dom + "/name", name);
    xs.setPerms(dom + "/name", perms);
    xs.write(dom + "/domid", Integer.toString(domid));
    xs.setPerms(dom + "/domid", perms);
  }

  /**
   * As above, for an image already read; {@code name} is how diagnostics call it. When the
   * load fails (the kernel, its services, a device the mode cannot have), the machine is
   * {@link #discard discarded} and the error thrown.
   */
  public BootedKernel load(KernelLoader loader, byte[] image, String name, BootRequest request,
      OutputStream consoleLog) throws BootException {
    return loading(() -> loadOrFail(loader, image, name, request, consoleLog));
  }

  private BootedKernel loadOrFail(KernelLoader loader, byte[] image, String name,
      BootRequest request, OutputStream consoleLog) throws BootException {
    BootedKernel k;
    attachIde();
    if (domain.mode() == DomainMode.PV) {
      if (!(loader instanceof org.hospes.dom0.boot.loader.PvKernelLoader)) {
        throw new BootException("pv mode boots classic PV kernels (Xen PV ELF notes) only;"
            + " the " + loader.name() + " loader does not");
      }
      xenstore = new org.hospes.dom0.xenstore.XenstoreService(hv.control(), hv.costModel());
      pv = new PvDomainBuilder(hv, xenstore).load(domain, image, request,
          teeConsole(consoleLog));
      k = pv.kernel();
      attachPvDevices();
    } else if (loader.wantsPvServices() || domain.mode().xenPlatformPci()) {
      // A Xen-aware kernel, or any kernel in a PVHVM domain (Linux finds Xen by CPUID there):
      // xenstore, the PV console and the PV disks and interfaces, as in PVH.
      xenstore = new org.hospes.dom0.xenstore.XenstoreService(hv.control(), hv.costModel());
      // A PVHVM domain is an HVM guest and gets an HVM PC's ACPI tables whatever its vCPU
      // count, as hvmloader writes them for every HVM guest on Xen: the MADT lists one local
      // APIC per vCPU (Linux starts the others by INIT-SIPI-SIPI; without a MADT it allows 1
      // CPU) and the I/O APIC, and the DSDT's _PRT gives each slot's INTx its GSI. So Linux
      // runs the I/O APIC, the platform device's INTA# is GSI 28 (hvm_pci_intx_gsi of slot 3),
      // above the ISA IRQs, and with xen_no_vector_callback its driver names the callback by
      // PCI INTx (get_callback_via), as on Xen. (A PVH-entry kernel's loader writes its own
      // tables over them.)
      long rsdp = domain.mode().xenPlatformPci() ? installAcpiTables(hv, domain) : 0;
      pvh = new PvhDomainBuilder(hv, xenstore).load(domain, loader, image, request,
          teeConsole(consoleLog), rsdp);
      k = pvh.kernel();
      attachPvDevices();
    } else {
      long rsdp = installAcpiTables(hv, domain);
      k = loader.load(image, request, new BootTarget(BootMode.of(domain.mode()),
          domain.memory(), (long) domain.p2m().size() << 12, domain.vcpus().get(0).cpu(),
          rsdp));
    }
    attachVirtio();
    attachE1000();
    attachPluginDevices();
    if (!domain.mode().pvDevicesOnly()) {
      // A boot loader runs after the firmware: the PIC, PIT and local APIC are as SeaBIOS
      // leaves them.
      BiosLeftState.apply(domain.platformPorts());
      BiosLeftState.applyLocalApic(hv.platform(domain).lapic(0));
      deviceModel.firmwareSetup(domain.platformPorts());
    }
    kernelName = name;
    hv.unpause(domain);
    return k;
  }

  /**
   * The domain's PV disks (blkback) and PV vifs (netback) in dom0; the rest are devices of the
   * device model. A pv domain has none, so there every disk and vif must be a PV one.
   */
  private void attachPvDevices() throws BootException {
    for (java.util.Map.Entry<DiskSpec, org.hospes.dom0.disk.DiskImage> d : disks.entrySet()) {
      if (d.getKey().busIn(domain.mode()) != DiskSpec.Bus.XEN) {
        if (domain.mode() == DomainMode.PV) {
          throw new BootException("a pv domain has no device model: disk "
              + d.getKey().vdev() + " must be a PV disk (xvdX, bus=xen)");
        }
        continue; // a device of the device model
      }
      try {
        blockBackends.add(attachDisk(hv, xenstore, domain.domid(), d.getKey(),
            d.getValue()));
      } catch (IllegalArgumentException e) {
        // A backend= that cannot serve this guest (its own name, another guest's driver
        // domain): the user's error, said in one line, not an internal one.
        throw new BootException("disk " + d.getKey().target() + ": " + e.getMessage(), e);
      }
    }
    for (int i = 0; i < vifSpecs.size(); i++) {
      if (!vifSpecs.get(i).vifIn(domain.mode())) {
        continue;
      }
      try {
        netBackends.add(networks().attach(xenstore, domain.domid(), i, vifSpecs.get(i)));
      } catch (java.io.IOException e) {
        throw new BootException(e.getMessage(), e);
      }
    }
  }

  /**
   * Writes an HVM domain's ACPI tables into the BIOS area (0xE0000, where a kernel scans for the
   * RSDP; every e820 map here reserves it), as hvmloader does before any kernel runs: one local
   * APIC per vCPU, the PM timer, the I/O APIC and the HPET (reached through EPT violations, or
   * through the shadow pager's MMIO faults). Returns the RSDP's
   * address, or 0 for a domain that gets none (PVH and PV domains, whose tables come with their
   * start info, and a domain too small to have a BIOS area).
   */
  static long installAcpiTables(Hypervisor hv, Domain d) {
    if (d.mode().pvDevicesOnly() || d.mode() == DomainMode.PV
        || ((long) d.p2m().size() << 12) < 0x10_0000L) {
      return 0;
    }
    boolean mmio = d.ept() != null || d.shadow() != null;
    return org.hospes.dom0.acpi.HvmAcpiTables.install(d.memory(), d.vcpus().size(),
        mmio && hv.platform(d).hpet() != null, mmio).rsdp();
  }

  /**
   * Loads a PVH kernel (ELF with the PHYS32_ENTRY note), gives it dom0's xenstore and a PV
   * console (printed on the serial stream; console_io goes to the hypervisor's log) and sets
   * its entry state.
   */
  public BootedKernel loadPvh(Path kernel, String cmdline) throws BootException {
    return loadPvh(kernel, cmdline, null);
  }

  /** As {@link #loadPvh(Path, String)}, the PV console also copied to {@code consoleLog}. */
  public BootedKernel loadPvh(Path kernel, String cmdline, OutputStream consoleLog)
      throws BootException {
    return loadPvh(kernel, cmdline, consoleLog, java.util.List.of());
  }

  /** As above, with boot modules listed in the start info (each named by its file). */
  public BootedKernel loadPvh(Path kernel, String cmdline, OutputStream consoleLog,
      java.util.List<Path> modules) throws BootException {
    return loading(() -> loadOrFail(new org.hospes.dom0.boot.loader.PvhKernelLoader(),
        KernelFiles.read(kernel), kernel.toString(),
        new BootRequest(cmdline, KernelFiles.readModules(modules)), consoleLog));
  }

  /** The guest's output stream, also copied to {@code consoleLog} if that is not null. */
  private OutputStream teeConsole(OutputStream consoleLog) {
    if (consoleLog == null) {
      return serial;
    }
    return new OutputStream() {
      @Override
      public void write(int b) throws java.io.IOException {
        serial.write(b);
        consoleLog.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) throws java.io.IOException {
        serial.write(b, off, len);
        consoleLog.write(b, off, len);
      }

      @Override
      public void flush() throws java.io.IOException {
        serial.flush();
        consoleLog.flush();
      }
    };
  }

  /** dom0's xenstored (PVH mode, after loadPvh), else null. */
  public org.hospes.dom0.xenstore.XenstoreService xenstore() {
    return xenstore;
  }

  /** The PVH domain's special pages, ports and console backend (after loadPvh), else null. */
  public PvhDomainBuilder.Built pvh() {
    return pvh;
  }

  /** What the PV domain builder built, or null (not a pv-mode machine, or nothing loaded). */
  public PvDomainBuilder.Built pv() {
    return pv;
  }

  /** The PV console's backend of a Xen-aware kernel (pvh or pv), or null. */
  public org.hospes.dom0.backend.console.ConsoleBackend pvConsole() {
    return pvh != null ? pvh.console() : pv != null ? pv.console() : null;
  }

  /** Input for the guest and stop requests from the host, consulted between slices. */
  public void setHostLink(org.hospes.dom0.machine.HostLink link) {
    this.link = Preconditions.checkNotNull(link);
  }

  public RunResult run() {
    return run(Long.MAX_VALUE);
  }

  /** Runs until the domain stops or has executed {@code maxInstructions}. */
  public RunResult run(long maxInstructions) {
    Preconditions.checkArgument(maxInstructions > 0, "instruction limit must be positive");
    try {
      while (true) {
        long insns = instructions();
        if (insns >= maxInstructions) {
          return report(ExitStatus.INSTRUCTION_LIMIT, String.format(
              "instruction limit of %d reached at eip=0x%08x", maxInstructions,
              domain.vcpus().get(0).cpu().eip()));
        }
        if (networks != null) {
          // Host-side network work (the NAT gateway's sockets and timers) between slices.
          networks.networks().poll();
        }
        long progressed = hv.run(Math.min(SLICE, maxInstructions - insns));
        deviceModel.com1().flush();
        if (domain.state().isFinal()) {
          return outcome();
        }
        String stop = link.afterSlice();
        if (stop != null) {
          // Not printed here: the caller's run line says it (hospes run: once, with the
          // status and counts under --stats).
          return new RunResult(link.stopStatus(), RunResult.STOPPED_PREFIX + stop,
              instructions());
        }
        if (progressed == 0 || !hv.hasLiveDomains()) {
          // Blocked with nothing inside the machine to wake it: only host input can, else
          // the kernel halted.
          if (progressed == 0 && hv.hasLiveDomains() && link.awaitInput()) {
            continue;
          }
          return new RunResult(ExitStatus.HALTED, RunResult.HALTED, instructions());
        }
      }
    } finally {
      deviceModel.com1().flush();
      try {
        // A partial console_io line is printed, not lost.
        domain.console().close();
      } catch (java.io.IOException e) {
        diagnostics.println("hospes: cannot write the hypervisor log: " + e.getMessage());
      }
    }
  }

  private RunResult outcome() {
    if (domain.state() == DomainState.CRASHED) {
      RunResult r = report(ExitStatus.GUEST_CRASHED, domain.endReason());
      output.report(diagnostics);
      return r;
    }
    if (RunResult.DEBUG_EXIT.equals(domain.endReason())) {
      return new RunResult(debugExitStatus, RunResult.DEBUG_EXIT, instructions());
    }
    if (domain.mode().pvDevicesOnly() || pvh != null) {
      // SCHEDOP_shutdown (a PVH domain, or a Xen-aware kernel in an HVM one): poweroff,
      // reboot, suspend and soft_reset end cleanly (0); crash and watchdog are failures (3),
      // with the reason on stderr.
      int reason = domain.exitStatus();
      if (reason == SchedOp.SHUTDOWN_CRASH || reason == SchedOp.SHUTDOWN_WATCHDOG) {
        RunResult r = report(ExitStatus.GUEST_CRASHED, "shutdown: " + domain.endReason());
        output.report(diagnostics);
        return r;
      }
      return new RunResult(0, RunResult.SHUTDOWN_PREFIX + domain.endReason(), instructions());
    }
    return new RunResult(Math.max(domain.exitStatus(), 0), domain.endReason(), instructions());
  }

  private long instructions() {
    long n = 0;
    for (Vcpu v : domain.vcpus()) {
      n += v.cpu().instructions();
    }
    return n;
  }

  private RunResult report(int status, String reason) {
    diagnostics.println("hospes: " + kernelName + ": " + reason);
    diagnostics.flush();
    return new RunResult(status, reason, instructions());
  }
}
