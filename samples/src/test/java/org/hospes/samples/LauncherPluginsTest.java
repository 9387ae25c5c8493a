package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every way the README gives to put a plugin jar on {@code ./hospes}'s class path, through the
 * real launcher: the user's plugin directory ({@code ~/.hospes/plugins}), {@code --plugin-path}
 * with a directory or a jar, {@code HOSPES_CLASSPATH}, {@code CLASSPATH}, and a {@code -cp} in
 * {@code HOSPES_JAVA_OPTS} (which the JVM would otherwise drop for the launcher's own -cp). The
 * plugin is the samples' lottery scheduler: with the jar found, {@code --sched lottery} runs the
 * hello kernel to its isa-debug-exit status; without it, the name is unknown.
 */
class LauncherPluginsTest {
  @TempDir
  static Path tmp;

  private static Path jar;
  private static Path kernel;

  @BeforeAll
  static void pluginJar() throws Exception {
    // The samples module's classes as a plugin jar (tests run before this module's own jar).
    Path classes = TestKernels.root().resolve("samples/target/classes");
    jar = tmp.resolve("jars/samples-plugins.jar");
    Files.createDirectories(jar.getParent());
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
        Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, out);
        out.closeEntry();
      }
    }
    kernel = TestKernels.elf("hello");
  }

  record Launch(int status, String err) {}

  private static Launch hospes(Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(TestKernels.root().resolve("hospes").toString());
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("run", "--mode", "hvm", "--sched", "lottery", kernel.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("HOSPES_NO_BUILD", "1");
    pb.environment().remove("CLASSPATH");
    pb.environment().remove("HOSPES_CLASSPATH");
    pb.environment().remove("HOSPES_JAVA_OPTS");
    pb.environment().remove("HOSPES_PLUGIN_DIR");
    pb.environment().put("HOME", tmp.resolve("home-without-plugins").toString());
    pb.environment().putAll(env);
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    Path err = Files.createTempFile(tmp, "launch", ".err");
    pb.redirectError(err.toFile());
    Process p = pb.start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new Launch(p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
  }

  private static void assertFound(Launch l) {
    assertThat(l.status()).as(l.err()).isEqualTo(33); // hello's isa-debug-exit: it ran
  }

  @Test
  void withoutThePluginTheSchedulerIsUnknown() throws Exception {
    Launch l = hospes(Map.of());
    assertThat(l.status()).isEqualTo(2);
    assertThat(l.err()).contains("unknown scheduler 'lottery'");
  }

  @Test
  void theUsersPluginDirectory() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve(".hospes/plugins"));
    Files.copy(jar, home.resolve(".hospes/plugins/p.jar"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertFound(hospes(Map.of("HOME", home.toString())));
  }

  @Test
  void anEmptyPluginDirectoryAddsNothingAndRunsTheGuest() throws Exception {
    // The launcher runs under set -e: an empty directory once ended it with status 1 and no
    // word, before Java started.
    Path empty = Files.createDirectories(tmp.resolve("home-empty/.hospes/plugins"));
    Launch l = hospes(Map.of("HOME", empty.getParent().getParent().toString()));
    assertThat(l.status()).as(l.err()).isEqualTo(2);
    assertThat(l.err()).contains("unknown scheduler 'lottery'");
    Launch dir = hospes(Map.of("HOSPES_PLUGIN_DIR", empty.toString()), "--plugin-path",
        jar.getParent().toString());
    assertFound(dir);
  }

  @Test
  void pluginPathWithADirectoryOrAJar() throws Exception {
    assertFound(hospes(Map.of(), "--plugin-path", jar.getParent().toString()));
    assertFound(hospes(Map.of(), "--plugin-path=" + jar));
  }

  @Test
  void aPluginJarThatIsNoJarIsOneLineNamingIt() throws Exception {
    // The JVM skips a class-path jar it cannot open without a word: such a jar on
    // --plugin-path or in the plugin directory showed only as "unknown scheduler 'lottery'".
    Path dir = Files.createDirectories(tmp.resolve("bad-jars"));
    Path page = Files.writeString(dir.resolve("page.jar"), "<html>404 Not Found</html>\n");
    Launch l = hospes(Map.of(), "--plugin-path", page.toString());
    assertThat(l.status()).as(l.err()).isEqualTo(2);
    assertThat(l.err()).isEqualTo("hospes: plugin jar " + page + " cannot be read as a jar (zip"
        + " END header not found); the JVM would skip it: replace it, or remove it from"
        + " ~/.hospes/plugins or --plugin-path\n");
    // A download cut short: a zip's start, without the directory at its end.
    byte[] whole = Files.readAllBytes(jar);
    Path home = tmp.resolve("home-cut");
    Path cut = Files.createDirectories(home.resolve(".hospes/plugins")).resolve("cut.jar");
    Files.write(cut, java.util.Arrays.copyOf(whole, whole.length / 2));
    Launch c = hospes(Map.of("HOME", home.toString()));
    assertThat(c.status()).as(c.err()).isEqualTo(2);
    assertThat(c.err()).startsWith("hospes: plugin jar " + cut + " cannot be read as a jar (");
    // With a good jar beside it, the bad one is still named, not skipped.
    Launch both = hospes(Map.of(), "--plugin-path", jar + ":" + page);
    assertThat(both.status()).as(both.err()).isEqualTo(2);
    assertThat(both.err()).contains("plugin jar " + page);
  }

  @Test
  void classPathVariables() throws Exception {
    assertFound(hospes(Map.of("HOSPES_CLASSPATH", jar.toString())));
    assertFound(hospes(Map.of("CLASSPATH", jar.toString())));
  }

  @Test
  void aClassPathInHospesJavaOptsIsAddedNotDropped() throws Exception {
    assertFound(hospes(Map.of("HOSPES_JAVA_OPTS", "-Xss2m -cp " + jar)));
    assertFound(hospes(Map.of("HOSPES_JAVA_OPTS", "--class-path=" + jar + " -Xss2m")));
  }
}
