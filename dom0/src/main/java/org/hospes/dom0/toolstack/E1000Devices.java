package org.hospes.dom0.toolstack;

import java.io.IOException;
import org.hospes.dom0.devicemodel.ForeignGuestDma;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.e1000.E1000;
import org.hospes.dom0.net.CapturedPort;
import org.hospes.dom0.net.Network;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.hv.Hypervisor;

/**
 * The toolstack's part for an HVM domain's emulated network cards (what libxl asks of QEMU
 * with {@code -device e1000}): each interface whose model is e1000 becomes an 82540EM function
 * on the domain's PCI bus, doing DMA through dom0's foreign mappings, plugged into the
 * interface's network (through its capture, if any) like a vif. The first card is at 00:06.0,
 * further ones (and ones whose slot is taken) on the first free slot from there up. Every card
 * registers for Xen's unplug protocol: in a PVHVM domain the guest's unplug of NICs takes it
 * off the bus and off its network, and the vif beside it carries the traffic. Call before the
 * device model's firmware setup, which assigns the BARs.
 */
public final class E1000Devices {
  public static final int FIRST_SLOT = 6;

  private E1000Devices() {}

  /**
   * Adds an e1000 for interface {@code devid}; returns it. IOException with a one-line reason
   * if the network cannot be made or the capture file cannot be written.
   */
  public static E1000 attach(Hypervisor hv, HvmDeviceModel dm, GuestNetworks nets, int domid,
      int devid, VifSpec spec) throws IOException {
    Network net = nets.networks().network(spec.net());
    String mac = spec.macFor(domid, devid);
    nets.claimMac(net, mac, domid, devid);
    E1000 nic = new E1000("e1000-" + domid + "." + devid,
        org.hospes.dom0.devicemodel.virtio.VirtioNet.mac(mac),
        new ForeignGuestDma(hv.control(), domid));
    // Transmit work beyond one pass is dom0 work of its own, behind what is pending, in
    // dom0's time: a ring that takes long to send does not make one ioreq take that long.
    org.hospes.hv.control.DomainControl dom0 = hv.control();
    nic.setDeferral(pass -> dom0.work().submit(now -> {
      if (!dom0.isLive(domid)) {
        return 0; // the domain ended: its ring is gone with it
      }
      pass.run();
      return hv.costModel().ioreq();
    }));
    SwitchPort port = nic;
    if (spec.pcap() != null) {
      try {
        port = new CapturedPort(nic, nets.capture(domid, spec.pcap()));
      } catch (IOException e) {
        throw new IOException("cannot write capture file " + spec.pcap() + ": "
            + org.hospes.dom0.report.OutputFiles.reason(spec.pcap(), e), e);
      }
    }
    plug(dm, nic, net, port);
    nets.plugged(domid, net, port);
    return nic;
  }

  /**
   * Puts {@code nic} on the first free slot from {@value #FIRST_SLOT}, connects {@code port}
   * (the card, or its capture) to {@code net}, and registers the card for the unplug protocol,
   * whose unplug takes it off both. Returns the slot.
   */
  public static int plug(HvmDeviceModel dm, E1000 nic, Network net, SwitchPort port) {
    int slot = freeSlot(dm, nic);
    dm.attachPci(slot, nic.function());
    net.connect(port);
    nic.onUnplug(() -> {
      dm.pci().detach(slot, 0);
      net.disconnect(port);
    });
    dm.registerUnpluggable(nic);
    return slot;
  }

  private static int freeSlot(HvmDeviceModel dm, E1000 nic) {
    var taken = dm.pci().functions();
    for (int slot = FIRST_SLOT; slot < 32; slot++) {
      if (!taken.containsKey(slot << 3)) {
        return slot;
      }
    }
    throw new IllegalArgumentException("no free PCI slot for " + nic.function().name());
  }
}
