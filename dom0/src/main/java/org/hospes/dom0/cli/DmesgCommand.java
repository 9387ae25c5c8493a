package org.hospes.dom0.cli;

import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.Wire;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code hospes dmesg}: the hypervisor's log. */
@Command(name = "dmesg", mixinStandardHelpOptions = true,
    description = "Prints the hypervisor's log: the toolstack's (XEN) lines and the guests'"
        + " console_io output ((dN) lines), the last 256 KiB.")
final class DmesgCommand implements Callable<Integer> {
  private final CliStreams streams;

  @Mixin
  HostDirOption dir = new HostDirOption();

  DmesgCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    return dir.run(streams, host -> {
      streams.out().print(host.call(Wire.request("dmesg")).path("log").asText());
      streams.out().flush();
      return ExitStatus.HALTED;
    });
  }
}
