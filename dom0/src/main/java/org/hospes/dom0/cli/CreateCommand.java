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
      "Keys: name, type = \"pvh\"|\"hvm\"|\"pv\" (hap = 0: shadow paging), memory (MiB), vcpus (1),"
          + " kernel, ramdisk, cmdline (or root/extra), disk = [...] (pvh), on_crash ="
          + " \"destroy\"|\"preserve\"|\"restart\", cpu_weight, cap. Relative paths are relative"
          + " to the file. Refused until they land: xen_platform_pci = 1 (PVHVM), vif."})
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
