package org.hospes.dom0.toolstack;

import java.nio.file.Path;
import java.util.Locale;
import org.hospes.dom0.net.Networks.NetRef;
import org.hospes.dom0.net.RoutedNetwork;

/**
 * One network interface of a domain's configuration. Two spellings, mixable:
 *
 * <ul>
 *   <li>Hospes's shorthand, as in {@code --vif}:
 *       {@code [mac=MAC][,net=nat|bridge:NAME|isolated:NAME|routed][,pcap=FILE][,ip=A.B.C.D]};
 *   <li>xl's vif syntax (xl-network-configuration): {@code mac=}, {@code bridge=NAME} (the same
 *       as {@code net=bridge:NAME}), {@code type=vif} (a PV interface alone, as libxl makes
 *       no emulated card for it) or {@code type=ioemu} (the HVM default: an emulated card,
 *       {@code model=e1000} unless given, and in pvhvm the vif beside it, as libxl offers both),
 *       {@code model=e1000|virtio|virtio-net|xen},
 *       {@code backend=0} or {@code Domain-0} (the only backend domain), {@code ip=} (the
 *       guest's address, which the routed topology routes to it, as vif-route does).
 * </ul>
 *
 * <p>Without {@code net} or {@code bridge} the interface is on {@code nat}. Without {@code mac}
 * it gets Xen's OUI 00:16:3e and three bytes from the domain id and the interface's index,
 * {@code 00:16:3e:DD:DD:NN}: the same on every run, and different for every interface of a host.
 * An empty text is an interface with every default.
 *
 * @param mac the MAC address as given, or null for the default
 * @param net the network
 * @param pcap a capture file for the interface's traffic, or null
 * @param ip the guest's IPv4 address for the routed topology, or 0
 */
public record VifSpec(String mac, NetRef net, Path pcap, int ip, Model model) {
  public static final String SYNTAX =
      "[mac=MAC][,net=nat|bridge:NAME|isolated:NAME|routed][,pcap=FILE][,ip=A.B.C.D]"
      + "[,model=e1000|virtio|xen]";

  /**
   * What the guest sees ({@code model=}): an emulated Intel 82540EM (e1000), a virtio-net PCI
   * device or a Xen vif (netfront). xl's {@code model=virtio-net} is {@code virtio}. Null in a
   * spec: the mode's default ({@link #modelIn}).
   */
  public enum Model { E1000, VIRTIO, XEN }

  public VifSpec(String mac, NetRef net, Path pcap, int ip) {
    this(mac, net, pcap, ip, null);
  }

  /** True if the guest sees the interface as a virtio-net PCI device. */
  public boolean virtio() {
    return model == Model.VIRTIO;
  }

  /**
   * The model in a domain of {@code mode}: the one given, else e1000 in hvm and hvm-shadow
   * (as xl's default {@code type=ioemu} is an emulated card) and xen (a vif) in pvh and pvhvm.
   */
  public Model modelIn(org.hospes.hv.domain.DomainMode mode) {
    if (model != null) {
      return model;
    }
    return mode == org.hospes.hv.domain.DomainMode.HVM_EPT
        || mode == org.hospes.hv.domain.DomainMode.HVM_SHADOW ? Model.E1000 : Model.XEN;
  }

  /**
   * True if the domain gets an emulated e1000 for the interface: model=e1000, the default in
   * hvm and hvm-shadow, and in pvhvm the default too, beside the vif, as xl offers both there:
   * a Xen-aware guest unplugs the card (Xen's unplug protocol) and takes the vif.
   */
  public boolean e1000In(org.hospes.hv.domain.DomainMode mode) {
    return modelIn(mode) == Model.E1000
        || (model == null && mode == org.hospes.hv.domain.DomainMode.PVHVM);
  }

  /** True if the domain gets a vif (netback) for the interface. */
  public boolean vifIn(org.hospes.hv.domain.DomainMode mode) {
    return modelIn(mode) == Model.XEN;
  }
  public static final NetRef DEFAULT_NET = new NetRef("nat", null);

  /**
   * Parses {@code text}; relative pcap paths are resolved against {@code base}.
   * IllegalArgumentException with a one-line reason on bad input.
   */
  public static VifSpec parse(String text, Path base) {
    String mac = null;
    NetRef net = null;
    Path pcap = null;
    int ip = 0;
    Model model = null;
    String type = null;
    String t = text.strip();
    if (t.isEmpty()) {
      return new VifSpec(null, DEFAULT_NET, null, 0);
    }
    // Each key may be given once, as every other option parser here has it (DeviceSpec,
    // DomainSpec): a second one is refused, naming it, rather than silently winning.
    java.util.Set<String> given = new java.util.HashSet<>();
    for (String item : t.split(",", -1)) {
      String it = item.strip();
      int eq = it.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("vif '" + text + "': '" + it + "' is not KEY=VALUE ("
            + SYNTAX + ")");
      }
      String key = it.substring(0, eq).strip().toLowerCase(Locale.ROOT);
      String value = it.substring(eq + 1).strip();
      if (KEYS.contains(key) && !given.add(key)) {
        throw new IllegalArgumentException("vif '" + text + "': " + key + " given twice");
      }
      switch (key) {
        case "mac" -> {
          if (!value.matches("(?i)([0-9a-f]{2}:){5}[0-9a-f]{2}")) {
            throw new IllegalArgumentException("vif '" + text + "': mac must be six hex pairs"
                + " like 00:16:3e:12:34:56, got '" + value + "'");
          }
          if ((Integer.parseInt(value.substring(0, 2), 16) & 1) != 0) {
            throw new IllegalArgumentException("vif '" + text + "': mac " + value
                + " is a multicast address");
          }
          // All zeros is no station address (Linux's e1000 refuses to probe a card with it);
          // libxl takes it as "not set" and makes one (libxl__mac_is_default), and so do we.
          mac = value.matches("(00:){5}00") ? null : value.toLowerCase(Locale.ROOT);
        }
        case "net" -> net = once(net, NetRef.parse(value), text);
        case "bridge" -> net = once(net, NetRef.parse("bridge:" + value), text);
        case "pcap" -> {
          if (value.isEmpty()) {
            throw new IllegalArgumentException("vif '" + text + "': empty pcap file name");
          }
          pcap = base == null ? Path.of(value) : base.resolve(value);
        }
        case "ip" -> {
          try {
            ip = RoutedNetwork.parseIp(value);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("vif '" + text + "': ip " + e.getMessage());
          }
        }
        case "model" -> model = switch (value) {
          case "e1000" -> Model.E1000;
          case "virtio", "virtio-net" -> Model.VIRTIO;
          case "xen" -> Model.XEN;
          default -> throw new IllegalArgumentException("vif '" + text + "': model=" + value
              + " is not offered (e1000; virtio, or xl's virtio-net; xen)");
        };
        case "type" -> {
          if (value.equals("ioemu") || value.equals("vif")) {
            type = value; // settled with model= after the loop, whatever their order
          } else {
            throw new IllegalArgumentException("vif '" + text + "': type=" + value
                + " is not offered (type=vif, a PV interface, or type=ioemu: model=e1000 or"
                + " virtio-net)");
          }
        }
        case "backend" -> {
          if (!value.equals("0") && !value.equals("Domain-0")) {
            throw new IllegalArgumentException("vif '" + text + "': backend=" + value
                + " is not offered (vifs are served by dom0: backend=0)");
          }
        }
        default -> throw new IllegalArgumentException("vif '" + text + "': unknown key '" + key
            + "'; known: mac, net, pcap, ip, model, and xl's bridge, type, backend");
      }
    }
    // xl's type= as libxl takes it: vif is the PV interface alone (libxl adds no emulated card
    // for it, even in an HVM guest); ioemu is the HVM default, an emulated card and, in a guest
    // with PV drivers (pvhvm), the vif beside it for the guest to switch to after unplugging
    // the card: the mode's default here, so model stays unset unless given.
    if ("vif".equals(type)) {
      if (model != null && model != Model.XEN) {
        throw new IllegalArgumentException("vif '" + text + "': type=vif is a PV interface and"
            + " model=" + model.name().toLowerCase(Locale.ROOT) + " an emulated one; give"
            + " type=ioemu for an emulated card");
      }
      model = Model.XEN;
    } else if ("ioemu".equals(type) && model == Model.XEN) {
      throw new IllegalArgumentException("vif '" + text + "': type=ioemu is an emulated"
          + " interface and model=xen a PV one; give type=vif for a PV interface alone");
    }
    return new VifSpec(mac, net == null ? DEFAULT_NET : net, pcap, ip, model);
  }

  private static final java.util.Set<String> KEYS =
      java.util.Set.of("mac", "net", "bridge", "pcap", "ip", "model", "type", "backend");

  private static NetRef once(NetRef old, NetRef now, String text) {
    if (old != null) {
      throw new IllegalArgumentException("vif '" + text + "': the network is given twice"
          + " (net= and bridge= name the same thing)");
    }
    return now;
  }

  /** The MAC address for interface {@code devid} of domain {@code domid}. */
  public String macFor(int domid, int devid) {
    if (mac != null) {
      return mac;
    }
    return String.format("00:16:3e:%02x:%02x:%02x", (domid >> 8) & 0x7F, domid & 0xFF,
        devid & 0xFF);
  }
}
