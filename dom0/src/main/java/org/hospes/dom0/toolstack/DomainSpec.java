package org.hospes.dom0.toolstack;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.hv.domain.DomainMode;

/**
 * What the toolstack needs to build one domain, as written on the command line or in a host
 * configuration file:
 * {@code NAME=KERNEL[,mode=hvm|hvm-shadow|pvh|pvhvm|pv][,ram=MIB][,vcpus=N][,weight=W][,cap=C]
 * [,cpus=N|N-M][,loader=NAME][,initrd=FILE][,module=FILE]...[,disk=DISK]...[,cmdline=TEXT]}.
 * {@code vcpus} (hvm and pvh, 1 to 64; default
 * 1) gives the domain that many vCPUs: vCPU 0 boots, the others wait for INIT-SIPI-SIPI.
 * {@code disk} (repeatable: PV disks xvda, ... in PVH domains; IDE disks hda..hdd by default in
 * hvm and hvm-shadow, {@code bus=xen} for a vbd there) is
 * a {@link DiskSpec}: {@code disk=PATH} for a plain image, or in brackets for options, in
 * Hospes's shorthand or xl's syntax: {@code disk=[img.qcow2,format=qcow2,mode=ro]},
 * {@code disk=[format=raw,vdev=xvdb,access=rw,target=data.img]}. {@code vif} (PVH domains,
 * repeatable; eth0, eth1, ...) is a {@link VifSpec}, in brackets if it has more than one key:
 * {@code vif=[mac=00:16:3e:00:00:01,net=bridge:br0]}, {@code vif=bridge=xenbr0}, {@code vif=}
 * for every default.
 * A mode the hypervisor does not have fails when the domain is built, with its message.
 * {@code cmdline} takes the rest of the text, commas included, so it must come last.
 *
 * @param name unique on the host; prefixes the domain's console lines
 * @param kernel the multiboot kernel
 * @param mode how the domain is virtualized
 * @param ramMiB guest RAM
 * @param weight credit-scheduler weight (1..65535)
 * @param cap credit-scheduler cap in percent of one CPU, 0 for none
 * @param cmdline the kernel command line, or null for none
 * @param loader the kernel loader to use, or null to choose by mode and image
 * @param disks disks, in order: xvda, xvdb, ...: PV disks (pvh, pvhvm), IDE disks (hvm,
 *     hvm-shadow by default), bus=virtio disks (modes with a device model)
 * @param vifs network interfaces, in order: e1000 cards (hvm, hvm-shadow by default), vifs (pvh,
 *     pvhvm by default; in pvhvm also offered as an e1000 to unplug), model=virtio ones
 * @param vcpus vCPUs (1 to 64; more than one in hvm, hvm-shadow, pvhvm and pvh only)
 * @param cpus hard affinity: bit {@code n} for physical CPU {@code n} (xl's {@code cpus=});
 *     -1 for all
 * @param devices devices from device-model plugins ({@code device=NAME} or
 *     {@code device=[NAME,key=value...]}, repeatable; modes with a device model)
 * @param modules boot modules in order ({@code initrd=FILE}, or xl's {@code ramdisk=}, is the
 *     first, as run's {@code --initrd}; {@code module=FILE}, repeatable, the next ones): listed in
 *     a PVH kernel's start info, the first loaded as a bzImage's initrd
 */
public record DomainSpec(String name, Path kernel, DomainMode mode, int ramMiB, int weight,
    int cap, String cmdline, String loader, java.util.List<DiskSpec> disks,
    java.util.List<VifSpec> vifs, int vcpus,
    java.util.List<org.hospes.dom0.devicemodel.plugin.DeviceSpec> devices, long cpus,
    java.util.List<Path> modules) {

  /** A domain with no boot modules. */
  public DomainSpec(String name, Path kernel, DomainMode mode, int ramMiB, int weight,
      int cap, String cmdline, String loader, java.util.List<DiskSpec> disks,
      java.util.List<VifSpec> vifs, int vcpus,
      java.util.List<org.hospes.dom0.devicemodel.plugin.DeviceSpec> devices, long cpus) {
    this(name, kernel, mode, ramMiB, weight, cap, cmdline, loader, disks, vifs, vcpus, devices,
        cpus, java.util.List.of());
  }

  /** A domain that may run on every physical CPU. */
  public DomainSpec(String name, Path kernel, DomainMode mode, int ramMiB, int weight, int cap,
      String cmdline, String loader, java.util.List<DiskSpec> disks,
      java.util.List<VifSpec> vifs, int vcpus,
      java.util.List<org.hospes.dom0.devicemodel.plugin.DeviceSpec> devices) {
    this(name, kernel, mode, ramMiB, weight, cap, cmdline, loader, disks, vifs, vcpus, devices,
        -1L);
  }

  /** A domain without plugin devices. */
  public DomainSpec(String name, Path kernel, DomainMode mode, int ramMiB, int weight, int cap,
      String cmdline, String loader, java.util.List<DiskSpec> disks,
      java.util.List<VifSpec> vifs, int vcpus) {
    this(name, kernel, mode, ramMiB, weight, cap, cmdline, loader, disks, vifs, vcpus,
        java.util.List.of());
  }

  /** A domain with one vCPU. */
  public DomainSpec(String name, Path kernel, DomainMode mode, int ramMiB, int weight, int cap,
      String cmdline, String loader, java.util.List<DiskSpec> disks,
      java.util.List<VifSpec> vifs) {
    this(name, kernel, mode, ramMiB, weight, cap, cmdline, loader, disks, vifs, 1);
  }

  /** A domain without network interfaces. */
  public DomainSpec(String name, Path kernel, DomainMode mode, int ramMiB, int weight, int cap,
      String cmdline, String loader, java.util.List<DiskSpec> disks) {
    this(name, kernel, mode, ramMiB, weight, cap, cmdline, loader, disks, java.util.List.of());
  }

  /** A domain without disks. */
  public DomainSpec(String name, Path kernel, DomainMode mode, int ramMiB, int weight, int cap,
      String cmdline, String loader) {
    this(name, kernel, mode, ramMiB, weight, cap, cmdline, loader, java.util.List.of());
  }

  // Every option parse() takes, in the README's order: run-many's help and its spec errors
  // show this, and a user reading them learns the spec's keys here.
  public static final String SYNTAX = "NAME=KERNEL[,mode=hvm|hvm-shadow|pvhvm|pvh|pv]"
      + "[,type=pv|pvh|hvm][,ram=MIB]"
      + "[,vcpus=N][,weight=W][,cap=C][,cpus=N|N-M][,loader=NAME][,initrd=FILE][,module=FILE]..."
      + "[,disk=DISK]...[,vif=VIF]...[,device=DEVICE]..."
      + "[,cmdline=TEXT]";
  public static final int DEFAULT_RAM_MIB = 16;
  public static final int MAX_RAM_MIB = 1024;
  public static final int DEFAULT_WEIGHT = 256;

  private static final Pattern CMDLINE = Pattern.compile(",\\s*cmdline\\s*=\\s*");
  private static final Pattern BRACKETED_DISK =
      Pattern.compile(",\\s*(disk|vif|device)\\s*=\\s*\\[([^\\]]*)\\]");
  /** What is left of a bracketed value without its closing bracket, once the rest are out. */
  private static final Pattern UNCLOSED_BRACKET =
      Pattern.compile(",\\s*(disk|vif|device)\\s*=\\s*\\[");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");

  /**
   * The line for two disks of a {@code mode} domain given the same vdev (explicitly, or one by
   * its position). Its hint says how the mode names disks: in hvm and hvm-shadow every disk
   * (bus=xen and virtio aside) is an emulated IDE disk, hdX naming its position and any other
   * taking the first free one; elsewhere a disk without a vdev is xvdX by its position.
   */
  public static String duplicateVdev(String vdev, DomainMode mode) {
    if (mode == DomainMode.HVM_EPT || mode == DomainMode.HVM_SHADOW) {
      return "two disks are " + vdev + "; give each its own vdev (in hvm a disk is an IDE"
          + " disk: vdev hda, hdb, hdc or hdd names its position, and a disk without one, or"
          + " with an xvdX one, takes the first free of them)";
    }
    return "two disks are " + vdev + "; give each its own vdev (a disk without one is xvda,"
        + " xvdb, ... by its position)";
  }

  /**
   * Null, or the line for two disks of a {@code mode} domain on one emulated IDE position
   * ({@link DiskSpec#fixedIdePosition}): in pvhvm xvda and hda are both IDE disk 0, which libxl
   * hands QEMU twice (QEMU refuses to start); the second copy was skipped without a word.
   */
  public static String ideClash(java.util.List<DiskSpec> disks, DomainMode mode) {
    Map<Integer, String> at = new java.util.HashMap<>();
    for (DiskSpec d : disks) {
      int p = d.fixedIdePosition(mode);
      if (p < 0) {
        continue;
      }
      String other = at.putIfAbsent(p, d.vdev());
      if (other != null) {
        return other + " and " + d.vdev() + " are both the emulated IDE disk hd"
            + (char) ('a' + p) + " (in pvhvm a vbd xvdX, X below e, is also the IDE disk of"
            + " its index, as with xl); give one of them another vdev";
      }
    }
    return null;
  }

  public DomainSpec {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new SpecException("bad domain name '" + name + "': use 1-32 letters, digits, '_',"
          + " '.' or '-', starting with a letter or digit");
    }
    if (ramMiB < 1 || ramMiB > MAX_RAM_MIB) {
      throw new SpecException(name + ": ram must be 1.." + MAX_RAM_MIB + " MiB, got " + ramMiB);
    }
    if (weight < 1 || weight > 65535) {
      throw new SpecException(name + ": weight must be 1..65535, got " + weight);
    }
    if (vcpus < 1 || vcpus > org.hospes.hv.domain.Domains.MAX_VCPUS) {
      throw new SpecException(name + ": vcpus must be 1.."
          + org.hospes.hv.domain.Domains.MAX_VCPUS + ", got " + vcpus);
    }
    if (vcpus > 1 && mode != DomainMode.HVM_EPT && mode != DomainMode.HVM_SHADOW
        && mode != DomainMode.PVHVM && mode != DomainMode.PVH) {
      throw new SpecException(name + ": vcpus=" + vcpus + " needs mode=hvm, hvm-shadow, pvhvm"
          + " or pvh ("
          + mode.cliName() + " domains have one vCPU so far)");
    }
    if (cap < 0 || cap > 100 * vcpus) {
      throw new SpecException(name + ": cap must be 0.." + 100 * vcpus
          + " (percent of a CPU, 100 per vCPU), got " + cap);
    }
    disks = java.util.List.copyOf(disks);
    boolean pvDevices = mode == DomainMode.PVH || mode == DomainMode.PVHVM
        || mode == DomainMode.PV;
    java.util.Set<String> vdevs = new java.util.HashSet<>();
    for (DiskSpec d : disks) {
      if (d.backendProblem(mode) != null) {
        throw new SpecException(name + ": " + d.backendProblem(mode));
      }
      if (!vdevs.add(d.vdev())) {
        // Both would write the same vbd directory: the build failed in xenstore with an
        // internal error (a NullPointerException) instead of this line.
        throw new SpecException(name + ": " + duplicateVdev(d.vdev(), mode));
      }
    }
    if (ideClash(disks, mode) != null) {
      throw new SpecException(name + ": " + ideClash(disks, mode));
    }
    if (mode == DomainMode.PV && disks.stream().anyMatch(d -> d.busIn(mode) != DiskSpec.Bus.XEN)) {
      throw new SpecException(name + ": a pv domain has no device model: its disks are PV disks"
          + " (xvdX, bus=xen), not IDE or virtio");
    }
    if (disks.stream().anyMatch(DiskSpec::virtio) && mode.pvDevicesOnly()) {
      throw new SpecException(name + ": bus=virtio disks need an hvm mode (hvm, hvm-shadow)");
    }
    vifs = java.util.List.copyOf(vifs);
    for (VifSpec v : vifs) {
      if (v.vifIn(mode) && !pvDevices) {
        throw new SpecException(name + ": model=xen vifs need mode=pvh, pvhvm or pv (they are PV"
            + " network interfaces); hvm modes take model=e1000 (the default) or virtio");
      }
      if (!v.vifIn(mode) && mode.pvDevicesOnly()) {
        throw new SpecException(name + ": model=" + v.modelIn(mode).name().toLowerCase(
            java.util.Locale.ROOT) + " vifs are PCI devices and need an hvm mode (hvm,"
            + " hvm-shadow, pvhvm)");
      }
    }
    modules = java.util.List.copyOf(modules);
    devices = java.util.List.copyOf(devices);
    if (!devices.isEmpty() && (mode.pvDevicesOnly() || mode == DomainMode.PV)) {
      throw new SpecException(name + ": device= adds a device to the device model; mode "
          + mode.cliName() + " has none (use hvm, hvm-shadow or pvhvm)");
    }
  }

  /** A spec whose loader is chosen by mode and image. */
  public DomainSpec(String name, Path kernel, DomainMode mode, int ramMiB, int weight, int cap,
      String cmdline) {
    this(name, kernel, mode, ramMiB, weight, cap, cmdline, null);
  }

  /** A spec with the defaults: hvm, {@value #DEFAULT_RAM_MIB} MiB, weight 256, no cap. */
  public static DomainSpec of(String name, Path kernel, String cmdline) {
    return new DomainSpec(name, kernel, DomainMode.HVM_EPT, DEFAULT_RAM_MIB, DEFAULT_WEIGHT, 0,
        cmdline);
  }

  public DomainSpec withRam(int mib) {
    return new DomainSpec(name, kernel, mode, mib, weight, cap, cmdline, loader, disks, vifs,
        vcpus, devices, cpus, modules);
  }

  public DomainSpec withMode(DomainMode m) {
    return new DomainSpec(name, kernel, m, ramMiB, weight, cap, cmdline, loader, disks, vifs,
        vcpus, devices, cpus, modules);
  }

  /**
   * Parses one spec. Relative kernel paths are resolved against {@code base}.
   *
   * @throws SpecException with a one-line message saying what is wrong
   */
  public static DomainSpec parse(String text, Path base) {
    String s = text.strip();
    int eq = s.indexOf('=');
    if (eq <= 0) {
      throw new SpecException("'" + s + "' is not a domain spec (expected " + SYNTAX + ")");
    }
    String name = s.substring(0, eq).strip();
    String rest = s.substring(eq + 1);
    String cmdline = null;
    Matcher cmd = CMDLINE.matcher(rest);
    if (cmd.find()) {
      cmdline = rest.substring(cmd.end());
      rest = rest.substring(0, cmd.start());
    }
    // Bracketed disks are set aside first (their commas belong to them), leaving a numbered
    // placeholder so disks keep their order.
    java.util.List<String> bracketed = new java.util.ArrayList<>();
    java.util.List<String> diskTexts = new java.util.ArrayList<>();
    java.util.List<String> vifTexts = new java.util.ArrayList<>();
    java.util.List<String> deviceTexts = new java.util.ArrayList<>();
    java.util.List<String> moduleTexts = new java.util.ArrayList<>();
    Matcher bd = BRACKETED_DISK.matcher(rest);
    StringBuilder unbracketed = new StringBuilder();
    while (bd.find()) {
      bracketed.add(bd.group(2));
      bd.appendReplacement(unbracketed,
          "," + bd.group(1) + "=\u0001" + (bracketed.size() - 1));
    }
    bd.appendTail(unbracketed);
    rest = unbracketed.toString();
    // An opening bracket with no closing one would be split at its commas below and its first
    // option reported as an unknown spec option ("unknown option 'slot'"): say what is wrong.
    Matcher open = UNCLOSED_BRACKET.matcher(rest);
    if (open.find()) {
      throw new SpecException(name + ": " + rest.substring(open.start() + 1).strip()
          + ": '[' without a closing ']' (" + open.group(1) + "=[...] holds one "
          + open.group(1) + " with its commas)");
    }
    String[] parts = rest.split(",", -1);
    String kernel = parts[0].strip();
    if (kernel.isEmpty()) {
      throw new SpecException(name + ": no kernel given (expected " + SYNTAX + ")");
    }
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].strip();
      int e = p.indexOf('=');
      if (e <= 0) {
        throw new SpecException(name + ": '" + p + "' is not KEY=VALUE (expected " + SYNTAX
            + ")");
      }
      String key = p.substring(0, e).strip().toLowerCase(Locale.ROOT);
      if (key.equals("module")) {
        moduleTexts.add(p.substring(e + 1).strip());
        continue;
      }
      if (key.equals("disk") || key.equals("vif") || key.equals("device")) {
        String v = p.substring(e + 1).strip();
        (key.equals("disk") ? diskTexts : key.equals("vif") ? vifTexts : deviceTexts)
            .add(v.startsWith("\u0001")
            ? bracketed.get(Integer.parseInt(v.substring(1))) : v);
        continue;
      }
      if (options.put(key, p.substring(e + 1).strip()) != null) {
        throw new SpecException(name + ": " + key + " given twice");
      }
    }
    if (options.containsKey("mode") && options.containsKey("type")
        && mode(name, options.get("mode")) != xlType(name, options.get("type"))) {
      throw new SpecException(name + ": mode=" + options.get("mode") + " and type="
          + options.get("type") + " disagree; give one of them");
    }
    DomainMode mode = DomainMode.HVM_EPT;
    int ram = DEFAULT_RAM_MIB;
    int weight = DEFAULT_WEIGHT;
    int cap = 0;
    int vcpus = 1;
    long cpus = -1L;
    String loader = null;
    String initrd = null;
    for (Map.Entry<String, String> o : options.entrySet()) {
      switch (o.getKey()) {
        case "mode" -> mode = mode(name, o.getValue());
        case "type" -> mode = xlType(name, o.getValue());
        case "ram" -> ram = number(name, "ram", o.getValue());
        case "vcpus" -> vcpus = number(name, "vcpus", o.getValue());
        case "weight" -> weight = number(name, "weight", o.getValue());
        case "cap" -> cap = number(name, "cap", o.getValue());
        case "loader" -> loader = o.getValue();
        case "cpus" -> cpus = cpuList(name, o.getValue());
        case "initrd", "ramdisk" -> {
          if (initrd != null) {
            throw new SpecException(name + ": initrd and ramdisk name the same module");
          }
          initrd = o.getValue();
        }
        default -> throw new SpecException(name + ": unknown option '" + o.getKey()
            + "' (valid: mode, type, ram, vcpus, weight, cap, cpus, loader, initrd, module,"
            + " disk, vif, device, cmdline)");
      }
    }
    java.util.List<DiskSpec> disks = new java.util.ArrayList<>();
    for (String t : diskTexts) {
      try {
        disks.add(DiskSpec.parse(t, disks.size(), base));
      } catch (IllegalArgumentException ex) {
        throw new SpecException(name + ": " + ex.getMessage());
      }
    }
    java.util.List<VifSpec> vifs = new java.util.ArrayList<>();
    for (String t : vifTexts) {
      try {
        vifs.add(VifSpec.parse(t, base));
      } catch (IllegalArgumentException ex) {
        throw new SpecException(name + ": " + ex.getMessage());
      }
    }
    java.util.List<org.hospes.dom0.devicemodel.plugin.DeviceSpec> devices =
        new java.util.ArrayList<>();
    for (String t : deviceTexts) {
      try {
        devices.add(org.hospes.dom0.devicemodel.plugin.DeviceSpec.parse(t));
      } catch (IllegalArgumentException ex) {
        throw new SpecException(name + ": " + ex.getMessage());
      }
    }
    Path path = base == null ? Path.of(kernel) : base.resolve(kernel);
    java.util.List<Path> modules = new java.util.ArrayList<>();
    if (initrd != null) {
      moduleTexts.add(0, initrd);
    }
    for (String m : moduleTexts) {
      if (m.isEmpty()) {
        throw new SpecException(name + ": module= and initrd= need a file");
      }
      modules.add(base == null ? Path.of(m) : base.resolve(m));
    }
    return new DomainSpec(name, path, mode, ram, weight, cap, cmdline, loader, disks, vifs,
        vcpus, devices, cpus, modules);
  }

  private static long cpuList(String name, String value) {
    try {
      return CpuList.parse(value);
    } catch (IllegalArgumentException e) {
      // xl's hint offers lists (N,M-K), which a spec cannot take: its commas separate keys.
      throw new SpecException(name + ": cpus: " + e.getMessage().replace(CpuList.FORMS,
          "(a spec's cpus= takes all, N or N-M; its commas separate keys)"));
    }
  }

  /**
   * xl.cfg's {@code type}: pv, pvh or hvm (an HVM domain with EPT, xl's default); pvhvm is hvm
   * with Xen's platform PCI device (a config file's {@code xen_platform_pci = 1}).
   */
  private static DomainMode xlType(String name, String value) {
    String v = value.replace("\"", "").strip();
    return switch (v) {
      case "pv" -> DomainMode.PV;
      case "pvh" -> DomainMode.PVH;
      case "hvm" -> DomainMode.HVM_EPT;
      case "pvhvm" -> DomainMode.PVHVM;
      default -> throw new SpecException(name + ": unknown type '" + v
          + "' (valid: pv, pvh, hvm, pvhvm)");
    };
  }

  private static DomainMode mode(String name, String value) {
    for (DomainMode m : DomainMode.values()) {
      if (m.cliName().equals(value)) {
        return m;
      }
    }
    throw new SpecException(name + ": unknown mode '" + value + "' (valid: " + validModes()
        + ")");
  }

  /** "hvm, hvm-shadow, pvh": every domain mode. */
  public static String validModes() {
    return java.util.Arrays.stream(DomainMode.values()).map(DomainMode::cliName)
        .collect(java.util.stream.Collectors.joining(", "));
  }

  private static int number(String name, String key, String value) {
    try {
      return Integer.parseInt(value.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new SpecException(name + ": " + key + " must be a number, got '" + value + "'");
    }
  }

  /** A spec that cannot be used; the message is one line for the user. */
  public static final class SpecException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public SpecException(String message) {
      super(message);
    }
  }
}
