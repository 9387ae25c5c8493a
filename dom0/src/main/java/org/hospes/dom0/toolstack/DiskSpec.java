package org.hospes.dom0.toolstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.abi.Blkif;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.disk.DiskImages;

/**
 * One disk of a domain's configuration. Two spellings are accepted:
 *
 * <ul>
 *   <li>Hospes's shorthand, as in {@code --disk}:
 *       {@code PATH[,format=raw|qcow2][,mode=ro|rw][,bus=ide|virtio|xen]};
 *   <li>xl's disk syntax (xl-disk-configuration): {@code format=}, {@code vdev=},
 *       {@code access=ro|rw} (or r/w), the positional form {@code TARGET,FORMAT,VDEV,ACCESS}
 *       (empty ones keep their defaults: {@code disk.img,raw,hda,rw}), vdev {@code hda..hdd}
 *       for IDE disks, {@code specification=xen|virtio} (xl 4.17's key for a
 *       virtio disk), and {@code target=PATH}, which takes the rest of the text, commas
 *       included, as in xl.
 * </ul>
 *
 * <p>xl's {@code backend=NAME} puts the disk's backend in a driver domain called NAME, which the
 * toolstack creates with the privilege over this guest alone (a driver domain serves one
 * frontend domain); {@code backend=0} or {@code backend=Domain-0} is dom0, the default.
 *
 * <p>Without {@code vdev} the n-th disk (from 0) is {@code xvda}, {@code xvdb}, ...; without
 * {@code format} the image is probed ({@link DiskImages}: qcow2, plugins' formats, then raw). {@code devid} is xl's number for the vdev
 * (xvda = 202 &lt;&lt; 8 = 51712).
 */
public record DiskSpec(Path target, String format, boolean readOnly, String vdev,
    String backend, Bus bus) {

  /**
   * How the guest sees the disk ({@code bus=}): an emulated IDE disk, a virtio-blk PCI device,
   * or a Xen vbd (blkback). xl's {@code specification=virtio} is the same as {@code bus=virtio}.
   * Null in a spec: the mode's default.
   */
  public enum Bus {
    IDE, VIRTIO, XEN;

    static Bus parse(String value, String text) {
      return switch (value) {
        case "ide" -> IDE;
        case "virtio" -> VIRTIO;
        case "xen" -> XEN;
        default -> throw new IllegalArgumentException("disk '" + text
            + "': bus must be ide, virtio or xen, got '" + value + "'");
      };
    }
  }

  /** A disk served by dom0. */
  public DiskSpec(Path target, String format, boolean readOnly, String vdev) {
    this(target, format, readOnly, vdev, null, null);
  }

  /** A disk on the mode's default bus. */
  public DiskSpec(Path target, String format, boolean readOnly, String vdev, String backend) {
    this(target, format, readOnly, vdev, backend, null);
  }

  /** True if the guest sees the disk as a virtio-blk PCI device. */
  public boolean virtio() {
    return bus == Bus.VIRTIO;
  }

  /** The driver domain's name, or null when dom0 serves the disk. */
  @Override
  public String backend() {
    return backend;
  }

  /** The image formats: built in and from plugins on the class path (built once). */
  public static DiskImages formats() {
    return org.hospes.dom0.plugin.HostPlugins.classPath().diskImages();
  }

  /**
   * xl's device number for the vdev: xvdX = 202 &lt;&lt; 8 + 16 * X; hda/hdb are major 3 and
   * hdc/hdd major 22, unit 0 or 64 (Linux's IDE majors, as libxl numbers them).
   */
  public int devid() {
    int ide = ideIndex(vdev);
    if (ide >= 0) {
      return (ide < 2 ? 3 << 8 : 22 << 8) | (ide & 1) << 6;
    }
    return Blkif.devidOf(vdev);
  }

  /**
   * Parses {@code text}, the {@code index}-th disk of its domain; relative paths are resolved
   * against {@code base}. IllegalArgumentException with a one-line reason on bad input.
   */
  public static DiskSpec parse(String text, int index, Path base) {
    String target = null;
    String format = null;
    String vdev = null;
    Boolean ro = null;
    String backend = null;
    Bus bus = null;
    String rest = text.trim();
    if (rest.isEmpty()) {
      throw new IllegalArgumentException("empty disk specification");
    }
    // xl's positional parameters, in order: target, format, vdev, access (an empty one keeps
    // its default); a parameter named by key counts as given.
    int positional = 0;
    // Each setting may be given once, by position or by one of its keys, as every other
    // option parser here has it (DeviceSpec, DomainSpec): a second one is refused, naming it,
    // rather than silently winning. Setting -> how it was first given.
    java.util.Map<String, String> given = new java.util.HashMap<>();
    while (!rest.isEmpty()) {
      if (rest.startsWith("target=")) {
        once(given, "target", "target=", text);
        target = rest.substring("target=".length());
        if (target.contains(",target=")) {
          // xl's target= takes the rest of the text, so a second one would be part of the
          // path: far likelier a repeated key than a file name with ",target=" in it.
          throw new IllegalArgumentException("disk '" + text + "': target given twice");
        }
        break;
      }
      int comma = rest.indexOf(',');
      String item = comma < 0 ? rest : rest.substring(0, comma);
      // xl allows spaces after the commas ('format=raw, vdev=xvda, target=...').
      rest = comma < 0 ? "" : rest.substring(comma + 1).stripLeading();
      item = item.strip();
      int eq = item.indexOf('=');
      boolean byPosition = false;
      if (eq < 0) {
        while (positional == 0 && target != null || positional == 1 && format != null
            || positional == 2 && vdev != null || positional == 3 && ro != null) {
          positional++;
        }
        if (positional > 3) {
          throw new IllegalArgumentException("disk '" + text + "': '" + item
              + "' is not KEY=VALUE, and target, format, vdev and access are all given");
        }
        if (!item.isEmpty()) {
          String key = POSITIONAL[positional];
          byPosition = true;
          item = key + "=" + item;
          eq = key.length();
        } else if (positional == 0) {
          throw new IllegalArgumentException("disk '" + text + "': empty image path");
        }
        positional++;
      }
      if (eq >= 0) {
        String key = item.substring(0, eq);
        String value = item.substring(eq + 1);
        String setting = SETTINGS.get(key);
        if (setting != null) {
          once(given, setting, byPosition ? "by position" : key + "=", text);
        }
        switch (key) {
          case "format" -> {
            if (value.isEmpty()) {
              throw new IllegalArgumentException("disk '" + text + "': empty format");
            }
            // Checked against the registry (plugins add formats) when the image is opened.
            format = value;
          }
          case "mode", "access" -> ro = switch (value) {
            case "ro", "r" -> true;
            case "rw", "w" -> false;
            default -> throw new IllegalArgumentException("disk '" + text + "': " + key
                + " must be ro or rw, got '" + value + "'");
          };
          case "target" -> target = value;
          case "vdev" -> {
            if (Blkif.devidOf(value) < 0 && ideIndex(value) < 0) {
              throw new IllegalArgumentException("disk '" + text + "': vdev must be xvda..xvdp"
                  + " or hda..hdd, got '" + value + "'");
            }
            vdev = value;
          }
          case "backend" -> {
            if (value.equals("0") || value.equals("Domain-0")) {
              backend = null;
            } else if (value.matches("[A-Za-z][A-Za-z0-9_.-]{0,63}")) {
              backend = value;
            } else {
              throw new IllegalArgumentException("disk '" + text + "': backend must be a"
                  + " domain name (letters, digits, _ . -) or 0, got '" + value + "'");
            }
          }
          case "bus" -> bus = Bus.parse(value, text);
          case "specification" -> bus = switch (value) {
            case "virtio" -> Bus.VIRTIO;
            case "xen" -> Bus.XEN;
            default -> throw new IllegalArgumentException("disk '" + text
                + "': specification must be xen or virtio, got '" + value + "'");
          };
          default -> throw new IllegalArgumentException("disk '" + text + "': unknown key '"
              + key + "'; known: format, mode, access, vdev, backend, bus, specification,"
              + " target");
        }
      }
    }
    if (target == null || target.isEmpty()) {
      throw new IllegalArgumentException("disk '" + text + "' names no image (PATH or target=)");
    }
    if (vdev == null) {
      if (index > 15) {
        throw new IllegalArgumentException("at most 16 disks (xvda..xvdp)");
      }
      vdev = "xvd" + (char) ('a' + index);
    }
    Path p = base == null ? Path.of(target) : base.resolve(target);
    if (bus == Bus.VIRTIO && backend != null) {
      throw new IllegalArgumentException("disk '" + text + "': bus=virtio is served by the"
          + " device model in dom0; backend= is for xen disks");
    }
    if (ideIndex(vdev) >= 0 && bus != null && bus != Bus.IDE && bus != Bus.XEN) {
      throw new IllegalArgumentException("disk '" + text + "': vdev " + vdev + " is an IDE"
          + " disk; bus=" + bus.name().toLowerCase(java.util.Locale.ROOT) + " takes xvdX");
    }
    return new DiskSpec(p, format, ro != null && ro, vdev, backend, bus);
  }

  private static final String[] POSITIONAL = {"target", "format", "vdev", "access"};

  /**
   * The setting each key gives: xl's access= and Hospes's mode= are one, as are bus= and xl's
   * specification=.
   */
  private static final java.util.Map<String, String> SETTINGS = java.util.Map.of(
      "target", "target", "format", "format", "vdev", "vdev", "mode", "access",
      "access", "access", "backend", "backend", "bus", "bus", "specification", "bus");

  /**
   * Records that {@code setting} is given {@code how} ("format=", "by position"), or refuses
   * it with a one-line reason naming the setting if it was given before.
   */
  private static void once(java.util.Map<String, String> given, String setting, String how,
      String text) {
    String first = given.putIfAbsent(setting, how);
    if (first == null) {
      return;
    }
    // The same key twice is named as written (mode=ro,mode=rw: "mode"); two spellings of one
    // setting are named by the setting, with both spellings.
    throw new IllegalArgumentException("disk '" + text + "': " + (first.equals(how)
        ? how.substring(0, how.length() - 1) + " given twice"
        : setting + " given twice (" + first + ", then " + how + ")"));
  }

  /** hda..hdd as 0..3 (primary master, primary slave, secondary master, slave), else -1. */
  public static int ideIndex(String vdev) {
    return vdev != null && vdev.matches("hd[a-d]") ? vdev.charAt(2) - 'a' : -1;
  }

  /**
   * The bus the disk is on in a domain of that kind: {@code bus=} if given; else an emulated
   * IDE disk in an HVM domain with a device model ({@code hvmDefault}, hvm and hvm-shadow),
   * and a Xen vbd elsewhere (pvh keeps its PV disks). A vdev of hdX asks for IDE, as in xl.
   */
  public Bus busFor(boolean hvmDefault) {
    return busFor0(hvmDefault);
  }

  /**
   * The bus in a domain of {@code mode}: IDE by default in hvm and hvm-shadow; a vbd in pvh and
   * pvhvm (whose Linux drives its disks with xen-blkfront; in pvhvm the toolstack offers the
   * first four as emulated IDE disks too, for the guest to unplug).
   */
  public Bus busIn(org.hospes.hv.domain.DomainMode mode) {
    if (mode == org.hospes.hv.domain.DomainMode.PVHVM && bus == null) {
      // hdX too: a vbd, with the emulated copy the toolstack adds beside it (as xl does).
      return Bus.XEN;
    }
    return busFor0(mode == org.hospes.hv.domain.DomainMode.HVM_EPT
        || mode == org.hospes.hv.domain.DomainMode.HVM_SHADOW);
  }

  /**
   * The emulated IDE position (0..3: hda..hdd) this disk's vdev fixes in a domain of
   * {@code mode}, or -1 (none, or the first free one): an IDE disk named hdX; in pvhvm a vbd
   * named hdX or xvdX with X below e as well, since the toolstack offers it as the IDE disk of
   * its index beside the vbd, as libxl gives QEMU each disk at its disk index.
   */
  public int fixedIdePosition(org.hospes.hv.domain.DomainMode mode) {
    Bus b = busIn(mode);
    boolean pvhvmCopy = mode == org.hospes.hv.domain.DomainMode.PVHVM && b == Bus.XEN;
    if (b != Bus.IDE && !pvhvmCopy) {
      return -1;
    }
    int at = ideIndex(vdev);
    if (at < 0 && pvhvmCopy && vdev != null && vdev.matches("xvd[a-d]")) {
      at = vdev.charAt(3) - 'a';
    }
    return at;
  }

  /**
   * Null, or why this disk cannot be in a domain of {@code mode}: a driver domain
   * ({@code backend=}) serves PV disks only, and an emulated IDE disk is dom0's device model's.
   */
  public String backendProblem(org.hospes.hv.domain.DomainMode mode) {
    if (backend == null || busIn(mode) != Bus.IDE) {
      return null;
    }
    return "disk " + target + ": backend=" + backend + ": an emulated IDE disk is served by"
        + " dom0's device model; backend= is for xen disks (bus=xen, or a pvh, pvhvm or pv"
        + " domain)";
  }

  private Bus busFor0(boolean hvmDefault) {
    if (bus != null) {
      return bus;
    }
    return hvmDefault || ideIndex(vdev) >= 0 ? Bus.IDE : Bus.XEN;
  }

  /**
   * Opens the image; IOException with a one-line message naming the file if it is missing,
   * unreadable or not of its format.
   */
  public DiskImage open() throws IOException {
    if (!Files.exists(target)) {
      // xl's target= takes the rest of the text, commas included, so a key after it
      // ('target=a.img,format=raw') became part of the path: say so, or the user hunts for a
      // file they never named.
      boolean swallowed = SETTINGS.keySet().stream()
          .anyMatch(k -> target.toString().contains("," + k + "="));
      throw new IOException("disk image " + target + " does not exist" + (swallowed
          ? " (target= takes the rest of the text, commas included: give it last)" : ""));
    }
    if (!Files.isRegularFile(target)) {
      throw new IOException("disk image " + target + " is not a regular file");
    }
    if (!Files.isReadable(target)) {
      // Before the writable check, whose advice (mode=ro) would not help here.
      throw new IOException("disk image " + target + " is not readable (permission denied)");
    }
    if (!readOnly && !Files.isWritable(target)) {
      throw new IOException("disk image " + target + " is not writable (use mode=ro)");
    }
    return formats().open(target, format, readOnly);
  }
}
