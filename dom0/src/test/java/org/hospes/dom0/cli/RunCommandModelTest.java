package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * The coded models of {@code run} and of the top-level command ({@link RunCommandModel}) are
 * the models picocli reads from the annotations of {@link RunCommand}, its mixins and
 * {@link HospesCli}: the same options in the same order with the same attributes, the same
 * help, and the same fields after parsing the same arguments, or the same error.
 */
class RunCommandModelTest {
  private final CliStreams streams = new CliStreams(
      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));

  private static CommandSpec annotated(Object command) {
    return new CommandLine(command).getCommandSpec();
  }

  @Test
  void runsOptionsAreTheAnnotatedOnes() {
    CommandSpec reference = annotated(new RunCommand(streams));
    CommandSpec coded = RunCommandModel.run(new RunCommand(streams));
    assertThat(describe(coded.options())).isEqualTo(describe(reference.options()));
    assertThat(describe(coded.positionalParameters()))
        .isEqualTo(describe(reference.positionalParameters()));
    assertThat(coded.mixins().keySet()).isEqualTo(reference.mixins().keySet());
    for (String mixin : reference.mixins().keySet()) {
      assertThat(describe(coded.mixins().get(mixin).options())).as(mixin)
          .isEqualTo(describe(reference.mixins().get(mixin).options()));
    }
    assertThat(coded.mixinStandardHelpOptions()).isTrue();
    assertThat(usage(coded)).isEqualTo(usage(reference));
  }

  @Test
  void theTopLevelIsTheAnnotatedOne() {
    CommandSpec reference = annotated(new HospesCli(streams));
    CommandSpec coded = RunCommandModel.top(new HospesCli(streams));
    assertThat(coded.name()).isEqualTo(reference.name());
    assertThat(describe(coded.options())).isEqualTo(describe(reference.options()));
    assertThat(coded.mixins().keySet()).isEqualTo(reference.mixins().keySet());
    assertThat(usage(coded)).isEqualTo(usage(reference));
    assertThat(coded.version()).isEqualTo(reference.version());
    assertThat(coded.versionProvider().getClass())
        .isEqualTo(reference.versionProvider().getClass());
  }

  /** Every option given, then none: each model's command ends with the same field values. */
  @Test
  void bothParseIntoTheSameFields() throws Exception {
    String[][] lines = {
      {},
      {"--mode", "pvh", "--bios", "rom.bin", "--ram", "96", "--cpus", "3", "--cmdline", "a b",
        "--loader", "elf", "--max-insns", "10k", "--sched", "rr", "--pcpus", "2",
        "--cost-model", "skylake", "--stats", "--stats-json", "s.json", "--dom0-weight", "512",
        "--dom0-cap", "50", "--console-log", "c.log", "--hv-log", "h.log", "--hvm-fep",
        "--module", "m1", "--module=m2", "--initrd", "i.img", "--disk", "d.img,format=raw",
        "--disk", "e.img", "--vif", "mac=00:16:3e:00:00:01", "--device", "edu",
        "--device", "edu,x=1", "--engine", "interp", "kernel.elf"},
      {"--max-insns=5M", "--mode=hvm", "k"},
    };
    for (String[] args : lines) {
      RunCommand byAnnotations = new RunCommand(streams);
      RunCommand byCode = new RunCommand(streams);
      new CommandLine(byAnnotations).parseArgs(args);
      new CommandLine(RunCommandModel.run(byCode)).parseArgs(args);
      assertThat(fields(byCode)).as(String.join(" ", args)).isEqualTo(fields(byAnnotations))
          .isNotEmpty();
    }
  }

  /** Converters, arity and types: the same one-line errors (what the user reads). */
  @Test
  void bothRefuseTheSameWay() {
    String[][] lines = {
      {"--ram", "lots", "k"}, {"--cpus"}, {"--max-insns", "0", "k"}, {"--max-insns", "x"},
      {"--pcpus", "1.5"}, {"--dom0-cap", ""}, {"--stats=yes"}, {"--hvm-fep", "--hvm-fep"},
      {"a", "b"}, {"--bogus"}, {"--mode"}, {"--engine"},
    };
    for (String[] args : lines) {
      String reference = error(new CommandLine(new RunCommand(streams)), args);
      String coded = error(new CommandLine(RunCommandModel.run(new RunCommand(streams))), args);
      assertThat(coded).as(String.join(" ", args)).isEqualTo(reference).isNotNull();
    }
  }

  private static String error(CommandLine cli, String[] args) {
    CommandLine.ParameterException e = catchThrowableOfType(() -> cli.parseArgs(args),
        CommandLine.ParameterException.class);
    return e == null ? null : e.getMessage();
  }

  private static String usage(CommandSpec spec) {
    return new CommandLine(spec).getUsageMessage(CommandLine.Help.Ansi.OFF);
  }

  /** Everything picocli knows of an option or positional that changes help or parsing. */
  private static List<Map<String, Object>> describe(List<? extends ArgSpec> args) {
    List<Map<String, Object>> all = new ArrayList<>();
    for (ArgSpec a : args) {
      Map<String, Object> d = new LinkedHashMap<>();
      if (a instanceof OptionSpec o) {
        d.put("names", List.of(o.names()));
        d.put("negatable", o.negatable());
        d.put("usageHelp", o.usageHelp());
        d.put("versionHelp", o.versionHelp());
        d.put("help", o.help());
        d.put("fallback", o.fallbackValue());
        d.put("order", o.order());
      }
      if (a instanceof PositionalParamSpec p) {
        d.put("index", p.index().toString());
      }
      d.put("paramLabel", a.paramLabel());
      d.put("hideParamSyntax", a.hideParamSyntax());
      d.put("arity", a.arity().toString());
      d.put("type", a.type());
      d.put("auxiliaryTypes", List.of(a.auxiliaryTypes()));
      d.put("converters", Stream.of(a.converters()).map(Object::getClass).toList());
      d.put("default", a.defaultValue());
      d.put("initial", a.initialValue());
      d.put("hasInitial", a.hasInitialValue());
      d.put("description", List.of(a.description()));
      d.put("descriptionKey", a.descriptionKey());
      d.put("showDefault", a.showDefaultValue());
      d.put("required", a.required());
      d.put("hidden", a.hidden());
      d.put("interactive", a.interactive());
      d.put("split", a.splitRegex());
      d.put("completion", a.completionCandidates() == null ? null
          : toList(a.completionCandidates()));
      d.put("mapFallback", a.mapFallbackValue());
      d.put("inherited", a.inherited());
      d.put("scopeType", a.scopeType());
      d.put("consumer", a.parameterConsumer() == null ? null : a.parameterConsumer().getClass());
      all.add(d);
    }
    return all;
  }

  private static List<String> toList(Iterable<String> values) {
    List<String> list = new ArrayList<>();
    values.forEach(list::add);
    return list;
  }

  /** The values of a command's fields, its mixins' by theirs, by name. */
  private static Map<String, Object> fields(Object command) throws IllegalAccessException {
    Map<String, Object> values = new LinkedHashMap<>();
    for (Field f : command.getClass().getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) || f.getType() == CliStreams.class) {
        continue;
      }
      f.setAccessible(true);
      Object v = f.get(command);
      if (v instanceof HostOptions || v instanceof Dom0Options || v instanceof EngineOption) {
        fields(v).forEach((k, x) -> values.put(f.getName() + "." + k, x));
      } else {
        values.put(f.getName(), v instanceof Object[] array ? Arrays.asList(array) : v);
      }
    }
    return values;
  }
}
