package org.hospes.dom0.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.Wire;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** xenstore-ls, xenstore-read and xenstore-write, as dom0, on the running host's xenstored. */
final class XenstoreCommand {
  private XenstoreCommand() {}

  @Command(name = "xenstore-ls", mixinStandardHelpOptions = true,
      description = "Lists the xenstore tree under PATH (default /), one node a line, indented"
          + " by depth: KEY = \"VALUE\".")
  static final class Ls implements Callable<Integer> {
    private final CliStreams streams;

    @Mixin
    HostDirOption dir = new HostDirOption();

    @Parameters(paramLabel = "PATH", arity = "0..1", defaultValue = "/",
        description = "Where to start (default /); a relative path is under dom0's home,"
            + " /local/domain/0.")
    String path;

    Ls(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public Integer call() {
      return dir.run(streams, host -> {
        ObjectNode req = Wire.request("xenstore-ls");
        req.put("path", path);
        for (JsonNode line : host.call(req).path("lines")) {
          streams.out().println(line.asText());
        }
        streams.out().flush();
        return ExitStatus.HALTED;
      });
    }
  }

  @Command(name = "xenstore-read", mixinStandardHelpOptions = true,
      description = "Prints the value at PATH.")
  static final class Read implements Callable<Integer> {
    private final CliStreams streams;

    @Mixin
    HostDirOption dir = new HostDirOption();

    @Parameters(paramLabel = "PATH", description = "The node; a relative path is under dom0's"
        + " home, /local/domain/0.")
    String path;

    Read(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public Integer call() {
      return dir.run(streams, host -> {
        ObjectNode req = Wire.request("xenstore-read");
        req.put("path", path);
        streams.out().println(host.call(req).path("value").asText());
        streams.out().flush();
        return ExitStatus.HALTED;
      });
    }
  }

  @Command(name = "xenstore-write", mixinStandardHelpOptions = true,
      description = "Writes VALUE at PATH (creating it), as dom0.")
  static final class Write implements Callable<Integer> {
    private final CliStreams streams;

    @Mixin
    HostDirOption dir = new HostDirOption();

    @Parameters(index = "0", paramLabel = "PATH", description = "The node, made with its"
        + " parents if missing; a relative path is under dom0's home, /local/domain/0.")
    String path;

    @Parameters(index = "1", paramLabel = "VALUE", description = "The value to store.")
    String value;

    Write(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public Integer call() {
      return dir.run(streams, host -> {
        ObjectNode req = Wire.request("xenstore-write");
        req.put("path", path);
        req.put("value", value);
        host.call(req);
        return ExitStatus.HALTED;
      });
    }
  }
}
