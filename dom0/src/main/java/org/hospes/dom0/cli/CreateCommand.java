package org.hospes.dom0.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.Wire;
import org.hospes.dom0.toolstack.xl.XlConfigException;
import org.hospes.dom0.toolstack.xl.XlDomainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code hospes create FILE.cfg}: xl create against the running host. */
@Command(name = "create", mixinStandardHelpOptions = true,
    description = {"Builds a domain on the running host from an xl domain configuration"
        + " (xl.cfg syntax) and starts it.",
      "Keys: name, type = \"pvh\"|\"hvm\"|\"pv\" (default pvh; with hvm, hap = 0: shadow"
          + " paging, xen_platform_pci = 1: PVHVM), memory (MiB), vcpus (1; more in hvm and pvh),"
          + " kernel, ramdisk, cmdline (or root/extra), disk = [...] (PV disks in pvh and PVHVM;"
          + " specification=virtio in any hvm), vif = [...] (hvm: model=e1000 or virtio-net,"
          + " a PV vif too in PVHVM), device_model_args_hvm = [\"-device\", \"NAME,...\"] (hvm),"
          + " on_crash = \"destroy\"|\"preserve\"|\"restart\", cpu_weight, cap, cpus (hard"
          + " affinity). Relative paths are relative to the file.",
      "Refused for now: disk in pv domains (and a non-virtio disk in hvm without"
          + " xen_platform_pci = 1), vif in pvh and pv domains, xen_platform_pci = 1 with"
          + " hap = 0."})
final class CreateCommand implements Callable<Integer> {
  private final CliStreams streams;

  @Mixin
  HostDirOption dir = new HostDirOption();

  @Parameters(paramLabel = "FILE.cfg", description = "The domain's configuration.")
  Path file;

  CreateCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    XlDomainConfig config;
    try {
      config = XlDomainConfig.read(file);
    } catch (XlConfigException e) {
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    return dir.run(streams, host -> {
      ObjectNode req = Wire.request("create");
      req.set("config", Wire.JSON.valueToTree(config));
      var r = host.call(req);
      streams.err().println("hospes: created domain " + r.path("domid").asInt() + " ("
          + r.path("name").asText() + ")");
      return ExitStatus.HALTED;
    });
  }
}
