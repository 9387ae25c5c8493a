package org.hospes.dom0.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.DomainInfo;
import org.hospes.dom0.toolstack.host.HostSnapshot;
import org.hospes.dom0.toolstack.host.Wire;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code hospes sched-credit}: the credit scheduler's weights and caps, as xl's. */
@Command(name = "sched-credit", mixinStandardHelpOptions = true,
    description = {"Without -w or -c: lists every domain's (or -d DOMAIN's) weight and cap.",
      "With them: sets the domain's weight (1..65535, default 256: a domain gets CPU in"
          + " proportion to it when CPUs are contended) and cap (percent of one CPU it may use"
          + " at most, 0 for none). The change takes effect from the next scheduling decision."})
final class SchedCreditCommand implements Callable<Integer> {
  private final CliStreams streams;

  @Mixin
  HostDirOption dir = new HostDirOption();

  @Option(names = {"-d", "--domain"}, paramLabel = "DOMAIN", description = "Name or ID.")
  String domain;

  @Option(names = {"-w", "--weight"}, paramLabel = "WEIGHT", description = "The domain's"
      + " weight, 1..65535 (default 256): contended CPU time is shared in proportion to it.")
  Long weight;

  @Option(names = {"-c", "--cap"}, paramLabel = "CAP", description = "The most CPU the domain"
      + " may use, in %% of one pCPU (100 = one whole pCPU); 0 = uncapped.")
  Long cap;

  SchedCreditCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    if ((weight != null || cap != null) && domain == null) {
      streams.error("-w and -c need the domain: sched-credit -d DOMAIN -w WEIGHT -c CAP");
      return ExitStatus.USAGE;
    }
    return dir.run(streams, host -> {
      ObjectNode req = Wire.request("sched-credit");
      if (domain != null) {
        req.put("domain", domain);
      }
      if (weight != null) {
        req.put("weight", weight);
      }
      if (cap != null) {
        req.put("cap", cap);
      }
      var reply = host.call(req);
      if (weight == null && cap == null) {
        HostSnapshot s = ListCommand.snapshot(reply);
        streams.out().printf(Locale.ROOT, "%-32s %5s %6s %4s%n", "Name", "ID", "Weight", "Cap");
        for (DomainInfo d : s.domains()) {
          streams.out().printf(Locale.ROOT, "%-32s %5d %6d %4d%n", d.name(), d.domid(),
              d.weight(), d.cap());
        }
        streams.out().flush();
      }
      return ExitStatus.HALTED;
    });
  }
}
