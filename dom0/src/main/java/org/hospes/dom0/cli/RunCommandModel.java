package org.hospes.dom0.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hospes.dom0.machine.NativeMachine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Picocli's model of {@code hospes run} and of the top-level command, built in code. Building it
 * from the annotations reads them by reflection, and the JVM makes a proxy class for each
 * annotation type it meets: that was most of the model's cost on the start-up path of
 * {@code hospes run}. The annotations on {@link RunCommand}, its mixins and {@link HospesCli}
 * stay the reference: {@code RunCommandModelTest} checks that this model matches the one picocli
 * reads from them, option by option, and that both parse a command line into the same fields.
 * The help texts are the constants the annotations use, so they cannot drift apart.
 */
final class RunCommandModel {

  private RunCommandModel() {}

  /** The key picocli files its standard help options under (its {@code AutoHelpMixin.KEY}). */
  static final String STANDARD_HELP = "mixinStandardHelpOptions";

  /** {@code hospes run}'s model, its options bound to the fields of {@code run}. */
  static CommandSpec run(RunCommand run) {
    if (run.host == null) {
      run.host = new HostOptions(); // the annotation model lets the factory make the mixin
    }
    CommandSpec spec = CommandSpec.wrapWithoutInspection(run);
    spec.name("run");
    spec.usageMessage()
        .sortOptions(false)
        .description(
            "Boots a kernel and runs it until it stops. The kernel's COM1 output goes to"
                + " stdout; the exit status is the kernel's.",
            "stdin goes to the guest's console (COM1, or the PV console of a Xen-aware kernel),"
                + " as with QEMU's -serial stdio; in a terminal keys go straight to the guest"
                + " and Ctrl-] (or Ctrl-C) ends the run. Ctrl-C and SIGTERM end it cleanly:"
                + " --stats and --stats-json are still written.")
        .exitCodeListHeading("%nExit status:%n")
        .exitCodeList(exitCodes(
            "0", "HLT with nothing left to wake the processor",
            "(V<<1)|1", "the kernel wrote V to isa-debug-exit (port 0xF4), as under QEMU",
            "2", "bad arguments, or the kernel file is missing or not bootable",
            "3", "the kernel crashed (unhandled exception or triple fault)",
            "4", "the instruction limit was reached",
            "130", "ended from outside: Ctrl-], Ctrl-C (SIGTERM: 143), or stdout closed by its"
                + " reader"));
    // Options in the order of RunCommand's fields: the help lists them so (sortOptions false).
    spec.addOption(option(run, Field.MODE, "--mode", "MODE", String.class, RunCommand.MODE_HELP)
        .defaultValue("native").build());
    spec.addPositional(PositionalParamSpec.builder()
        .index("0").paramLabel("KERNEL").arity("0..1").type(Path.class)
        .description(RunCommand.KERNEL_HELP).descriptionKey("")
        .getter(new Binding(run, Field.KERNEL)).setter(new Binding(run, Field.KERNEL))
        .build());
    spec.addOption(option(run, Field.BIOS, "--bios", "ROM", Path.class, RunCommand.BIOS_HELP)
        .build());
    spec.addOption(option(run, Field.RAM, "--ram", "MIB", long.class, RunCommand.RAM_HELP)
        .defaultValue("" + NativeMachine.DEFAULT_RAM_MIB).initialValue(0L).build());
    spec.addOption(option(run, Field.CPUS, "--cpus", "N", long.class, RunCommand.CPUS_HELP)
        .defaultValue("1").initialValue(0L).build());
    spec.addOption(option(run, Field.CMDLINE, "--cmdline", "STRING", String.class,
        RunCommand.CMDLINE_HELP).build());
    spec.addOption(option(run, Field.LOADER, "--loader", "NAME", String.class,
        RunCommand.LOADER_NAME_HELP).build());
    spec.addMixin("host", hostOptions(run));
    spec.addMixin("dom0Options", dom0Options(run));
    spec.addOption(option(run, Field.CONSOLE_LOG, "--console-log", "FILE", Path.class,
        RunCommand.CONSOLE_LOG_HELP).build());
    spec.addOption(option(run, Field.HV_LOG, "--hv-log", "FILE", Path.class,
        RunCommand.HV_LOG_HELP).build());
    spec.addOption(flag(run, Field.HVM_FEP, "--hvm-fep", "hvmFep",
        RunCommand.HVM_FEP_HELP));
    spec.addOption(flag(run, Field.GUEST_PROFILE, "--guest-profile", "guestProfile",
        RunCommand.GUEST_PROFILE_HELP));
    spec.addOption(option(run, Field.SYMBOLS, "--symbols", "FILE", Path.class,
        RunCommand.SYMBOLS_HELP).build());
    spec.addOption(option(run, Field.MODULES, "--module", "FILE", List.class,
        RunCommand.MODULES_HELP).auxiliaryTypes(Path.class).build());
    spec.addOption(option(run, Field.INITRD, "--initrd", "FILE", Path.class,
        RunCommand.INITRD_HELP).build());
    spec.addOption(option(run, Field.DISKS, "--disk",
        "PATH[,format=raw|qcow2][,mode=ro][,bus=ide|virtio|xen]", List.class,
        RunCommand.DISKS_HELP).auxiliaryTypes(String.class).build());
    spec.addOption(option(run, Field.VIFS, "--vif", "[mac=MAC][,net=nat|bridge:NAME"
        + "|isolated:NAME|routed][,pcap=FILE][,model=e1000|virtio|xen]", List.class,
        RunCommand.VIFS_HELP).auxiliaryTypes(String.class).build());
    spec.addOption(option(run, Field.DEVICES, "--device", "NAME[,key=value...]", List.class,
        RunCommand.DEVICES_HELP).auxiliaryTypes(String.class).build());
    CommandSpec engine = CommandSpec.wrapWithoutInspection(run.engine);
    engine.addOption(option(run, Field.ENGINE, "--engine", "ENGINE", String.class,
        EngineOption.ENGINE_HELP).build());
    spec.addMixin("engine", engine);
    spec.addMixin(STANDARD_HELP, standardHelp());
    return spec;
  }

  /** The top-level command's own model (no subcommands): name, texts, help and version. */
  static CommandSpec top(HospesCli top) {
    CommandSpec spec = CommandSpec.wrapWithoutInspection(top);
    spec.name("hospes");
    spec.versionProvider(new HospesVersion());
    spec.usageMessage()
        .description("Hospes: a Xen-style hypervisor on an emulated i686.")
        .footer("%nTry 'hospes demo': dom0, two PVH guests and an HVM guest on one host.",
            "Plugins: the ./hospes launcher puts the jars in ~/.hospes/plugins and in"
                + " --plugin-path DIR[:DIR...] (given before the command) on the class path.");
    spec.addMixin(STANDARD_HELP, standardHelp());
    return spec;
  }

  /**
   * {@code -h/--help} and {@code -V/--version}, as {@code mixinStandardHelpOptions = true} adds
   * them; picocli's own way of adding them reads its mixin's annotations.
   */
  static CommandSpec standardHelp() {
    CommandSpec help = CommandSpec.create();
    help.addOption(OptionSpec.builder("-h", "--help").usageHelp(true)
        .descriptionKey("mixinStandardHelpOptions.help")
        .description("Show this help message and exit.").type(boolean.class)
        .paramLabel("<helpRequested>")
        .initialValue(false).build());
    help.addOption(OptionSpec.builder("-V", "--version").versionHelp(true)
        .descriptionKey("mixinStandardHelpOptions.version")
        .description("Print version information and exit.").type(boolean.class)
        .paramLabel("<versionRequested>")
        .initialValue(false).build());
    return help;
  }

  private static CommandSpec hostOptions(RunCommand run) {
    CommandSpec host = CommandSpec.wrapWithoutInspection(run.host);
    host.addOption(option(run, Field.MAX_INSNS, "--max-insns", "N", Long.class,
        HostOptions.MAX_INSTRUCTIONS_HELP).converters(new InstructionCountConverter()).build());
    host.addOption(option(run, Field.SCHED, "--sched", "NAME", String.class,
        HostOptions.SCHEDULER_HELP).build());
    host.addOption(option(run, Field.PCPUS, "--pcpus", "N", Long.class,
        HostOptions.PCPUS_HELP).build());
    host.addOption(option(run, Field.COST_MODEL, "--cost-model", "NAME", String.class,
        HostOptions.COST_MODEL_HELP).build());
    host.addOption(flag(run, Field.STATS, "--stats", "stats", HostOptions.STATS_HELP));
    host.addOption(option(run, Field.STATS_JSON, "--stats-json", "FILE", Path.class,
        HostOptions.STATS_JSON_HELP).build());
    return host;
  }

  private static CommandSpec dom0Options(RunCommand run) {
    CommandSpec dom0 = CommandSpec.wrapWithoutInspection(run.dom0Options);
    dom0.addOption(option(run, Field.DOM0_WEIGHT, "--dom0-weight", "W", Long.class,
        Dom0Options.WEIGHT_HELP).build());
    dom0.addOption(option(run, Field.DOM0_CAP, "--dom0-cap", "PERCENT", Long.class,
        Dom0Options.CAP_HELP).build());
    return dom0;
  }

  private static OptionSpec.Builder option(RunCommand run, Field field, String name,
      String label, Class<?> type, String description) {
    Binding binding = new Binding(run, field);
    OptionSpec.Builder option = OptionSpec.builder(name).type(type).description(description)
        .descriptionKey("").getter(binding).setter(binding);
    return label == null ? option : option.paramLabel(label);
  }

  /** A boolean option without a value, false unless given (as a {@code boolean} field). */
  private static OptionSpec flag(RunCommand run, Field field, String name, String fieldName,
      String description) {
    // The label picocli gives a field's option without one; a flag's help never shows it.
    return option(run, field, name, "<" + fieldName + ">", boolean.class, description)
        .initialValue(false).build();
  }

  private static Map<String, String> exitCodes(String... keysAndTexts) {
    Map<String, String> codes = new LinkedHashMap<>();
    for (int i = 0; i < keysAndTexts.length; i += 2) {
      codes.put(keysAndTexts[i], keysAndTexts[i + 1]);
    }
    return codes;
  }

  /** The fields of {@code run} and its mixins that options write. */
  enum Field {
    MODE, KERNEL, BIOS, RAM, CPUS, CMDLINE, LOADER, CONSOLE_LOG, HV_LOG, HVM_FEP, GUEST_PROFILE,
    SYMBOLS, MODULES, INITRD,
    DISKS, VIFS, DEVICES, ENGINE, MAX_INSNS, SCHED, PCPUS, COST_MODEL, STATS, STATS_JSON,
    DOM0_WEIGHT, DOM0_CAP
  }

  /**
   * Reads and writes one field, by a switch rather than by reflection: picocli's own field
   * binding would look the fields up reflectively. A class rather than lambdas: picocli's
   * interfaces are compiled for Java 5, and the class-data archive refuses lambdas of them.
   */
  private record Binding(RunCommand run, Field field) implements IGetter, ISetter {

    @SuppressWarnings("unchecked")
    @Override
    public <T> T get() {
      return (T) switch (field) {
        case MODE -> run.mode;
        case KERNEL -> run.kernel;
        case BIOS -> run.bios;
        case RAM -> run.ramMiB;
        case CPUS -> run.cpus;
        case CMDLINE -> run.cmdline;
        case LOADER -> run.loaderName;
        case CONSOLE_LOG -> run.consoleLog;
        case HV_LOG -> run.hvLog;
        case HVM_FEP -> run.hvmFep;
        case GUEST_PROFILE -> run.guestProfile;
        case SYMBOLS -> run.symbols;
        case MODULES -> run.modules;
        case INITRD -> run.initrd;
        case DISKS -> run.disks;
        case VIFS -> run.vifs;
        case DEVICES -> run.devices;
        case ENGINE -> run.engine.engine;
        case MAX_INSNS -> run.host.maxInstructions;
        case SCHED -> run.host.scheduler;
        case PCPUS -> run.host.pcpus;
        case COST_MODEL -> run.host.costModel;
        case STATS -> run.host.stats;
        case STATS_JSON -> run.host.statsJson;
        case DOM0_WEIGHT -> run.dom0Options.weight;
        case DOM0_CAP -> run.dom0Options.cap;
      };
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T set(T value) {
      T old = get();
      switch (field) {
        case MODE -> run.mode = (String) value;
        case KERNEL -> run.kernel = (Path) value;
        case BIOS -> run.bios = (Path) value;
        case RAM -> run.ramMiB = (Long) value;
        case CPUS -> run.cpus = (Long) value;
        case CMDLINE -> run.cmdline = (String) value;
        case LOADER -> run.loaderName = (String) value;
        case CONSOLE_LOG -> run.consoleLog = (Path) value;
        case HV_LOG -> run.hvLog = (Path) value;
        case HVM_FEP -> run.hvmFep = (Boolean) value;
        case GUEST_PROFILE -> run.guestProfile = (Boolean) value;
        case SYMBOLS -> run.symbols = (Path) value;
        case MODULES -> run.modules = (List<Path>) value;
        case INITRD -> run.initrd = (Path) value;
        case DISKS -> run.disks = (List<String>) value;
        case VIFS -> run.vifs = (List<String>) value;
        case DEVICES -> run.devices = (List<String>) value;
        case ENGINE -> run.engine.engine = (String) value;
        case MAX_INSNS -> run.host.maxInstructions = (Long) value;
        case SCHED -> run.host.scheduler = (String) value;
        case PCPUS -> run.host.pcpus = (Long) value;
        case COST_MODEL -> run.host.costModel = (String) value;
        case STATS -> run.host.stats = (Boolean) value;
        case STATS_JSON -> run.host.statsJson = (Path) value;
        case DOM0_WEIGHT -> run.dom0Options.weight = (Long) value;
        case DOM0_CAP -> run.dom0Options.cap = (Long) value;
        default -> throw new AssertionError(field);
      }
      return old;
    }
  }
}
