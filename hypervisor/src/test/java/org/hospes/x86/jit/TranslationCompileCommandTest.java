package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.objectweb.asm.ClassReader;

/**
 * The launcher lowers HotSpot's compile thresholds for translations alone, by a CompileCommand
 * whose class pattern must keep matching the name the translator gives its hidden classes: a
 * renamed class would silently lose the setting (HotSpot says nothing about a pattern that
 * matches no method).
 */
class TranslationCompileCommandTest {
  @Test
  void theLaunchersCompileCommandMatchesTheTranslationsClassName() throws Exception {
    String launcher = Files.readString(Path.of("..", "hospes"));
    Matcher m = Pattern.compile("-XX:CompileCommand=CompileThresholdScaling,([^:\\s\"]+)::")
        .matcher(launcher);
    assertThat(m.find()).as("the launcher's CompileThresholdScaling command").isTrue();
    String glob = m.group(1);
    int[] code = Translator.warmUpBlock();
    String internal = new ClassReader(Translator.generate(code, 7, 7, 12, false)).getClassName();
    // HotSpot names a hidden class by its class file's name, a '/' and its address.
    String hidden = internal.replace('/', '.') + "/0x00007f751c006000";
    String regex = Pattern.quote(glob).replace("*", "\\E.*\\Q");
    assertThat(hidden).matches(regex);
    assertThat("org.hospes.x86.Cpu").doesNotMatch(regex);
  }
}
