package org.hospes.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every complete C program in guest-sdk/README.md (a ```c block that defines main) compiles
 * against the SDK as it is, with its -Wall -Wextra -Werror flags, into the one image that
 * boots in every mode: the tutorial cannot drift from the headers. The Network section's program is checked by name so it cannot silently vanish.
 */
class TutorialSnippetsTest {
  private static final Pattern C_BLOCK = Pattern.compile("```c\\n(.*?)```", Pattern.DOTALL);

  @Test
  void everyTutorialProgramCompiles() throws Exception {
    Path sdk = GuestBuilder.defaultSdk();
    String readme = Files.readString(sdk.getParent().resolve("README.md"));
    Path dir = sdk.getParent().resolve("target/tutorial");
    Files.createDirectories(dir);
    List<String> built = new ArrayList<>();
    Matcher m = C_BLOCK.matcher(readme);
    int i = 0;
    while (m.find()) {
      String code = m.group(1);
      if (!code.contains("int main(")) {
        continue;   // a fragment, not a program
      }
      Path src = dir.resolve("snippet" + i + ".c");
      Files.writeString(src, code, StandardCharsets.UTF_8);
      Path elf = new GuestBuilder(sdk, dir).build("snippet" + i, List.of(src));
      assertThat(elf).isRegularFile();
      built.add(code.contains("netfront_open") ? "network" : code.contains("blkfront_init")
          ? "disk" : "other");
      i++;
    }
    assertThat(built).contains("network", "disk");
  }
}
