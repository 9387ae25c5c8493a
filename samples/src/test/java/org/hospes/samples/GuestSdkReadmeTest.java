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
 * The guest SDK README's disk section, run as a new user runs it: its C program saved as the
 * file it names, its shell blocks run one after the other in an empty folder with HOSPES at the
 * source tree. The trial found the disk-bench commands running a /tmp/g/disk-bench.elf that no
 * command built, and the build run from a directory where guest-sdk/c is not.
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
      ProcessBuilder pb = new ProcessBuilder("bash", "-euo", "pipefail", "-c", block)
          .directory(dir.toFile()).redirectErrorStream(true);
      pb.environment().put("HOSPES", root.toString());
      pb.environment().put("HOSPES_NO_BUILD", "1");
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(block + "\n" + out).isZero();
      if (block.contains("disk-bench")) {
        assertThat(out.lines().filter(l -> l.startsWith("disk-bench: ok, "))).as(out).hasSize(3);
      } else {
        assertThat(out).contains("2048 sectors, read back: hello, disk");
      }
    }
  }
}
