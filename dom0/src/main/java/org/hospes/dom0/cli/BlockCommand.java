package org.hospes.dom0.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.Wire;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** xl block-attach and block-detach against the running host. */
final class BlockCommand {
  private BlockCommand() {}

  @Command(name = "block-attach", mixinStandardHelpOptions = true,
      description = "Gives a running PVH domain a disk: DISK in --disk's or xl's syntax"
          + " (backend=NAME serves it from driver domain NAME). Its frontend connects when it"
          + " sees the new vbd.")
  static final class Attach implements Callable<Integer> {
    private final CliStreams streams;

    @Mixin
    HostDirOption dir = new HostDirOption();

    @Parameters(index = "0", paramLabel = "DOMAIN", description = "The domain's name or ID.")
    String domain;

    @Parameters(index = "1", paramLabel = "DISK", description = "The disk, in --disk's syntax"
        + " (PATH[,format=raw|qcow2][,mode=ro]...) or xl's (target=PATH,vdev=xvdb,...), with"
        + " backend=NAME for a driver domain; relative paths are from the current directory.")
    String disk;

    Attach(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public Integer call() {
      return dir.run(streams, host -> {
        ObjectNode req = Wire.request("block-attach");
        req.put("domain", domain);
        req.put("disk", disk);
        req.put("cwd", Path.of("").toAbsolutePath().toString());
        JsonNode r = host.call(req);
        streams.err().println("hospes: attached " + r.path("vdev").asText() + " (devid "
            + r.path("devid").asInt() + ") to " + r.path("name").asText() + ", backend in domain "
            + r.path("backend").asInt());
        streams.err().flush();
        return ExitStatus.HALTED;
      });
    }
  }

  @Command(name = "block-detach", mixinStandardHelpOptions = true,
      description = "Asks a domain's disk VDEV to go: the backend closes, the device is removed"
          + " once the frontend closed (at once if no frontend uses it).")
  static final class Detach implements Callable<Integer> {
    private final CliStreams streams;

    @Mixin
    HostDirOption dir = new HostDirOption();

    @Parameters(index = "0", paramLabel = "DOMAIN", description = "The domain's name or ID.")
    String domain;

    @Parameters(index = "1", paramLabel = "VDEV",
        description = "The disk's virtual device, as block-attach named it: xvda to xvdp,"
            + " or its number as xl takes it (51712 is xvda).")
    String vdev;

    Detach(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public Integer call() {
      return dir.run(streams, host -> {
        ObjectNode req = Wire.request("block-detach");
        req.put("domain", domain);
        req.put("disk", vdev);
        JsonNode r = host.call(req);
        streams.err().println("hospes: " + (r.path("removed").asBoolean() ? "detached "
            : "detach of ") + r.path("vdev").asText(vdev)
            + (r.path("removed").asBoolean() ? " from " : " asked of ")
            + r.path("name").asText());
        streams.err().flush();
        return ExitStatus.HALTED;
      });
    }
  }
}
