package org.hospes.dom0.cli;

import java.nio.file.Path;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.HostClient;
import org.hospes.dom0.toolstack.host.HostException;
import org.hospes.dom0.toolstack.host.HostPaths;
import picocli.CommandLine.Option;

/** The {@code --state-dir} option of the host and of every verb that talks to it. */
final class HostDirOption {

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "The host's state directory (socket, pid file, log). Default:"
          + " $HOSPES_STATE_DIR, else $XDG_RUNTIME_DIR/hospes, else ~/.hospes/host.")
  Path stateDir;

  HostPaths paths() {
    return HostPaths.of(stateDir);
  }

  HostClient client() {
    return new HostClient(paths());
  }

  /** A verb's body: talks to the host, prints, returns the exit status. */
  @FunctionalInterface
  interface Verb {
    int run(HostClient host) throws HostException;
  }

  /** Runs a verb, turning the host's refusals into one-line errors (status 2, or 1 for bugs). */
  int run(CliStreams streams, Verb verb) {
    try {
      return verb.run(client());
    } catch (HostException.NoHost e) {
      if (stateDir == null) {
        streams.error(e.getMessage());
      } else {
        // The hint named the default directory's start, which would not be this one's host.
        streams.error("no host is running in " + stateDir + " (start one with ./hospes host"
            + " start --state-dir " + stateDir + ")");
      }
      return ExitStatus.USAGE;
    } catch (HostException e) {
      streams.error(e.getMessage());
      return e.usage() ? ExitStatus.USAGE : ExitStatus.INTERNAL_ERROR;
    }
  }
}
