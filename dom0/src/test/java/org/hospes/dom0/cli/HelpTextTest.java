package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.dom0.testing.CapturedCli;
import org.junit.jupiter.api.Test;

/**
 * Help texts a new user read and found wrong or empty: each says what the code does (the
 * modes that take an option, the keys create accepts, what bench measures).
 */
class HelpTextTest {

  private final CapturedCli cli = new CapturedCli();

  /** {@code hospes ARGS}'s stdout with its line wrapping undone. */
  private String help(String... args) {
    cli.reset();
    assertThat(cli.run(args)).as(String.join(" ", args)).isZero();
    return cli.stdout().replaceAll("\\s+", " ");
  }

  @Test
  void runsModeHelpClosesEveryParenthesis() {
    int depth = 0;
    for (char c : RunCommand.MODE_HELP.toCharArray()) {
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      assertThat(depth).as(RunCommand.MODE_HELP).isNotNegative();
    }
    assertThat(depth).as(RunCommand.MODE_HELP).isZero();
    assertThat(help("run", "--help")).contains("its PV console and console_io output go to"
        + " stdout), pv (a classic PV32 PAE kernel");
  }

  @Test
  void cpusHelpNamesPvhvm() {
    assertThat(help("run", "--help"))
        .contains("vCPUs of the domain (default: 1): hvm, hvm-shadow, pvhvm and pvh 1 to 64");
  }

  @Test
  void schedCreditDescribesWeightAndCap() {
    String text = help("sched-credit", "--help");
    assertThat(text).contains("-w, --weight=WEIGHT The domain's weight, 1..65535")
        .contains("-c, --cap=CAP The most CPU the domain may use, in % of one pCPU")
        .contains("0 = uncapped");
  }

  @Test
  void theTopLevelLineForBenchCoversEveryWorkload() {
    String text = help("--help");
    String bench = text.substring(text.indexOf(" bench "), text.indexOf(" help Display"));
    assertThat(bench).contains("loop kernels", "--linux", "--startup", "--disk", "--domains");
  }

  /** Every positional parameter of a verb says what it is: block-attach's two said nothing. */
  @Test
  void everyVerbsParametersAreDescribed() {
    picocli.CommandLine root = HospesCli.newCommandLine(System.out, System.err);
    java.util.List<String> bare = new java.util.ArrayList<>();
    java.util.ArrayDeque<picocli.CommandLine> unvisited =
        new java.util.ArrayDeque<>(java.util.List.of(root));
    while (!unvisited.isEmpty()) {
      picocli.CommandLine c = unvisited.pop();
      unvisited.addAll(c.getSubcommands().values());
      for (picocli.CommandLine.Model.PositionalParamSpec p
          : c.getCommandSpec().positionalParameters()) {
        if (String.join("", p.description()).isBlank()) {
          bare.add(c.getCommandSpec().qualifiedName() + " " + p.paramLabel());
        }
      }
    }
    assertThat(bare).isEmpty();
    assertThat(help("block-attach", "--help")).contains("DISK The disk, in --disk's syntax");
  }

  @Test
  void createsHelpSaysWhatTheParserAcceptsNow() {
    String text = help("create", "--help");
    assertThat(text).doesNotContain("Refused until they land")
        .contains("xen_platform_pci = 1: PVHVM")
        .contains("vif = [...] (hvm: model=e1000 or virtio-net")
        .contains("specification=virtio in any hvm")
        .contains("Refused for now: disk in pv domains");
  }
}
