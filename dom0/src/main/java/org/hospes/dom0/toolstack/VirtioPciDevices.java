package org.hospes.dom0.toolstack;

import java.io.IOException;
import org.hospes.dom0.devicemodel.ForeignGuestDma;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.virtio.VirtioBlk;
import org.hospes.dom0.devicemodel.virtio.VirtioNet;
import org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.net.CapturedPort;
import org.hospes.dom0.net.Network;
import org.hospes.dom0.net.PcapWriter;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.hv.Hypervisor;

/**
 * The toolstack's part for an HVM domain's virtio devices (what libxl asks of QEMU with
 * {@code -device virtio-blk-pci} / {@code virtio-net-pci}): each disk with {@code bus=virtio}
 * becomes a virtio-blk function and each interface with {@code model=virtio} a virtio-net
 * function on the domain's PCI bus, doing DMA through dom0's foreign mappings and signalling by
 * MSI-X (the hypervisor's inject_msi) once the driver enables it, by INTA# before. Slots: the first
 * virtio-blk at 00:04.0, the first virtio-net at 00:05.0, further ones on the first free slot
 * from 00:06.0 up. Call before the device model's firmware setup, which assigns their BARs.
 */
public final class VirtioPciDevices {
  public static final int FIRST_BLK_SLOT = 4;
  public static final int FIRST_NET_SLOT = 5;
  private static final int MORE_FROM = 6;

  private VirtioPciDevices() {}

  /** Adds a virtio-blk device for {@code image}; returns its transport. */
  public static VirtioPciLegacy attachDisk(Hypervisor hv, HvmDeviceModel dm, int domid,
      DiskSpec spec, DiskImage image) {
    VirtioBlk blk = new VirtioBlk(image, spec.vdev());
    VirtioPciLegacy t = new VirtioPciLegacy("virtio-blk " + spec.target().getFileName(), blk,
        new ForeignGuestDma(hv.control(), domid), dm.interrupts()::injectMsi);
    attach(dm, FIRST_BLK_SLOT, t);
    return t;
  }

  /**
   * Adds a virtio-net device for interface {@code devid} and connects it (through its capture,
   * if any) to its network; returns its transport. IOException with a one-line reason if the
   * network cannot be made or the capture file cannot be written.
   */
  public static VirtioPciLegacy attachNic(Hypervisor hv, HvmDeviceModel dm, GuestNetworks nets,
      int domid, int devid, VifSpec spec) throws IOException {
    Network net = nets.networks().network(spec.net());
    String mac = spec.macFor(domid, devid);
    nets.claimMac(net, mac, domid, devid);
    VirtioNet nic = new VirtioNet("virtio" + domid + "." + devid, VirtioNet.mac(mac));
    VirtioPciLegacy t = new VirtioPciLegacy("virtio-net " + mac, nic,
        new ForeignGuestDma(hv.control(), domid), dm.interrupts()::injectMsi);
    attach(dm, FIRST_NET_SLOT, t);
    SwitchPort port = nic;
    if (spec.pcap() != null) {
      try {
        port = new CapturedPort(nic, nets.capture(domid, spec.pcap()));
      } catch (IOException e) {
        throw new IOException("cannot write capture file " + spec.pcap() + ": "
            + org.hospes.dom0.report.OutputFiles.reason(spec.pcap(), e), e);
      }
    }
    net.connect(port);
    nets.plugged(domid, net, port);
    return t;
  }

  private static void attach(HvmDeviceModel dm, int preferred, VirtioPciLegacy t) {
    var taken = dm.pci().functions();
    int slot = preferred;
    if (taken.containsKey(slot << 3)) {
      slot = MORE_FROM;
      while (slot < 32 && taken.containsKey(slot << 3)) {
        slot++;
      }
      if (slot == 32) {
        throw new IllegalArgumentException("no free PCI slot for " + t.function().name());
      }
    }
    dm.attachPci(slot, t.function());
  }
}
