package org.hospes.dom0.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.reflect.Constructor;
import java.util.List;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IFactory;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code hospes} command. Errors are one line on stderr ({@code hospes: ...}), never a stack
 * trace (set {@code -Dhospes.debug=true} to get one for internal errors); see {@link ExitStatus}
 * for the statuses.
 *
 * <p>To add a subcommand, list its class in {@link #BUILT_IN}; a subcommand that lives on a
 * branch or in a module not yet merged can be listed by name in {@link #OPTIONAL}, and is
 * registered only when its class is on the class path. A command class may take a
 * {@link CliStreams} in its constructor to get the streams, or use picocli's own.
 */
@Command(
    name = "hospes",
    mixinStandardHelpOptions = true,
    versionProvider = HospesVersion.class,
    description = "Hospes: a Xen-style hypervisor on an emulated i686.",
    footer = {"%nTry 'hospes demo': dom0, two PVH guests and an HVM guest on one host.",
      "Plugins: the ./hospes launcher puts the jars in ~/.hospes/plugins and in"
          + " --plugin-path DIR[:DIR...] (given before the command) on the class path."})
public final class HospesCli implements Callable<Integer> {

  /** Subcommands of this module, in the order help lists them. */
  private static final List<Class<?>> BUILT_IN = List.of(RunCommand.class, RunManyCommand.class,
      StudyCommand.class, DemoCommand.class,
      // The toolstack: xl's verbs against a running host.
      HostCommand.class, CreateCommand.class, ListCommand.class, ConsoleCommand.class,
      LifecycleCommand.Pause.class, LifecycleCommand.Unpause.class,
      LifecycleCommand.Shutdown.class, LifecycleCommand.Destroy.class, SchedCreditCommand.class,
      TopCommand.class, DmesgCommand.class, XenstoreCommand.Ls.class,
      XenstoreCommand.Read.class, XenstoreCommand.Write.class, BlockCommand.Attach.class,
      BlockCommand.Detach.class);

  /** Subcommands written elsewhere, registered if present: the lead merges them by name. */
  private static final List<String> OPTIONAL = List.of("org.hospes.dom0.bench.BenchCommand");

  /**
   * Each command's name (its {@code @Command} name; none has aliases), and its class: what
   * {@code main} looks the first argument up in. Reading the names from the annotations instead
   * parses every command class's {@code @Command} (an annotation proxy and its member map each),
   * on the main thread before the guest starts. {@code CommandTreeTest} checks this table
   * against the annotations of {@link #BUILT_IN} and {@link #OPTIONAL}.
   */
  static final java.util.Map<String, String> BY_NAME = java.util.Map.ofEntries(
      java.util.Map.entry("run", "org.hospes.dom0.cli.RunCommand"),
      java.util.Map.entry("run-many", "org.hospes.dom0.cli.RunManyCommand"),
      java.util.Map.entry("study", "org.hospes.dom0.cli.StudyCommand"),
      java.util.Map.entry("demo", "org.hospes.dom0.cli.DemoCommand"),
      java.util.Map.entry("host", "org.hospes.dom0.cli.HostCommand"),
      java.util.Map.entry("create", "org.hospes.dom0.cli.CreateCommand"),
      java.util.Map.entry("list", "org.hospes.dom0.cli.ListCommand"),
      java.util.Map.entry("console", "org.hospes.dom0.cli.ConsoleCommand"),
      java.util.Map.entry("pause", "org.hospes.dom0.cli.LifecycleCommand$Pause"),
      java.util.Map.entry("unpause", "org.hospes.dom0.cli.LifecycleCommand$Unpause"),
      java.util.Map.entry("shutdown", "org.hospes.dom0.cli.LifecycleCommand$Shutdown"),
      java.util.Map.entry("destroy", "org.hospes.dom0.cli.LifecycleCommand$Destroy"),
      java.util.Map.entry("sched-credit", "org.hospes.dom0.cli.SchedCreditCommand"),
      java.util.Map.entry("top", "org.hospes.dom0.cli.TopCommand"),
      java.util.Map.entry("dmesg", "org.hospes.dom0.cli.DmesgCommand"),
      java.util.Map.entry("xenstore-ls", "org.hospes.dom0.cli.XenstoreCommand$Ls"),
      java.util.Map.entry("xenstore-read", "org.hospes.dom0.cli.XenstoreCommand$Read"),
      java.util.Map.entry("xenstore-write", "org.hospes.dom0.cli.XenstoreCommand$Write"),
      java.util.Map.entry("block-attach", "org.hospes.dom0.cli.BlockCommand$Attach"),
      java.util.Map.entry("block-detach", "org.hospes.dom0.cli.BlockCommand$Detach"),
      java.util.Map.entry("bench", "org.hospes.dom0.bench.BenchCommand"));

  /**
   * This command's model. {@code newCommandLine} sets it to the coded model
   * ({@link RunCommandModel#top}); picocli injects it only when it reads the annotations above,
   * which {@code RunCommandModelTest} does to compare the two.
   */
  @Spec
  CommandSpec spec;

  private final CliStreams streams;

  HospesCli(CliStreams streams) {
    this.streams = streams;
  }

  public static void main(String[] args) {
    // First, so that Ctrl-C while the command starts is said rather than a bare 130.
    StartupSignals.install(args.length > 0 ? args[0] : null);
    if (args.length > 0 && SHOWS_GUEST_OUTPUT.contains(args[0])) {
      PipeReaders.lookEarly(); // whether stdout's reader goes away, if stdout is a pipe
    }
    if (args.length > 0 && GUEST_RUNS.contains(args[0])) {
      // These always build the plugin injector; it is built meanwhile on the other core.
      org.hospes.dom0.plugin.HostPlugins.buildInBackground();
    }
    PrintStream out = StdoutStream.ofProcess();
    PrintStream err = StderrStream.ofProcess(out);
    String first = args.length > 0 ? args[0] : null;
    if (args.length > 1 && isVersionFlag(first)) {
      first = null; // "--version run ...": the whole tree decides, as before
    }
    int status = newCommandLine(new CliStreams(System.in, out, err, true), first)
        .execute(args);
    System.exit(StdoutStream.statusAfterFlush(out, err, status));
  }

  /**
   * The top-level version options: given alone, they need no subcommand, so none is built
   * (building every one from its annotations made {@code hospes --version} slower than a
   * whole {@code run} of the empty kernel: 0.20-0.41 s).
   */
  static final java.util.Set<String> VERSION_FLAGS = java.util.Set.of("--version", "-V");

  /** Null-safe: Set.of's contains throws on null (no argument at all). */
  static boolean isVersionFlag(String arg) {
    return arg != null && VERSION_FLAGS.contains(arg);
  }

  /** The commands that write a guest's output on stdout. */
  private static final java.util.Set<String> SHOWS_GUEST_OUTPUT = java.util.Set.of("run",
      "run-many", "demo", "console");

  /** The commands that run guests, and so need the plugins, whatever their options. */
  private static final java.util.Set<String> GUEST_RUNS = java.util.Set.of("run", "run-many",
      "demo");

  /** The whole command tree writing to the given streams; tests call {@code execute} on it. */
  public static CommandLine newCommandLine(PrintStream out, PrintStream err) {
    return newCommandLine(new CliStreams(out, err));
  }

  /** As above, with {@code in} forwarded to the guest as a user's piped input would be. */
  public static CommandLine newCommandLine(InputStream in, PrintStream out, PrintStream err) {
    return newCommandLine(new CliStreams(in, out, err, false));
  }

  static CommandLine newCommandLine(CliStreams streams) {
    return newCommandLine(streams, null);
  }

  /**
   * The command tree; when {@code first} (the first argument) names a subcommand, that
   * subcommand alone. Picocli builds each subcommand's model by reflection over its options, and
   * for all of them that is about a third of the processor time that {@code hospes run} of an
   * empty kernel takes; a command line that names its subcommand parses and runs the same with
   * the others absent. Anything else ({@code --help}, {@code help run}, a mistyped name) gets
   * the whole tree, so that help lists every command and errors suggest the right one.
   */
  static CommandLine newCommandLine(CliStreams streams, String first) {
    excludeUnusedConverters();
    PrintStream out = streams.out();
    PrintStream err = streams.err();
    IFactory factory = new Factory(streams);
    HospesCli top = new HospesCli(streams);
    top.spec = RunCommandModel.top(top);
    CommandLine cli = new CommandLine(top.spec, factory);
    // An optional command named but absent (its module not built) is a mistyped name: the tree.
    Class<?> named = first == null || !BY_NAME.containsKey(first) ? null
        : optionalClass(BY_NAME.get(first));
    boolean alone = named != null || isVersionFlag(first);
    try {
      if (named != null) {
        addSubcommand(cli, factory, streams, named);
      } else if (!alone) {
        for (Class<?> command : commands()) {
          addSubcommand(cli, factory, streams, command);
        }
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot create a subcommand", e);
    }
    if (!alone) {
      cli.addSubcommand(new CommandLine.HelpCommand());
    }
    // Settings reach only the subcommands present when they are made, so they come last.
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    WholeNumberConverter whole = new WholeNumberConverter();
    cli.registerConverter(Long.class, whole);
    cli.registerConverter(Long.TYPE, whole);
    cli.setParameterExceptionHandler(parameterErrors(streams));
    cli.setExecutionExceptionHandler(internalErrors(streams));
    return cli;
  }

  /** Picocli's system property naming the built-in converters it should not register. */
  static final String CONVERTER_EXCLUDES = "picocli.converters.excludes";

  /**
   * The java.sql and java.time types picocli finds by reflection for its built-in converters
   * ({@code Class.forName}, which initialises them) are not the type of any Hospes option; each
   * {@code CommandLine} registers them again, and {@code java.time.Year}'s initialisation alone
   * builds a {@code DateTimeFormatter}, about 130 classes loaded in every launch. A value the
   * user set is kept.
   */
  static void excludeUnusedConverters() {
    if (System.getProperty(CONVERTER_EXCLUDES) == null) {
      System.setProperty(CONVERTER_EXCLUDES, "java\\.(sql|time)\\..*");
    }
  }

  /**
   * {@code run}'s model is built in code ({@link RunCommandModel}): it is the one on the
   * start-up path that matters. The others are read from their annotations.
   */
  private static void addSubcommand(CommandLine cli, IFactory factory, CliStreams streams,
      Class<?> command) throws Exception {
    if (command == RunCommand.class) {
      cli.addSubcommand("run", new CommandLine(RunCommandModel.run(new RunCommand(streams)),
          factory));
    } else {
      cli.addSubcommand(factory.create(command));
    }
  }

  /** {@code hospes} alone: show what there is to do. */
  @Override
  public Integer call() {
    spec.commandLine().usage(streams.err());
    return ExitStatus.USAGE;
  }

  /** Every subcommand present, in the order help lists them. */
  static List<Class<?>> commands() {
    List<Class<?>> commands = new java.util.ArrayList<>(BUILT_IN);
    for (String name : OPTIONAL) {
      Class<?> command = optionalClass(name);
      if (command != null) {
        commands.add(command);
      }
    }
    return commands;
  }

  private static Class<?> optionalClass(String name) {
    try {
      return Class.forName(name);
    } catch (ClassNotFoundException e) {
      return null;
    }
  }

  /** Bad arguments: one line naming the problem and where help is, status 2. */
  private static IParameterExceptionHandler parameterErrors(CliStreams streams) {
    return new ParameterErrors(streams);
  }

  /**
   * A bug in Hospes: one line, status 1, the trace only on request. Plugins that cannot be
   * installed together are the user's class path, not a bug: their one line, status 2.
   */
  private static IExecutionExceptionHandler internalErrors(CliStreams streams) {
    return new InternalErrors(streams);
  }

  // The two handlers are classes rather than lambdas: picocli's handler interfaces are compiled
  // for Java 5, and a lambda implementing one makes the class-data archive's dump link them,
  // which it then refuses to archive (with the lambdas and two picocli classes besides).

  private record ParameterErrors(CliStreams streams) implements IParameterExceptionHandler {
    @Override
    public int handleParseException(CommandLine.ParameterException e, String[] args) {
      String unknown = unknownCommand(e);
      if (unknown == null) {
        unknown = unknownHelpTopic(e);
      }
      if (unknown != null) {
        streams.error(unknown);
        return ExitStatus.USAGE;
      }
      String message = e.getMessage() == null ? "bad arguments" : e.getMessage().lines()
          .findFirst().orElse("bad arguments");
      String hint = "";
      if (e instanceof CommandLine.UnmatchedArgumentException u && u.isUnknownOption()) {
        List<String> options = u.getUnmatched().stream().filter(a -> a.startsWith("-"))
            .toList();
        message = (options.size() == 1 ? "unknown option: " : "unknown options: ")
            + String.join(", ", options.stream().map(o -> "'" + o + "'").toList());
        hint = elsewhere(options.get(0), e.getCommandLine(), streams);
      }
      streams.error(lowerFirstWord(message) + " (see '"
          + e.getCommandLine().getCommandSpec().qualifiedName()
          + " --help')" + hint);
      return ExitStatus.USAGE;
    }

    /**
     * Picocli's messages are sentences ("Invalid value for option ...", "Missing required
     * parameter ...", "Unmatched argument ..."); every Hospes message after "hospes: " starts
     * in lower case, so theirs do too. Only a capital followed by a lower-case letter is
     * lowered: a name in capitals ('KERNEL') or a quoted value stays as it is.
     */
    static String lowerFirstWord(String message) {
      return message.length() > 1 && Character.isUpperCase(message.charAt(0))
          && Character.isLowerCase(message.charAt(1))
          ? Character.toLowerCase(message.charAt(0)) + message.substring(1) : message;
    }

    /**
     * "; it is an option of 'hospes X'" when {@code option} (up to an '=') is one of other
     * commands', else empty. An option given to the wrong command ({@code run --max-cycles -1
     * K}, where --max-cycles is run-many's) made picocli take its value for the kernel and
     * name the kernel as an unknown option too; the message now names the option alone, and
     * where it belongs.
     */
    static String elsewhere(String option, CommandLine where, CliStreams streams) {
      if (where.getParent() == null) {
        return "";
      }
      String name = option.contains("=") ? option.substring(0, option.indexOf('=')) : option;
      List<String> owners = new java.util.ArrayList<>();
      // The whole tree: a command line that named its command built that command alone.
      newCommandLine(streams, null).getSubcommands().forEach((command, cli) -> {
        if (!command.equals(where.getCommandName()) && !command.equals("help")
            && cli.getCommandSpec().findOption(name) != null) {
          owners.add("'hospes " + command + "'");
        }
      });
      return owners.isEmpty() ? "" : "; it is an option of " + String.join(" and ", owners);
    }

    /**
     * {@code hospes bogus}: picocli calls the first word an unmatched argument; it is a command
     * name that does not exist. The commands it may be a slip for are suggested
     * ({@link #closeCommands}); picocli's own suggestions are not: they share letter pairs with
     * the word and need not be near it ({@code frobnicate} got create, destroy, block-attach).
     * Null for any other error.
     */
    static String unknownCommand(CommandLine.ParameterException e) {
      if (!(e instanceof CommandLine.UnmatchedArgumentException u)
          || e.getCommandLine().getParent() != null
          || e.getCommandLine().getSubcommands().isEmpty()
          || u.getUnmatched().isEmpty() || u.isUnknownOption()) {
        return null;
      }
      return unknownCommand(u.getUnmatched().get(0),
          e.getCommandLine().getSubcommands().keySet());
    }

    /** "unknown command 'NAME' (see 'hospes --help')", with the commands it may be a slip for. */
    static String unknownCommand(String name, java.util.Collection<String> commands) {
      String message = "unknown command '" + name + "' (see 'hospes --help')";
      List<String> suggestions = closeCommands(name, commands);
      if (!suggestions.isEmpty()) {
        message += "; did you mean " + String.join(" or ", suggestions) + "?";
      }
      return message;
    }

    /**
     * {@code hospes help bogus}: picocli's help command says "Unknown subcommand 'bogus'.";
     * the same line as {@code hospes bogus} instead. Null for any other error.
     */
    static String unknownHelpTopic(CommandLine.ParameterException e) {
      // Picocli's help command throws it on behalf of its parent, the top command.
      CommandLine top = e.getCommandLine();
      java.util.regex.Matcher m = java.util.regex.Pattern
          .compile("Unknown subcommand '(.*)'\\.").matcher(String.valueOf(e.getMessage()));
      if (top.getParent() != null || !top.getSubcommands().containsKey("help")
          || !m.matches()) {
        return null;
      }
      java.util.Set<String> commands = new java.util.LinkedHashSet<>(
          top.getSubcommands().keySet());
      commands.remove("help");
      return unknownCommand(m.group(1), commands);
    }
  }

  /**
   * The names within typing distance of {@code typed}, nearest first (ties in the order
   * given): at most one edit (a letter inserted, deleted, changed, or two neighbours swapped)
   * for a word of up to four letters, two for a longer one, and never the whole word.
   */
  static List<String> closeCommands(String typed, java.util.Collection<String> names) {
    int most = Math.min(typed.length() <= 4 ? 1 : 2, typed.length() - 1);
    List<String> close = new java.util.ArrayList<>();
    for (int d = 0; d <= most; d++) {
      for (String name : names) {
        if (editDistance(typed, name) == d && !name.equals(typed)) {
          close.add(name);
        }
      }
    }
    return close;
  }

  /**
   * The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
   * adjacent letters, each one edit (a swap is the commonest slip, {@code destory}).
   */
  static int editDistance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }

  private record InternalErrors(CliStreams streams) implements IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine commandLine,
        CommandLine.ParseResult parseResult) {
      if (e instanceof org.hospes.hv.plugin.PluginException
          || e instanceof org.hospes.x86.jit.EngineSettingsException) {
        // The user's to fix, and said in their words: a plugin, or a -Dhospes.engine or
        // -Dhospes.jit.* setting (HOSPES_JAVA_OPTS) that cannot be used.
        streams.error(e.getMessage());
        return ExitStatus.USAGE;
      }
      if (e instanceof org.hospes.dom0.bench.KernelSources.BuildStoppedException b) {
        // A signal ended the build (make gets Ctrl-C with the terminal's process group): a
        // stop, with the status the signal gives, not a failed build or a bug.
        streams.error("stopped (" + b.signalName() + ") while building: " + b.getMessage());
        return 128 + b.signal();
      }
      if (e instanceof org.hospes.dom0.bench.KernelSources.BuildFailedException b) {
        // The host lacks what a build needs: said plainly, with status 1 as a failure of ours.
        streams.error(b.report());
        return ExitStatus.INTERNAL_ERROR;
      }
      streams.error("internal error: " + e);
      if (Boolean.getBoolean("hospes.debug")) {
        e.printStackTrace(streams.err());
      }
      return ExitStatus.INTERNAL_ERROR;
    }
  }

  /** Gives commands that want them the CLI's streams; anything else picocli builds itself. */
  private static final class Factory implements IFactory {
    private final CliStreams streams;
    /** Picocli's own factory, made when a command without streams is first asked for. */
    private IFactory fallback;

    Factory(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public <K> K create(Class<K> cls) throws Exception {
      try {
        Constructor<K> withStreams = cls.getDeclaredConstructor(CliStreams.class);
        withStreams.setAccessible(true);
        return withStreams.newInstance(streams);
      } catch (NoSuchMethodException e) {
        if (fallback == null) {
          fallback = CommandLine.defaultFactory();
        }
        return fallback.create(cls);
      }
    }
  }
}
