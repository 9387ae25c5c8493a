package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The CLI tells picocli not to register its reflective built-in converters for java.sql and
 * java.time ({@link HospesCli#excludeUnusedConverters}), which saves their class
 * initialisation in every launch. That is only right while no option or parameter of any
 * command has such a type (picocli would then fail to parse it), and it must change no help.
 */
class PicocliStartupTest {
  private String saved;

  @BeforeEach
  void save() {
    saved = System.getProperty(HospesCli.CONVERTER_EXCLUDES);
  }

  @AfterEach
  void restore() {
    if (saved == null) {
      System.clearProperty(HospesCli.CONVERTER_EXCLUDES);
    } else {
      System.setProperty(HospesCli.CONVERTER_EXCLUDES, saved);
    }
  }

  private static CommandLine wholeTree(ByteArrayOutputStream out) {
    PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
    return HospesCli.newCommandLine(new CliStreams(print, print), null);
  }

  /** Every command of the tree by its qualified name, subcommands of subcommands included. */
  private static Map<String, CommandLine> commands(CommandLine top) {
    Map<String, CommandLine> all = new LinkedHashMap<>();
    List<CommandLine> pending = new ArrayList<>(List.of(top));
    while (!pending.isEmpty()) {
      CommandLine c = pending.remove(0);
      all.put(c.getCommandSpec().qualifiedName(), c);
      pending.addAll(c.getSubcommands().values());
    }
    return all;
  }

  @Test
  void noOptionOrParameterHasATypeWhoseConverterIsExcluded() {
    HospesCli.excludeUnusedConverters();
    Pattern excluded = Pattern.compile(System.getProperty(HospesCli.CONVERTER_EXCLUDES));
    Map<String, CommandLine> all = commands(wholeTree(new ByteArrayOutputStream()));
    assertThat(all).containsKeys("hospes run", "hospes run-many", "hospes bench", "hospes help");
    List<String> bad = new ArrayList<>();
    int checked = 0;
    for (Map.Entry<String, CommandLine> e : all.entrySet()) {
      CommandSpec spec = e.getValue().getCommandSpec();
      List<ArgSpec> args = new ArrayList<>(spec.options());
      args.addAll(spec.positionalParameters());
      for (ArgSpec arg : args) {
        checked++;
        if (arg.converters().length > 0) {
          continue; // its own converter: picocli's registry is not asked
        }
        List<Class<?>> types = new ArrayList<>(List.of(arg.type()));
        types.addAll(List.of(arg.auxiliaryTypes()));
        for (Class<?> type : types) {
          if (excluded.matcher(type.getName()).matches()) {
            bad.add(e.getKey() + " " + arg + ": " + type.getName());
          }
        }
      }
    }
    assertThat(checked).as("options and parameters checked").isGreaterThan(100);
    assertThat(bad).as("options whose type picocli would no longer convert").isEmpty();
  }

  @Test
  void theExclusionsChangeNoHelpText() {
    Map<String, String> with = helps(true);
    Map<String, String> without = helps(false);
    assertThat(with.keySet()).isEqualTo(without.keySet());
    assertThat(with).isEqualTo(without);
  }

  @Test
  void aValueTheUserSetIsKept() {
    System.setProperty(HospesCli.CONVERTER_EXCLUDES, "java\\.sql\\..*");
    HospesCli.excludeUnusedConverters();
    assertThat(System.getProperty(HospesCli.CONVERTER_EXCLUDES)).isEqualTo("java\\.sql\\..*");
  }

  @Test
  void runStillParsesItsOptionsOfEveryKind() {
    HospesCli.excludeUnusedConverters();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CommandLine tree = wholeTree(out);
    // Path, a long (--ram: a long so that any number gets its range message), a long with a
    // converter, enum-like strings, a list, a flag.
    CommandLine.ParseResult r = tree.parseArgs("run", "--mode", "pvh", "--ram", "64",
        "--cmdline", "console=hvc0", "--stats", "--initrd", "/tmp/x.cpio", "kernel.elf");
    CommandLine.ParseResult run = r.subcommand();
    assertThat(run.matchedOptionValue("--ram", 0L)).isEqualTo(64L);
    assertThat(run.matchedOptionValue("--initrd", (Object) null)).hasToString("/tmp/x.cpio");
    assertThat(run.matchedPositionalValue(0, (Object) null)).hasToString("kernel.elf");
  }

  /**
   * The usage text of every command of the whole tree, with or without the exclusions (an
   * empty value, which the CLI keeps as the user's, excludes nothing).
   */
  private Map<String, String> helps(boolean excluding) {
    System.clearProperty(HospesCli.CONVERTER_EXCLUDES);
    if (!excluding) {
      System.setProperty(HospesCli.CONVERTER_EXCLUDES, "");
    }
    Map<String, String> helps = new LinkedHashMap<>();
    CommandLine tree = wholeTree(new ByteArrayOutputStream());
    assertThat(System.getProperty(HospesCli.CONVERTER_EXCLUDES)).isEqualTo(
        excluding ? "java\\.(sql|time)\\..*" : "");
    for (Map.Entry<String, CommandLine> e : commands(tree).entrySet()) {
      helps.put(e.getKey(), e.getValue().getUsageMessage(CommandLine.Help.Ansi.OFF));
    }
    return helps;
  }
}
