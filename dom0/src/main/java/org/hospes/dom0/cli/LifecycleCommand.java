package org.hospes.dom0.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.Wire;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** pause, unpause, shutdown and destroy: one domain, named or numbered, one request. */
abstract class LifecycleCommand implements Callable<Integer> {
  private final CliStreams streams;
  private final String op;
  private final String done;

  @Mixin
  HostDirOption dir = new HostDirOption();

  @Parameters(paramLabel = "DOMAIN", description = "The domain's name or ID.")
  String domain;

  LifecycleCommand(CliStreams streams, String op, String done) {
    this.streams = streams;
    this.op = op;
    this.done = done;
  }

  @Override
  public Integer call() {
    return dir.run(streams, host -> {
      ObjectNode req = Wire.request(op);
      req.put("domain", domain);
      var r = host.call(req);
      int pauses = r.path("pauses").asInt(0);
      String held = op.equals("unpause") && pauses > 0 ? "; still paused: " + pauses + " more"
          + " pause" + (pauses == 1 ? "" : "s") + " to undo"
          : op.equals("pause") && pauses > 1 ? "; " + pauses + " pauses held, each undone by an"
              + " unpause" : "";
      streams.err().println("hospes: " + done + " domain " + r.path("domid").asInt() + " ("
          + r.path("name").asText() + ")" + held);
      return ExitStatus.HALTED;
    });
  }

  @Command(name = "pause", mixinStandardHelpOptions = true,
      description = "Pauses a domain: its vCPUs are not scheduled until unpause. Pauses are"
          + " counted, as in Xen: each needs its own unpause (at most 255 at once).")
  static final class Pause extends LifecycleCommand {
    Pause(CliStreams streams) {
      super(streams, "pause", "paused");
    }
  }

  @Command(name = "unpause", mixinStandardHelpOptions = true,
      description = "Undoes one pause; the domain runs again once no pause is left. A domain"
          + " that is not paused is refused, as xl's unpause is (EINVAL).")
  static final class Unpause extends LifecycleCommand {
    Unpause(CliStreams streams) {
      super(streams, "unpause", "unpaused");
    }
  }

  @Command(name = "shutdown", mixinStandardHelpOptions = true,
      description = "Asks a domain to power off, as xl does: writes control/shutdown ="
          + " \"poweroff\" in its xenstore directory. A guest that does not watch it ignores it;"
          + " a bare HVM kernel has no xenstore and is refused (use destroy).")
  static final class Shutdown extends LifecycleCommand {
    Shutdown(CliStreams streams) {
      super(streams, "shutdown", "asked to power off:");
    }
  }

  @Command(name = "destroy", mixinStandardHelpOptions = true,
      description = "Ends a domain at once and gives its memory back; the other domains run"
          + " on.")
  static final class Destroy extends LifecycleCommand {
    Destroy(CliStreams streams) {
      super(streams, "destroy", "destroyed");
    }
  }
}
