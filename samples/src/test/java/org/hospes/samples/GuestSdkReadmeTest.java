package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest SDK README's disk and network sections, run as a new user runs them: each C program
 * saved as the file the section names, the shell blocks run one after the other in an empty
 * folder with HOSPES at the source tree. The trial found the disk-bench commands running a
 * /tmp/g/disk-bench.elf that no command built, and the build run from a directory where
 * guest-sdk/c is not.
 */
class GuestSdkReadmeTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theDiskSectionsCommandsRunAsWritten() throws Exception {
    Path root = TestKernels.root();
    String readme = Files.readString(root.resolve("guest-sdk/README.md"));
    int from = readme.indexOf("### 5. Read and write a disk");
    int to = readme.indexOf("\n### ", from + 1);
    assertThat(from).as("the disk section").isPositive();
    String section = readme.substring(from, to);
    Matcher saveAs = Pattern.compile("Save this as `([^`]+)`").matcher(section);
    assertThat(saveAs.find()).as("the section names the program's file").isTrue();
    Matcher c = Pattern.compile("```c\n(.*?)```", Pattern.DOTALL).matcher(section);
    assertThat(c.find()).isTrue();
    Files.writeString(dir.resolve(saveAs.group(1)), c.group(1));
    Matcher sh = Pattern.compile("```sh\n(.*?)```", Pattern.DOTALL).matcher(section);
    List<String> blocks = new ArrayList<>();
    while (sh.find()) {
      blocks.add(sh.group(1));
    }
    assertThat(blocks).as("the build-and-run and the disk-bench blocks").hasSize(2);
    for (String block : blocks) {
      String out = run(root, block);
      if (block.contains("disk-bench")) {
        assertThat(out.lines().filter(l -> l.startsWith("disk-bench: ok, "))).as(out).hasSize(3);
      } else {
        assertThat(out).contains("2048 sectors, read back: hello, disk");
      }
    }
  }

  /**
   * The network section: its program, saved as the file it names, builds; net-bench's block
   * runs as written and prints every line the README shows after it (virtual time: the same
   * figures on every run).
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theNetworkSectionsProgramBuildsAndNetBenchPrintsWhatItShows() throws Exception {
    Path root = TestKernels.root();
    String readme = Files.readString(root.resolve("guest-sdk/README.md"));
    int from = readme.indexOf("### 6. Talk to the network");
    int to = readme.indexOf("\n### ", from + 1);
    assertThat(from).as("the network section").isPositive();
    String section = readme.substring(from, to);
    Matcher saveAs = Pattern.compile("Saved as `([^`]+)`").matcher(section);
    assertThat(saveAs.find()).as("the section names the program's file").isTrue();
    Matcher c = Pattern.compile("```c\n(.*?)```", Pattern.DOTALL).matcher(section);
    assertThat(c.find()).isTrue();
    Files.writeString(dir.resolve(saveAs.group(1)), c.group(1));
    Matcher sh = Pattern.compile("```sh\n(.*?)```\n", Pattern.DOTALL).matcher(section);
    assertThat(sh.find()).isTrue();
    String build = sh.group(1).lines().filter(l -> l.startsWith("make ")).findFirst()
        .orElseThrow();
    run(root, build);
    assertThat(dir.resolve("build/net.elf")).exists();
    assertThat(sh.find()).as("net-bench's block").isTrue();
    String out = run(root, sh.group(1));
    Matcher shown = Pattern.compile("\\G\\s*```\n(.*?)```", Pattern.DOTALL).matcher(section);
    assertThat(shown.find(sh.end())).as("the output shown after net-bench's block").isTrue();
    for (String line : shown.group(1).lines().toList()) {
      assertThat(out).as(out).contains(line);
    }
  }

  /** Runs a README block in the test's folder, HOSPES at the tree: its output, status 0. */
  private String run(Path root, String block) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", "-euo", "pipefail", "-c", block)
        .directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().put("HOSPES", root.toString());
    pb.environment().put("HOSPES_NO_BUILD", "1");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(block + "\n" + out).isZero();
    return out;
  }
}
