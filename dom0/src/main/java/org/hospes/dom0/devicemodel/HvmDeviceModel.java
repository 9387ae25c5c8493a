package org.hospes.dom0.devicemodel;

import java.io.OutputStream;
import org.hospes.dom0.devicemodel.pci.I440fx;
import org.hospes.dom0.devicemodel.pci.PciFirmware;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.hospes.hv.ioreq.Ioreq;
import org.hospes.hv.ioreq.IoreqServer;
import org.hospes.x86.IoBus;

/**
 * dom0's device model for one HVM domain (QEMU's role in Xen): a 16550 UART on COM1, QEMU's
 * isa-debug-exit, QEMU's fw_cfg (ports 0x510/0x511) and the i440FX PCI host bridge with the
 * PIIX3 ISA bridge (0xCF8/0xCFC), served through ioreqs the hypervisor forwards. Devices sit on a bus and see
 * only offsets and sizes; the model knows nothing about the guest beyond its ioreqs.
 * PCI devices ({@link #attachPci}) are reached through the BARs the guest programmed, for port
 * and MMIO ioreqs alike; their INTx pins and the PIIX3's link routes go to the platform's
 * interrupt inputs; bus masters use {@link GuestDma}.
 */
public final class HvmDeviceModel implements IoreqServer {
  public static final int COM1_BASE = 0x3F8;
  public static final int COM1_IRQ = 4;
  public static final int DEBUG_EXIT_PORT = 0xF4;

  private final IoBus ports = new IoBus();
  private final Uart16550 com1;
  private final PciHostBridge pci;
  private final PlatformInterrupts irqs;
  private final java.util.List<String> log = new java.util.ArrayList<>();
  private java.util.function.Consumer<String> logSink = line -> { };
  private final org.hospes.dom0.devicemodel.xen.Unplugs unplugs =
      new org.hospes.dom0.devicemodel.xen.Unplugs(this::log);
  private org.hospes.dom0.devicemodel.xen.XenPlatformPci xenPlatform;
  private org.hospes.dom0.devicemodel.xen.UnplugPorts unplugPorts;
  private long requests;
  private long droppedLogLines;

  /**
   * @param serial where COM1's output goes
   * @param irqs the domain's interrupt inputs (ISA lines, PCI INTx, link routes)
   * @param exit told when the guest writes the debug-exit port
   * @param ramBytes the domain's RAM, as fw_cfg reports it
   */
  public HvmDeviceModel(OutputStream serial, PlatformInterrupts irqs, IsaDebugExit.Listener exit,
      long ramBytes) {
    this(serial, irqs, exit, ramBytes, 1);
  }

  /** As above, for a domain of {@code cpus} vCPUs (fw_cfg's FW_CFG_NB_CPUS and MAX_CPUS). */
  public HvmDeviceModel(OutputStream serial, PlatformInterrupts irqs, IsaDebugExit.Listener exit,
      long ramBytes, int cpus) {
    this.irqs = irqs;
    this.pci = I440fx.hostBridge(irqs);
    com1 = new Uart16550(serial, asserted -> irqs.setIsaIrqLevel(COM1_IRQ, asserted));
    ports.register(COM1_BASE, 8, com1);
    ports.register(DEBUG_EXIT_PORT, 4, new IsaDebugExit(exit));
    ports.register(FwCfg.SELECTOR_PORT, FwCfg.PORT_COUNT, new FwCfg(ramBytes, cpus));
    ports.register(PciHostBridge.CONFIG_ADDRESS, PciHostBridge.PORT_COUNT, pci);
  }

  /**
   * Adds Xen's platform PCI device at 00:03.0 and the unplug protocol's ports 0x10-0x1F (the
   * PVHVM machine), with no driver blacklisted.
   */
  public org.hospes.dom0.devicemodel.xen.XenPlatformPci attachXenPlatform() {
    return attachXenPlatform(org.hospes.dom0.devicemodel.xen.UnplugPorts.Blacklist.NONE);
  }

  /** As {@link #attachXenPlatform()}, refusing the driver builds {@code blacklist} names. */
  public org.hospes.dom0.devicemodel.xen.XenPlatformPci attachXenPlatform(
      org.hospes.dom0.devicemodel.xen.UnplugPorts.Blacklist blacklist) {
    if (xenPlatform != null) {
      throw new IllegalStateException("the Xen platform device is attached already");
    }
    xenPlatform = new org.hospes.dom0.devicemodel.xen.XenPlatformPci(unplugs);
    unplugPorts = new org.hospes.dom0.devicemodel.xen.UnplugPorts(unplugs, blacklist, this::log);
    attachPci(org.hospes.dom0.devicemodel.xen.XenPlatformPci.SLOT, xenPlatform.function());
    ports.register(org.hospes.dom0.devicemodel.xen.UnplugPorts.BASE,
        org.hospes.dom0.devicemodel.xen.UnplugPorts.PORT_COUNT, unplugPorts);
    return xenPlatform;
  }

  /** Xen's platform device, or null (not a PVHVM machine). */
  public org.hospes.dom0.devicemodel.xen.XenPlatformPci xenPlatform() {
    return xenPlatform;
  }

  /** The unplug protocol's ports, or null without the platform device. */
  public org.hospes.dom0.devicemodel.xen.UnplugPorts unplugPorts() {
    return unplugPorts;
  }

  /**
   * Lets the guest unplug {@code device} through Xen's protocol (the IDE and NIC models call
   * this for each disk and card). Without the platform device nobody can, and the device stays.
   */
  public void registerUnpluggable(Unpluggable device) {
    unplugs.register(device);
  }

  /** What was registered and what the guest unplugged. */
  public org.hospes.dom0.devicemodel.xen.Unplugs unplugs() {
    return unplugs;
  }

  /** Where the device model's log lines go, besides {@link #log()}. */
  public void setLogSink(java.util.function.Consumer<String> sink) {
    this.logSink = java.util.Objects.requireNonNull(sink);
  }

  /** The device model's log so far (unplug requests, PV driver messages). */
  public java.util.List<String> log() {
    return java.util.Collections.unmodifiableList(log);
  }

  private void log(String line) {
    // Bounded: a guest cannot grow dom0's memory through it (UnplugPorts limits its own lines).
    if (log.size() >= 1024) {
      droppedLogLines++;
      return;
    }
    log.add(line);
    logSink.accept(line);
  }

  /** Log lines past the first 1024, counted only. */
  public long droppedLogLines() {
    return droppedLogLines;
  }

  /** The PCI host bridge (i440FX with the PIIX3 ISA bridge). */
  public PciHostBridge pci() {
    return pci;
  }

  /** The domain's interrupt inputs, for ISA devices a plugin adds (IDE on IRQ 14, say). */
  public PlatformInterrupts interrupts() {
    return irqs;
  }

  /** Registers an ISA device's ports (fixed, as legacy devices decode them). */
  public void registerPorts(int first, int count, org.hospes.x86.PortDevice device) {
    ports.register(first, count, device);
  }

  /** Puts PCI function {@code f} at bus 0, {@code device}.0 (IllegalArgumentException if taken). */
  public void attachPci(int device, PciFunction f) {
    pci.attach(device, 0, f);
  }

  /**
   * Programs the PCI bus as firmware leaves it ({@link PciFirmware}): for a kernel booted
   * without a BIOS, after every device is attached. {@code platformPorts} reach the ELCR.
   */
  public void firmwareSetup(IoBus platformPorts) {
    PciFirmware.program(pci, platformPorts);
  }

  public Uart16550 com1() {
    return com1;
  }

  public long requests() {
    return requests;
  }

  @Override
  public boolean claimsPort(int port) {
    return ports.claims(port) || pci.claimsIo(port);
  }

  @Override
  public boolean claimsMmio(long gpa) {
    return pci.claimsMemory(gpa);
  }

  @Override
  public long handle(int domid, Ioreq req) {
    requests++;
    if (req.type() == Ioreq.Type.MMIO) {
      if (req.write()) {
        pci.memoryWrite(req.address(), req.size(), (int) req.data());
        return 0;
      }
      return pci.memoryRead(req.address(), req.size()) & 0xFFFF_FFFFL;
    }
    int port = (int) req.address();
    boolean fixed = ports.claims(port);
    if (req.write()) {
      if (fixed) {
        ports.out(port, req.size(), (int) req.data());
      } else {
        pci.ioOut(port, req.size(), (int) req.data());
      }
      return 0;
    }
    return (fixed ? ports.in(port, req.size()) : pci.ioIn(port, req.size())) & 0xFFFF_FFFFL;
  }
}
