package org.hospes.dom0.toolstack;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.backend.net.VifBackend;
import org.hospes.dom0.backend.net.VifNodes;
import org.hospes.dom0.net.CapturedPort;
import org.hospes.dom0.net.Network;
import org.hospes.dom0.net.Networks;
import org.hospes.dom0.net.PcapWriter;
import org.hospes.dom0.net.RoutedNetwork;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.Hypervisor;

/**
 * The toolstack's side of guests' network interfaces for one host run (libxl's nic add and
 * the hotplug script's bridge join): the virtual networks, each vif's nodes and netback, its
 * port on its network, and its capture file. Time on the networks (MAC ageing, capture stamps)
 * is the hypervisor's virtual time at its nominal 1 GHz (a cycle is a nanosecond).
 */
public final class GuestNetworks implements AutoCloseable {
  private final Hypervisor hv;
  private final Networks networks;
  private final List<VifBackend> vifs = new ArrayList<>();
  private final List<PcapWriter> captures = new ArrayList<>();
  private final java.util.Map<java.nio.file.Path, PcapWriter> capturesByFile =
      new java.util.HashMap<>();
  /**
   * What each domain holds on the networks, by domid: its ports (to disconnect) and the
   * capture files its interfaces write (a file two domains share is closed with the last).
   */
  private final java.util.Map<Integer, List<Runnable>> portsByDomain = new java.util.HashMap<>();
  private final java.util.Map<PcapWriter, java.util.Set<Integer>> captureUsers =
      new java.util.HashMap<>();
  /** Who holds each address on each network ("NETWORK MAC" to {domid, devid}). */
  private final java.util.Map<String, int[]> macs = new java.util.HashMap<>();

  public GuestNetworks(Hypervisor hv) {
    this.hv = hv;
    this.networks = org.hospes.dom0.plugin.HostPlugins.classPath().networks(hv::now);
  }

  public Networks networks() {
    return networks;
  }

  /** Checks {@code spec}'s network exists before anything is built (a one-line error). */
  public void check(VifSpec spec) {
    networks.check(spec.net());
  }

  /**
   * Gives domain {@code domid} interface {@code devid}: writes its vif nodes, starts netback
   * and connects it (through its capture, if any) to its network. IOException with a
   * one-line reason if the network cannot be made or the capture file cannot be written.
   */
  public VifBackend attach(XenstoreService xs, int domid, int devid, VifSpec spec)
      throws IOException {
    Network net = networks.network(spec.net());
    PcapWriter pcap = null;
    if (spec.pcap() != null) {
      try {
        pcap = capture(domid, spec.pcap());
      } catch (IOException e) {
        throw new IOException("cannot write capture file " + spec.pcap() + ": "
            + org.hospes.dom0.report.OutputFiles.reason(spec.pcap(), e), e);
      }
    }
    String mac = spec.macFor(domid, devid);
    claimMac(net, mac, domid, devid);
    VifNodes.create(xs, domid, devid, mac, net.name());
    VifBackend vif = VifBackend.start(xs, hv.control(), hv.costModel(), domid, devid, mac);
    SwitchPort port = pcap == null ? vif : new CapturedPort(vif, pcap);
    net.connect(port);
    plugged(domid, net, port);
    if (spec.ip() != 0) {
      if (!(net instanceof RoutedNetwork routed)) {
        throw new IOException("vif ip=" + RoutedNetwork.ipText(spec.ip())
            + " is for net=routed only (other networks learn addresses themselves)");
      }
      routed.route(port, spec.ip(), macLong(mac));
    }
    vifs.add(vif);
    return vif;
  }

  /**
   * A capture file kept open (and flushed and closed) with the networks. The same file asked
   * for twice is one writer: a pvhvm interface offered both as an e1000 and as a vif captures
   * whichever the guest uses into the one file.
   */
  PcapWriter capture(int domid, java.nio.file.Path file) throws IOException {
    java.nio.file.Path key = file.toAbsolutePath().normalize();
    PcapWriter pcap = capturesByFile.get(key);
    if (pcap == null) {
      pcap = PcapWriter.create(file, hv::now);
      captures.add(pcap);
      capturesByFile.put(key, pcap);
    }
    captureUsers.computeIfAbsent(pcap, p -> new java.util.HashSet<>()).add(domid);
    return pcap;
  }

  /**
   * Takes {@code mac} on {@code net} for interface {@code devid} of domain {@code domid}, before
   * its port joins: IOException with a one-line reason if another interface on that network
   * has it. Two ports with one address break a learning switch (each frame from one teaches
   * it that the address moved, so the other's traffic goes astray) and the routed network's
   * per-guest routes; a host's default addresses never collide (they carry the domid), so
   * only a {@code mac=} can. The same interface may take it twice: pvhvm offers one both as an
   * e1000 and as a vif, and the guest unplugs one of them.
   */
  void claimMac(Network net, String mac, int domid, int devid) throws IOException {
    String key = net.name() + " " + mac;
    int[] holder = macs.putIfAbsent(key, new int[] {domid, devid});
    if (holder != null && (holder[0] != domid || holder[1] != devid)) {
      throw new IOException("vif " + devid + ": mac " + mac + " is already on network "
          + net.name() + " (" + (holder[0] == domid ? "" : domainName(holder[0]) + "'s ")
          + "vif " + holder[1] + "); each interface on a network needs its own address");
    }
  }

  private String domainName(int domid) {
    org.hospes.hv.domain.Domain d = hv.domain(domid);
    return d == null ? "domain " + domid : d.name();
  }

  /** Records that domain {@code domid}'s interface is {@code port} on {@code net}. */
  void plugged(int domid, Network net, SwitchPort port) {
    portsByDomain.computeIfAbsent(domid, k -> new ArrayList<>()).add(() -> net.disconnect(port));
  }

  /**
   * Lets go of what domain {@code domid}'s interfaces held (it ended, or its build failed):
   * its ports leave their networks, so nothing is switched to a domain that is gone, and the
   * capture files only it wrote are closed (flushed, their descriptors released). Nothing
   * happens for a domain that holds nothing; the networks themselves stay for the others.
   */
  public void release(int domid) {
    macs.values().removeIf(holder -> holder[0] == domid);
    List<Runnable> ports = portsByDomain.remove(domid);
    if (ports != null) {
      ports.forEach(Runnable::run);
    }
    for (var it = captureUsers.entrySet().iterator(); it.hasNext();) {
      var e = it.next();
      if (e.getValue().remove(domid) && e.getValue().isEmpty()) {
        it.remove();
        PcapWriter pcap = e.getKey();
        captures.remove(pcap);
        capturesByFile.values().remove(pcap);
        try {
          pcap.close();
        } catch (IOException closing) {
          // The frames already written are flushed frame by frame; nothing more to save.
        }
      }
    }
  }

  /**
   * The toolstack forgets domain {@code domid} (a host daemon's destroyed or ended guest): its
   * vifs leave {@link #vifs}, which otherwise kept every vif of every guest the host ever ran.
   * Until then they stay, so that a run's counters can be read after its guests ended.
   */
  public void forget(int domid) {
    vifs.removeIf(v -> v.domid() == domid);
  }

  /** The capture files open now (tests: a domain's are closed when it goes). */
  public int openCaptures() {
    return captures.size();
  }

  static long macLong(String mac) {
    return Long.parseLong(mac.replace(":", ""), 16);
  }

  public List<VifBackend> vifs() {
    return List.copyOf(vifs);
  }

  /** Flushes the capture files (they stay valid pcap files after every frame anyway). */
  public void flush() {
    for (PcapWriter p : captures) {
      try {
        p.flush();
      } catch (IOException e) {
        // Kept in the writer's failure; the run goes on.
      }
    }
  }

  @Override
  public void close() {
    for (PcapWriter p : captures) {
      try {
        p.close();
      } catch (IOException e) {
        // Nothing more to do for a capture at the end of the run.
      }
    }
    networks.close();
  }
}
