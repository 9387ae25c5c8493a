package org.hospes.dom0.devicemodel;

import java.io.OutputStream;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.hospes.hv.ioreq.Ioreq;
import org.hospes.hv.ioreq.IoreqServer;
import org.hospes.x86.IoBus;

/**
 * dom0's device model for one HVM domain (QEMU's role in Xen): a 16550 UART on COM1, QEMU's
 * isa-debug-exit, QEMU's fw_cfg (ports 0x510/0x511) and the i440FX PCI host bridge with the
 * PIIX3 ISA bridge (0xCF8/0xCFC), served through ioreqs the hypervisor forwards. Devices sit on a bus and see
 * only offsets and sizes; the model knows nothing about the guest beyond its ioreqs.
 */
public final class HvmDeviceModel implements IoreqServer {
  public static final int COM1_BASE = 0x3F8;
  public static final int COM1_IRQ = 4;
  public static final int DEBUG_EXIT_PORT = 0xF4;

  private final IoBus ports = new IoBus();
  private final Uart16550 com1;
  private final PciHostBridge pci = org.hospes.dom0.devicemodel.pci.I440fx.hostBridge();
  private long requests;

  /**
   * @param serial where COM1's output goes
   * @param irq the domain's ISA interrupt lines (dm_op set_isa_irq_level)
   * @param exit told when the guest writes the debug-exit port
   * @param ramBytes the domain's RAM, as fw_cfg reports it
   */
  public HvmDeviceModel(OutputStream serial, IsaIrq irq, IsaDebugExit.Listener exit,
      long ramBytes) {
    this(serial, irq, exit, ramBytes, 1);
  }

  /** As above, for a domain of {@code cpus} vCPUs (fw_cfg's FW_CFG_NB_CPUS and MAX_CPUS). */
  public HvmDeviceModel(OutputStream serial, IsaIrq irq, IsaDebugExit.Listener exit,
      long ramBytes, int cpus) {
    com1 = new Uart16550(serial, asserted -> irq.setLevel(COM1_IRQ, asserted));
    ports.register(COM1_BASE, 8, com1);
    ports.register(DEBUG_EXIT_PORT, 4, new IsaDebugExit(exit));
    ports.register(FwCfg.SELECTOR_PORT, FwCfg.PORT_COUNT, new FwCfg(ramBytes, cpus));
    ports.register(PciHostBridge.CONFIG_ADDRESS, PciHostBridge.PORT_COUNT, pci);
  }

  /** The PCI host bridge (i440FX with the PIIX3 ISA bridge). */
  public PciHostBridge pci() {
    return pci;
  }

  /** An HVM domain's ISA interrupt lines as the device model drives them. */
  public interface IsaIrq {
    void setLevel(int irq, boolean high);
  }

  public Uart16550 com1() {
    return com1;
  }

  public long requests() {
    return requests;
  }

  @Override
  public boolean claimsPort(int port) {
    return ports.claims(port);
  }

  @Override
  public long handle(int domid, Ioreq req) {
    requests++;
    if (req.type() != Ioreq.Type.PIO) {
      return req.write() ? 0 : -1L;
    }
    int port = (int) req.address();
    if (req.write()) {
      ports.out(port, req.size(), (int) req.data());
      return 0;
    }
    return ports.in(port, req.size()) & 0xFFFF_FFFFL;
  }
}
