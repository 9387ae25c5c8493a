package org.hospes.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's Makefile rebuilds an image when what makes it changes, not only its files: the
 * README builds GUEST=hello from one program and later from another into the same BUILD, and
 * the second image must be the second program (it used to be "up to date").
 */
class MakefileRebuildTest {
  @TempDir
  Path dir;

  private Path program(String name, String greeting) throws Exception {
    Path src = dir.resolve(name + "/hello.c");
    Files.createDirectories(src.getParent());
    Files.writeString(src, "#include <hospes/guest.h>\n\n"
        + "int main(const struct hvm_start_info *si)\n{\n    (void)si;\n"
        + "    printf(\"" + greeting + "\\n\");\n    return 0;\n}\n", StandardCharsets.UTF_8);
    return src;
  }

  private static boolean contains(Path elf, String text) throws Exception {
    return new String(Files.readAllBytes(elf), StandardCharsets.ISO_8859_1).contains(text);
  }

  @Test
  void anotherSrcsIntoTheSameBuildDirectoryRebuildsTheImage() throws Exception {
    Path first = program("first", "first program");
    Path second = program("second", "second program");
    GuestBuilder builder = new GuestBuilder(GuestBuilder.defaultSdk(), dir.resolve("build"));

    Path elf = builder.build("hello", List.of(first));
    assertThat(contains(elf, "first program")).isTrue();

    // Older sources than the image, as a checkout's files usually are: only SRCS differs.
    Files.setLastModifiedTime(second, FileTime.fromMillis(0));
    assertThat(builder.build("hello", List.of(second))).isEqualTo(elf);
    assertThat(contains(elf, "second program")).as("the second build's image").isTrue();
    assertThat(contains(elf, "first program")).isFalse();

    // The same variables again: nothing to do, the image is left as it is.
    FileTime built = Files.getLastModifiedTime(elf);
    builder.build("hello", List.of(second));
    assertThat(Files.getLastModifiedTime(elf)).isEqualTo(built);
  }
}
