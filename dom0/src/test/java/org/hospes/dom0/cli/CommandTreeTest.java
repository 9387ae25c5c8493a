package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code main} builds only the subcommand its first argument names (picocli's models of the
 * others cost start-up time), and the whole tree for anything else, so help and errors still
 * see every command.
 */
class CommandTreeTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private CommandLine tree(String first) {
    return HospesCli.newCommandLine(new CliStreams(new PrintStream(out, true,
        StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)), first);
  }

  @Test
  void aNamedSubcommandIsBuiltAlone() {
    assertThat(tree("run").getSubcommands().keySet()).containsExactly("run");
    assertThat(tree("run-many").getSubcommands().keySet()).containsExactly("run-many");
  }

  @Test
  void theNameTableIsWhatTheAnnotationsSay() {
    java.util.Map<String, String> declared = new java.util.HashMap<>();
    for (Class<?> command : HospesCli.commands()) {
      CommandLine.Command c = command.getAnnotation(CommandLine.Command.class);
      for (String alias : c.aliases()) {
        declared.put(alias, command.getName());
      }
      declared.put(c.name(), command.getName());
    }
    assertThat(HospesCli.BY_NAME).isEqualTo(declared);
    for (String name : declared.keySet()) {
      assertThat(tree(name).getSubcommands().keySet()).as(name).containsExactly(name);
    }
  }

  /**
   * Each subcommand's help from the tree {@code main} builds for it alone is byte for byte the
   * help of the whole tree's {@code help NAME}: a narrow tree built another way (picocli's
   * programmatic model, say, to skip reading annotations) must not change what users read.
   */
  @Test
  void everySubcommandsHelpAloneIsTheWholeTreesHelp() {
    for (String name : HospesCli.BY_NAME.keySet()) {
      if (HospesCli.commands().stream().noneMatch(c -> c.getName().equals(
          HospesCli.BY_NAME.get(name)))) {
        continue; // an optional command whose module is absent
      }
      out.reset();
      assertThat(tree(name).execute(name, "--help")).as(name).isZero();
      String alone = out.toString(StandardCharsets.UTF_8);
      out.reset();
      assertThat(tree(null).execute("help", name)).as(name).isZero();
      assertThat(alone).as(name).isNotEmpty().isEqualTo(out.toString(StandardCharsets.UTF_8));
    }
  }

  /** {@code hospes run --help}, pinned: the run command's model is on the start-up path. */
  @Test
  void runsHelpIsPinned() throws Exception {
    String pinned;
    try (var in = CommandTreeTest.class.getResourceAsStream("run-help.txt")) {
      pinned = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(tree("run").execute("run", "--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(pinned);
  }

  @Test
  void anythingElseGetsEveryCommandAndHelp() {
    for (String first : new String[] {null, "--help", "help", "runn"}) {
      assertThat(tree(first).getSubcommands().keySet())
          .as(String.valueOf(first)).contains("run", "run-many", "demo", "study", "help");
    }
  }

  @Test
  void theNarrowTreeParsesAndReportsErrorsAsTheWholeOne() {
    assertThat(tree("run").execute("run", "--bogus", "k.elf")).isEqualTo(2);
    assertThat(tree(null).execute("run", "--bogus", "k.elf")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8).lines()).containsExactly(
        "hospes: unknown option: '--bogus' (see 'hospes run --help')",
        "hospes: unknown option: '--bogus' (see 'hospes run --help')");
    out.reset();
    tree("run").execute("run", "--help");
    String narrow = out.toString(StandardCharsets.UTF_8);
    out.reset();
    tree(null).execute("run", "--help");
    assertThat(narrow).startsWith("Usage: hospes run ").isEqualTo(out.toString(
        StandardCharsets.UTF_8));
  }
}
