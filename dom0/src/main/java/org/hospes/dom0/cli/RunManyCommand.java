package org.hospes.dom0.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.report.StatsDocument;
import org.hospes.dom0.report.StatsReport;
import org.hospes.dom0.toolstack.Dom0Settings;
import org.hospes.dom0.toolstack.HostSettings;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code hospes run-many}: several HVM domains on one hypervisor, consoles prefixed by domain
 * name, one outcome line per domain at the end.
 */
@Command(
    name = "run-many",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Runs several kernels at once, each in its own domain on one hypervisor: HVM domains"
          + " (Multiboot kernels) each with its own device model in dom0, PVH domains with"
          + " xenstore and a PV console from dom0 (and console_io). Console lines go to stdout prefixed with"
          + " '[NAME] '; one outcome line per domain goes to stderr at the end.",
      "",
      "Domain spec: " + DomainSpec.SYNTAX,
      "A config line '" + Dom0Settings.SYNTAX + "' sets dom0's scheduling parameters, a line '"
          + HostSettings.SYNTAX + "' the physical CPUs (--pcpus wins over it).",
      "  mode: hvm (EPT), hvm-shadow (shadow paging), pvhvm (hvm with Xen's platform PCI"
          + " device), pvh (PVH ELF; xenstore, PV console and console_io, no device model), pv;"
          + " type: xl's pv, pvh or hvm; initrd (or ramdisk): the first boot module, as run's"
          + " --initrd; module: more modules (repeatable); ram: MiB (default " + DomainSpec.DEFAULT_RAM_MIB + "); weight, cap:"
          + " scheduler parameters (credit: weight 1..65535, cap in percent of a CPU, 0 for none;"
          + " round robin ignores them); cpus: hard affinity, the physical CPUs the domain may"
          + " run on (N or N-M); cmdline: the multiboot command line, the"
          + " rest of the spec (commas included), so it comes last.",
      "  device: a device from a device-model plugin, device=NAME or"
          + " device=[NAME,key=value...] (repeatable; hvm, hvm-shadow, pvhvm), as run's"
          + " --device.",
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      "0:every domain not destroyed on request exited with status 33 or halted",
      "N:otherwise the status of the first domain (in spec order) that did not: (V<<1)|1 from"
          + " isa-debug-exit, 3 crashed, 4 instruction or time limit",
      "2:bad arguments, bad specs, or a kernel missing or not bootable",
      "130:stopped from outside (Ctrl-C; SIGTERM gives 143) or stdout closed; stats and"
          + " --stats-json are still written",
    })
final class RunManyCommand implements Callable<Integer> {

  private final CliStreams streams;

  @Option(names = "--domain", paramLabel = "SPEC",
      description = "A domain: " + DomainSpec.SYNTAX + ". Repeat for more.")
  List<String> domains = new ArrayList<>();

  @Option(names = "--config", paramLabel = "FILE",
      description = "A file with one domain spec per line ('#' starts a comment); kernel paths"
          + " are relative to the file's directory.")
  Path config;

  @Option(names = "--max-cycles", paramLabel = "N", converter = CycleCountConverter.class,
      description = "Stop after N cycles of virtual time (1 GHz clock; accepts 10k, 5M, 2G);"
          + " domains still running then count as status 4.")
  Long maxCycles;

  @Option(names = "--destroy", paramLabel = "NAME@CYCLES",
      description = "Destroy domain NAME when virtual time reaches CYCLES (accepts 5M, 1G)."
          + " Domains destroyed on request do not count for the exit status.")
  List<String> destroyRequests = new ArrayList<>();

  @Mixin
  HostOptions host;

  @Mixin
  Dom0Options dom0Options = new Dom0Options();

  @Mixin
  EngineOption engine = new EngineOption();

  RunManyCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    String engineError = engine.apply();
    if (engineError != null) {
      streams.error(engineError);
      return ExitStatus.USAGE;
    }
    List<DomainSpec> specs = new ArrayList<>();
    Dom0Settings dom0 = Dom0Settings.DEFAULT;
    HostSettings hostSettings = HostSettings.DEFAULT;
    // Where each spec read from --config came from ("FILE:LINE: "), so that what goes wrong
    // with it later (two of one name, a kernel that does not load) still names the line.
    Map<DomainSpec, String> origin = new java.util.IdentityHashMap<>();
    Map<DomainSpec, Integer> lineOf = new java.util.IdentityHashMap<>();
    try {
      if (config != null) {
        HostConfig file = readHostConfig(config);
        for (int i = 0; i < file.specs().size(); i++) {
          specs.add(file.specs().get(i));
          origin.put(file.specs().get(i), config + ":" + file.lines().get(i) + ": ");
          lineOf.put(file.specs().get(i), file.lines().get(i));
        }
        dom0 = file.dom0();
        hostSettings = file.host();
      }
      dom0 = dom0Options.over(dom0);
      for (String d : domains) {
        specs.add(DomainSpec.parse(d, null));
      }
    } catch (DomainSpec.SpecException e) {
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    } catch (NoSuchFileException e) {
      streams.error("--config " + config + ": no such file");
      return ExitStatus.USAGE;
    } catch (IOException e) {
      streams.error("--config " + config + ": cannot read: " + e.getMessage());
      return ExitStatus.USAGE;
    }
    if (specs.isEmpty()) {
      streams.error("no domains: give --domain " + DomainSpec.SYNTAX + " or --config FILE");
      return ExitStatus.USAGE;
    }
    Map<String, DomainSpec> byName = new HashMap<>();
    for (DomainSpec s : specs) {
      DomainSpec first = byName.putIfAbsent(s.name(), s);
      if (first != null) {
        String firstAt = lineOf.containsKey(first)
            ? " (the first is line " + lineOf.get(first) + " of " + config + ")" : "";
        streams.error(origin.getOrDefault(s, "") + "two domains are named " + s.name()
            + firstAt);
        return ExitStatus.USAGE;
      }
    }
    Set<String> names = byName.keySet();
    int machineMiB = HostRunner.machineMiBFor(specs);
    if (machineMiB > HostRunner.maxMachineMiB()) {
      streams.error("the domains need " + machineMiB + " MiB of machine memory, more than the "
          + HostRunner.maxMachineMiB() + " MiB this host can have (the limit is "
          + org.hospes.hv.memory.MachineMemoryLimit.source() + ")");
      return ExitStatus.USAGE;
    }
    String pcpusProblem = this.host.pcpusProblem();
    if (pcpusProblem != null) {
      streams.error(pcpusProblem);
      return ExitStatus.USAGE;
    }
    int pcpus = this.host.pcpus != null ? (int) (long) this.host.pcpus : hostSettings.pcpus();
    String jsonProblem = this.host.statsJsonProblem();
    if (jsonProblem != null) {
      streams.error(jsonProblem);
      return ExitStatus.USAGE;
    }
    HostRunner host;
    try {
      host = HostRunner.create(machineMiB, this.host.schedulerName(), this.host.costModelName(),
          streams.out());
      host.setHypervisorLog(streams.err());
    } catch (IllegalArgumentException e) {
      // Unknown --sched or --cost-model: the message lists the known names.
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    hostMade.accept(host);
    // Every user error from here on (a --destroy that names no domain, a spec whose disk,
    // interface or kernel is found wanting as its domain is built) leaves a host whose guests
    // never ran: they are torn down (destroyed, their machine memory given back, their disk
    // images, capture files and xenstore nodes released) before the usage status, as xl
    // create tears a half-built domain down.
    boolean started = false;
    try {
      int status = startAll(host, pcpus, dom0, names, specs, origin);
      if (status != STARTED) {
        return status;
      }
      started = true;
    } finally {
      if (!started) {
        host.tearDown("run-many: not started: a usage error");
      }
    }
    try (RunSession session = RunSession.open(streams, false)) {
      return runAndReport(host, session);
    }
  }

  /** {@link #startAll}'s answer when every domain was built and the host is ready to run. */
  private static final int STARTED = -1;

  /** Told of the host run-many makes (tests check what a failed start leaves). */
  java.util.function.Consumer<HostRunner> hostMade = h -> { };

  /**
   * Sets the host up as the options say and builds every domain: {@link #STARTED}, or the
   * usage status after the one-line error.
   */
  private int startAll(HostRunner host, int pcpus, Dom0Settings dom0, Set<String> names,
      List<DomainSpec> specs, Map<DomainSpec, String> origin) {
    String pcpusRefused = HostOptions.applyPcpus(host.hypervisor(), pcpus);
    if (pcpusRefused != null) {
      streams.error(pcpusRefused);
      return ExitStatus.USAGE;
    }
    try {
      dom0.applyTo(host.hypervisor());
    } catch (DomainSpec.SpecException e) {
      streams.error(e.getMessage());
      return ExitStatus.USAGE;
    }
    for (String request : destroyRequests) {
      int at = request.lastIndexOf('@');
      String name = at > 0 ? request.substring(0, at) : "";
      if (!names.contains(name)) {
        streams.error("--destroy " + request + ": expected NAME@CYCLES with NAME one of the"
            + " domains");
        return ExitStatus.USAGE;
      }
      long cycles;
      try {
        cycles = new CycleCountConverter().convert(request.substring(at + 1));
      } catch (RuntimeException e) {
        streams.error("--destroy " + request + ": '" + request.substring(at + 1)
            + "' is not a cycle count (e.g. 50M)");
        return ExitStatus.USAGE;
      }
      host.destroyAt(name, cycles);
    }
    if (this.host.maxInstructions != null) {
      host.setInstructionLimit(this.host.maxInstructions);
    }
    for (DomainSpec s : specs) {
      try {
        host.start(s);
      } catch (BootException e) {
        streams.error(origin.getOrDefault(s, "") + s.name() + ": " + e.about(s.kernel()));
        return ExitStatus.USAGE;
      } catch (IllegalArgumentException | IllegalStateException e) {
        streams.error(origin.getOrDefault(s, "") + s.name() + ": " + e.getMessage());
        return ExitStatus.USAGE;
      }
    }
    return STARTED;
  }

  /** Runs the host to its end (or a stop request) and reports every domain's outcome. */
  private int runAndReport(HostRunner host, RunSession session) {
    long start = System.nanoTime();
    String[] stop = new String[1];
    host.runUntil(maxCycles == null ? Long.MAX_VALUE : maxCycles,
        () -> (stop[0] = session.afterSlice()) != null);
    host.finish();
    long nanos = System.nanoTime() - start;
    streams.out().flush();

    Hypervisor hv = host.hypervisor();
    int status = ExitStatus.HALTED;
    long total = 0;
    Map<Domain, StatsDocument.Ending> endings = new HashMap<>();
    for (GuestDomain g : host.guests()) {
      DomainOutcome o = g.outcome();
      if (o.kind() == DomainOutcome.Kind.RUNNING) {
        o = stop[0] != null
            ? new DomainOutcome(o.kind(), session.stopStatus(), "still running when the run was"
                + " stopped (" + stop[0] + ")", o.instructions())
            : new DomainOutcome(o.kind(), o.status(), String.format(Locale.ROOT, "still"
                + " running at the time limit of %,d cycles", maxCycles), o.instructions());
      }
      total += o.instructions();
      endings.put(g.domain(), new StatsDocument.Ending(o.describe(), o.status()));
      streams.err().println("hospes: " + g.name() + ": " + o.describe());
      if (status == ExitStatus.HALTED && o.kind() != DomainOutcome.Kind.DESTROYED
          && !o.succeeded()) {
        status = o.status();
      }
    }
    if (stop[0] != null) {
      streams.err().println("hospes: run stopped: " + stop[0]);
      status = session.stopStatus();
    }
    List<Domain> reported = StatsReport.reported(hv, endings.keySet());
    if (this.host.stats) {
      int guests = host.guests().size();
      streams.err().printf(Locale.ROOT, "hospes: %d domain%s, %d instructions in %.3f s (%.1f"
          + " MIPS)%n", guests, guests == 1 ? "" : "s", total, nanos / 1e9,
          total / Math.max(nanos / 1e3, 1.0));
      // One line for the host: the domains' translators share their classes.
      RunCommand.printJitLine(streams, reported.stream()
          .flatMap(d -> d.vcpus().stream()).map(v -> v.cpu()).filter(c -> c != null)
          .map(c -> c.jit()).toList());
      StatsReport.printTable(hv, reported, streams.err());
    }
    streams.err().flush();
    // As main will end it (a guest's output that could not be written fails a run that ended
    // well), so that --stats-json's run.status is the process's.
    int guestsStatus = status;
    status = StdoutStream.statusOnceFlushed(streams.out(), status);
    if (this.host.statsJson != null) {
      String outcome = stop[0] != null ? RunResult.STOPPED_PREFIX + stop[0]
          : status != guestsStatus ? "every domain ended well; "
              + StdoutStream.describeFailure(streams.out()) + ": the guests' output was lost"
          : status == ExitStatus.HALTED ? "every domain ended well" : "status " + status;
      StatsDocument doc = StatsReport.document(hv, reported,
          new StatsDocument.RunInfo("host", status, outcome, total), endings::get);
      this.host.writeStatsJson(doc, streams);
    }
    return status;
  }

  /**
   * A host configuration file: its domain specs with the line each is on, and the {@code dom0}
   * and {@code host} lines' settings (the defaults where there is none).
   */
  record HostConfig(List<DomainSpec> specs, List<Integer> lines, Dom0Settings dom0,
      HostSettings host) {}

  /**
   * Reads a host configuration file in one pass: one spec per line, blank lines and '#'
   * comments skipped, at most one {@code dom0} line and one {@code host} line (a second is
   * refused rather than silently winning over the first). Every error names FILE:LINE.
   */
  static HostConfig readHostConfig(Path file) throws IOException {
    List<DomainSpec> specs = new ArrayList<>();
    List<Integer> specLines = new ArrayList<>();
    Dom0Settings dom0 = Dom0Settings.DEFAULT;
    HostSettings host = HostSettings.DEFAULT;
    int dom0Line = 0;
    int hostLine = 0;
    List<String> lines = textLines(file);
    Path base = file.toAbsolutePath().getParent();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      int hash = line.indexOf('#');
      if (hash >= 0) {
        line = line.substring(0, hash);
      }
      if (line.isBlank()) {
        continue;
      }
      int n = i + 1;
      String at = file + ":" + n + ": ";
      try {
        if (Dom0Settings.isDom0Line(line)) {
          if (dom0Line != 0) {
            throw new DomainSpec.SpecException("a second dom0 line (the first is line "
                + dom0Line + "); give weight and cap on one line: " + Dom0Settings.SYNTAX);
          }
          dom0Line = n;
          dom0 = Dom0Settings.parse(line, dom0);
        } else if (HostSettings.isHostLine(line)) {
          if (hostLine != 0) {
            throw new DomainSpec.SpecException("a second host line (the first is line "
                + hostLine + "); " + HostSettings.SYNTAX + " is given once");
          }
          hostLine = n;
          host = HostSettings.parse(line);
        } else {
          specs.add(DomainSpec.parse(line, base));
          specLines.add(n);
        }
      } catch (IllegalArgumentException e) {
        // SpecException, and any other one-line refusal a spec's parts give.
        throw new DomainSpec.SpecException(at + e.getMessage());
      }
    }
    return new HostConfig(specs, specLines, dom0, host);
  }

  /** The file's lines, or a SpecException naming it when it is not text (a kernel, say). */
  private static List<String> textLines(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    String text;
    try {
      text = utf8.decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      text = null;
    }
    if (text == null || text.indexOf('\0') >= 0) {
      throw new DomainSpec.SpecException(file + ": not a text file; --config takes a host"
          + " configuration with one domain spec per line (" + DomainSpec.SYNTAX + ")");
    }
    return text.lines().toList();
  }
}
