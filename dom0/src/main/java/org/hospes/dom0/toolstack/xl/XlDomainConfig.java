package org.hospes.dom0.toolstack.xl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.hv.domain.DomainMode;

/**
 * A domain as {@code xl create} reads it from an xl.cfg(5) file, checked: what Hospes can build,
 * and a one-line error naming the file, line and key for anything else. Relative paths are
 * resolved against the file's directory (as run-many's host files are), and kept absolute here,
 * because the host that builds the domain may run in another directory.
 *
 * <p>Keys: {@code name} (required), {@code type} = "pvh" | "hvm" | "pv" (and xl's older
 * {@code builder} = "hvm"), {@code memory} (MiB, default 16), {@code vcpus} (1), {@code kernel}
 * (required: Hospes has no firmware to boot a disk), {@code ramdisk}, {@code cmdline} (or xl's
 * {@code root} and {@code extra}), {@code disk} = [...] (xl-disk-configuration; PVH and PVHVM),
 * {@code on_crash} = "destroy" | "preserve" | "restart", {@code hap} = 0 (HVM with shadow
 * paging), the credit scheduler's {@code cpu_weight} and {@code cap}, and {@code cpus} (hard
 * affinity: "all", "N", "N-M", "N,M-K"). {@code type = "pv"}
 * boots a classic PV kernel; {@code type = "hvm"} with {@code xen_platform_pci = 1} is PVHVM.
 * In the modes with a device model (hvm, hvm-shadow, pvhvm), disks with xl's
 * {@code specification=virtio} and {@code vif = ['model=virtio-net,...']} are virtio PCI devices,
 * and other vifs emulated e1000 cards (xl's {@code type=ioemu} default; in pvhvm a vif as well);
 * vifs of other domain types in config files are refused with a message until they land. Keys that only concern a
 * display or a BIOS are accepted and ignored.
 *
 * @param source the file, as the user named it (for messages)
 * @param kernel absolute path of the kernel image
 * @param ramdisk absolute path of the initial ramdisk (the first boot module), or null
 * @param cmdline the kernel command line, or null
 * @param disks xl disk specifications, in order (xvda first)
 * @param baseDir the file's directory, against which disk targets are resolved
 * @param cpus hard affinity, bit {@code n} for physical CPU {@code n}; -1 for all
 */
public record XlDomainConfig(String source, String name, String type, int memoryMiB, int vcpus,
    String kernel, String ramdisk, String cmdline, List<String> disks, String onCrash,
    int weight, int cap, String baseDir, List<String> vifs, List<String> devices, long cpus) {

  /** Keys accepted and ignored: they concern what Hospes's domains do not have. */
  private static final Set<String> IGNORED = Set.of("uuid", "serial", "vnc", "vnclisten",
      "sdl", "boot", "on_poweroff", "on_reboot", "on_watchdog", "localtime", "acpi", "apic",
      "pae", "usb", "usbdevice", "stdvga", "videoram", "keymap", "maxvcpus", "device_model_version");

  private static final Set<String> KNOWN = Set.of("name", "type", "builder", "memory", "maxmem",
      "vcpus", "kernel", "ramdisk", "cmdline", "root", "extra", "disk", "vif",
      "on_crash", "hap", "xen_platform_pci", "cpu_weight", "cap", "cpus", "device_model_args",
      "device_model_args_hvm");

  public XlDomainConfig {
    disks = List.copyOf(disks);
    vifs = List.copyOf(vifs);
    devices = List.copyOf(devices);
  }

  /** Reads and checks the file. */
  public static XlDomainConfig read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new XlConfigException(file + ": no such file");
    } catch (IOException e) {
      throw new XlConfigException(file + ": cannot read: " + e.getMessage());
    }
    Path base = file.toAbsolutePath().normalize().getParent();
    return of(XlConfigFile.parse(file.toString(), bytes), base);
  }

  /** Checks parsed settings; relative paths resolve against {@code base}. */
  public static XlDomainConfig of(XlConfigFile file, Path base) {
    return new Checker(file, base).check();
  }

  /** The mode this configuration asks for. */
  public DomainMode mode() {
    for (DomainMode m : DomainMode.values()) {
      if (m.cliName().equals(type)) {
        return m;
      }
    }
    throw new IllegalStateException("unchecked type " + type);
  }

  public OnCrash onCrashAction() {
    return OnCrash.of(onCrash);
  }

  /** The run-many spec of this domain (kernel, mode, RAM, scheduling, command line, disks). */
  public DomainSpec toSpec() {
    List<org.hospes.dom0.toolstack.DiskSpec> specs = new ArrayList<>();
    Path base = Path.of(baseDir);
    for (String d : disks) {
      try {
        specs.add(org.hospes.dom0.toolstack.DiskSpec.parse(d, specs.size(), base));
      } catch (IllegalArgumentException e) {
        throw new XlConfigException(source + ": disk: " + e.getMessage());
      }
    }
    List<org.hospes.dom0.toolstack.VifSpec> nics = new ArrayList<>();
    for (String v : vifs) {
      try {
        nics.add(org.hospes.dom0.toolstack.VifSpec.parse(v, base));
      } catch (IllegalArgumentException e) {
        throw new XlConfigException(source + ": vif: " + e.getMessage());
      }
    }
    List<org.hospes.dom0.devicemodel.plugin.DeviceSpec> devs = new ArrayList<>();
    for (String d : devices) {
      try {
        devs.add(org.hospes.dom0.devicemodel.plugin.DeviceSpec.parse(d));
      } catch (IllegalArgumentException e) {
        throw new XlConfigException(source + ": device_model_args: " + e.getMessage());
      }
    }
    try {
      return new DomainSpec(name, Path.of(kernel), mode(), memoryMiB, weight, cap, cmdline, null,
          specs, nics, vcpus, devs, cpus);
    } catch (DomainSpec.SpecException e) {
      throw new XlConfigException(source + ": " + e.getMessage());
    }
  }

  private static final class Checker {
    private final XlConfigFile file;
    private final Map<String, XlConfigFile.Setting> s;
    private final Path base;

    Checker(XlConfigFile file, Path base) {
      this.file = file;
      this.s = file.settings();
      this.base = base;
    }

    XlDomainConfig check() {
      for (XlConfigFile.Setting set : s.values()) {
        if (!KNOWN.contains(set.key()) && !IGNORED.contains(set.key())) {
          throw error(set, "unknown key (Hospes knows: " + String.join(", ",
              new java.util.TreeSet<>(KNOWN)) + ")");
        }
      }
      String name = string("name", null);
      if (name == null) {
        throw new XlConfigException(file.source() + ": name: missing (every domain needs"
            + " name = \"...\")");
      }
      try {
        new DomainSpec(name, Path.of("x"), DomainMode.PVH, 16, 256, 0, null);
      } catch (DomainSpec.SpecException e) {
        throw error(s.get("name"), e.getMessage());
      }
      String type = type();
      int memory = number("memory", DomainSpec.DEFAULT_RAM_MIB, 1, DomainSpec.MAX_RAM_MIB,
          "MiB");
      if (s.containsKey("maxmem") && number("maxmem", memory, 1, Integer.MAX_VALUE, "MiB")
          != memory) {
        throw error(s.get("maxmem"), "must equal memory (" + memory + "): domains cannot"
            + " balloon above their start size yet");
      }
      int vcpus = number("vcpus", 1, 1, org.hospes.hv.domain.Domains.MAX_VCPUS, "vCPUs");
      if (vcpus != 1 && !type.equals(DomainMode.HVM_EPT.cliName())
          && !type.equals(DomainMode.HVM_SHADOW.cliName())
          && !type.equals(DomainMode.PVHVM.cliName())
          && !type.equals(DomainMode.PVH.cliName())) {
        throw error(s.get("vcpus"), "type \"" + type + "\" domains have one vCPU so far;"
            + " SMP needs type = \"hvm\" or \"pvh\"");
      }
      String kernel = path("kernel");
      if (kernel == null) {
        throw new XlConfigException(file.source() + ": kernel: missing (Hospes boots a kernel"
            + " directly: kernel = \"PATH\")");
      }
      String ramdisk = path("ramdisk");
      String cmdline = string("cmdline", null);
      if (cmdline == null) {
        String root = string("root", null);
        String extra = string("extra", null);
        if (root != null || extra != null) {
          cmdline = ((root == null ? "" : "root=" + root) + " "
              + (extra == null ? "" : extra)).strip();
        }
      }
      List<String> disks = stringList("disk");
      // hvm, hvm-shadow and pvhvm have a device model, which serves virtio PCI devices.
      boolean hvm = type.equals(DomainMode.HVM_EPT.cliName())
          || type.equals(DomainMode.HVM_SHADOW.cliName())
          || type.equals(DomainMode.PVHVM.cliName());
      if (!disks.isEmpty() && !type.equals(DomainMode.PVH.cliName())
          && !type.equals(DomainMode.PVHVM.cliName())
          && !(hvm && disks.stream().allMatch(d -> d.contains("specification=virtio")))) {
        throw error(s.get("disk"), "disks are PV disks and need type = \"pvh\", or \"hvm\" with"
            + " xen_platform_pci = 1, for now, or specification=virtio in an hvm domain");
      }
      List<String> vifs = stringList("vif");
      if (!vifs.isEmpty() && !hvm) {
        throw error(s.get("vif"), "network interfaces in config files are emulated ones for"
            + " now: type = \"hvm\" and vif = ['type=ioemu,model=e1000|virtio-net,...']");
      }
      String onCrash = string("on_crash", "destroy");
      if (OnCrash.of(onCrash) == null) {
        throw error(s.get("on_crash"), "'" + onCrash + "' is not supported (valid: destroy,"
            + " preserve, restart)");
      }
      List<String> devices = devices(hvm);
      int weight = number("cpu_weight", DomainSpec.DEFAULT_WEIGHT, 1, 65535, "");
      int cap = number("cap", 0, 0, 100 * vcpus, "percent of a CPU");
      long cpus = -1L;
      String cpuText = string("cpus", null);
      if (cpuText != null) {
        try {
          cpus = org.hospes.dom0.toolstack.CpuList.parse(cpuText);
        } catch (IllegalArgumentException e) {
          throw error(s.get("cpus"), e.getMessage());
        }
      }
      XlDomainConfig c = new XlDomainConfig(file.source(), name, type, memory, vcpus, kernel,
          ramdisk, cmdline, disks, onCrash, weight, cap, base.toString(), vifs, devices, cpus);
      try {
        c.toSpec(); // disks: their own syntax errors now, not when the host builds the domain
      } catch (XlConfigException e) {
        String key = e.getMessage().startsWith(file.source() + ": vif: ") ? "vif"
            : e.getMessage().startsWith(file.source() + ": device_model_args: ")
            ? (s.containsKey("device_model_args_hvm") ? "device_model_args_hvm"
            : "device_model_args") : "disk";
        if (key.startsWith("device_model_args")) {
          throw error(s.get(key), e.getMessage().substring(
              (file.source() + ": device_model_args: ").length()));
        }
        String msg = e.getMessage();
        String prefix = file.source() + ": " + key + ": ";
        throw error(s.get(key), msg.startsWith(prefix) ? msg.substring(prefix.length())
            : msg.substring(file.source().length() + 2));
      }
      return c;
    }

    /**
     * xl's extra device-model arguments ({@code device_model_args_hvm}, or
     * {@code device_model_args}), which xl hands to QEMU: Hospes understands QEMU's
     * {@code "-device", "NAME[,key=value...]"} pairs, the devices of device-model plugins.
     */
    private List<String> devices(boolean hvm) {
      List<String> out = new ArrayList<>();
      for (String key : List.of("device_model_args_hvm", "device_model_args")) {
        List<String> args = stringList(key);
        if (args.isEmpty()) {
          continue;
        }
        if (!hvm) {
          throw error(s.get(key), "device-model arguments need type = \"hvm\" (a domain"
              + " with a device model)");
        }
        for (int i = 0; i < args.size(); i += 2) {
          if (!args.get(i).equals("-device") || i + 1 == args.size()) {
            throw error(s.get(key), "Hospes understands only \"-device\", \"NAME[,key=value"
                + "...]\" pairs here (devices of device-model plugins), got '" + args.get(i)
                + "'");
          }
          out.add(args.get(i + 1));
        }
      }
      return out;
    }

    private String type() {
      XlConfigFile.Setting t = s.get("type");
      String type = string("type", null);
      if (type == null && s.containsKey("builder")) {
        t = s.get("builder");
        type = string("builder", null);
        if (!type.equals("hvm") && !type.equals("generic")) {
          throw error(t, "'" + type + "' is not a builder (valid: hvm, generic)");
        }
        type = type.equals("generic") ? "pv" : type;
      }
      if (type == null) {
        // xl's default is PV; Hospes's is PVH, what its SDK guests are built for.
        type = "pvh";
      }
      switch (type) {
        case "pv" -> {
          return DomainMode.PV.cliName(); // a classic PV kernel (Xen PV ELF notes)
        }
        case "pvh" -> {
          return DomainMode.PVH.cliName();
        }
        case "hvm" -> {
          boolean hap = number("hap", 1, 0, 1, "") == 1;
          // xl's default is 1; Hospes keeps plain hvm unless the file asks for the device, so
          // existing hvm configurations keep their emulated-only machine.
          if (s.containsKey("xen_platform_pci") && number("xen_platform_pci", 0, 0, 1, "") == 1) {
            if (!hap) {
              throw error(s.get("hap"), "xen_platform_pci = 1 (PVHVM) runs with EPT;"
                  + " set hap = 1 or xen_platform_pci = 0");
            }
            return DomainMode.PVHVM.cliName();
          }
          return hap ? DomainMode.HVM_EPT.cliName() : DomainMode.HVM_SHADOW.cliName();
        }
        default -> throw error(t, "'" + type + "' is not a domain type (valid: pv, pvh, hvm)");
      }
    }

    private String string(String key, String dflt) {
      XlConfigFile.Setting set = s.get(key);
      if (set == null) {
        return dflt;
      }
      if (!(set.value() instanceof String v)) {
        throw error(set, "expected a quoted string, as in " + key + " = \"...\"");
      }
      return v;
    }

    private String path(String key) {
      String p = string(key, null);
      if (p == null) {
        return null;
      }
      if (p.isBlank()) {
        throw error(s.get(key), "empty path");
      }
      Path resolved = base.resolve(p).normalize();
      if (!Files.isRegularFile(resolved)) {
        // kernel = "/boot" exists: "no such file" sent the user looking for a typo.
        throw error(s.get(key), resolved + (Files.isDirectory(resolved) ? ": a directory, not a"
            + " file" : Files.exists(resolved) ? ": not a regular file" : ": no such file"));
      }
      return resolved.toString();
    }

    private int number(String key, int dflt, int min, int max, String unit) {
      XlConfigFile.Setting set = s.get(key);
      if (set == null) {
        return dflt;
      }
      Object v = set.value();
      if (v instanceof String str && str.matches("\\d+")) {
        v = Long.parseLong(str); // xl takes memory = "64" as well
      }
      if (!(v instanceof Long n)) {
        throw error(set, "expected a number, as in " + key + " = " + min);
      }
      if (n < min || n > max) {
        throw error(set, "must be " + min + ".." + max + (unit.isEmpty() ? "" : " " + unit)
            + ", got " + n);
      }
      return (int) (long) n;
    }

    private List<String> stringList(String key) {
      XlConfigFile.Setting set = s.get(key);
      if (set == null) {
        return List.of();
      }
      if (!(set.value() instanceof List<?> items)) {
        throw error(set, "expected a list, as in " + key + " = [ \"...\" ]");
      }
      List<String> out = new ArrayList<>();
      for (Object o : items) {
        if (!(o instanceof String str)) {
          throw error(set, "list items must be quoted strings");
        }
        out.add(str);
      }
      return out;
    }

    private XlConfigException error(XlConfigFile.Setting set, String message) {
      return new XlConfigException(file.source() + ":" + set.line() + ": " + set.key() + ": "
          + message);
    }
  }
}
