package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's class-data-sharing archive: the first run writes the list of classes it
 * loaded, the next launch dumps the list into the archive and maps it (with -Xshare:on, which
 * fails unless the archive is usable), and none of this changes a run's output or puts
 * anything on stderr.
 */
class LauncherCdsTest {
  @TempDir
  static Path noPlugins;

  /** One launch's status, stdout and stderr. */
  record Launch(int status, String out, String err) {}

  private static Launch hospes(Map<String, String> env, String... args) throws Exception {
    Path root = TestKernels.root();
    String[] cmd = new String[args.length + 1];
    cmd[0] = root.resolve("hospes").toString();
    System.arraycopy(args, 0, cmd, 1, args.length);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("HOSPES_NO_BUILD", "1");
    pb.environment().remove("CLASSPATH");
    pb.environment().remove("HOSPES_CLASSPATH");
    // An empty plugin directory: the user's own plugins stay out of these runs.
    pb.environment().put("HOSPES_PLUGIN_DIR", noPlugins.toString());
    pb.environment().putAll(env);
    Path err = Files.createTempFile("hospes-cds", ".err");
    pb.redirectError(err.toFile());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    String e = Files.readString(err);
    Files.delete(err);
    return new Launch(p.exitValue(), out, e);
  }

  private static void deleteCdsFiles(Path target) throws Exception {
    try (Stream<Path> s = Files.list(target)) {
      for (Path f : (Iterable<Path>) s::iterator) {
        if (f.getFileName().toString().startsWith("hospes-cds.")) {
          Files.delete(f);
        }
      }
    }
  }

  private static long files(Path dir, String prefix) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(f -> f.getFileName().toString().startsWith(prefix)).count();
    }
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theFirstRunWritesTheArchiveAndLaterRunsMapItWithTheSameOutput() throws Exception {
    Path target = TestKernels.root().resolve("dom0/target");
    deleteCdsFiles(target);
    String kernel = TestKernels.elf("hello").toString();
    String golden = new String(TestKernels.golden("hello"), StandardCharsets.ISO_8859_1);

    Launch first = hospes(Map.of(), "run", "--mode", "native", kernel);
    assertThat(first.status()).isEqualTo(33);
    assertThat(first.out()).isEqualTo(golden);
    assertThat(first.err()).isEmpty();
    assertThat(files(target, "hospes-cds.classes.tmp.")).as("the first run's class list")
        .isEqualTo(1);
    assertThat(files(target, "hospes-cds.jsa")).isZero();

    // -Xshare:on: the JVM refuses to start unless it can map the archive.
    Launch second = hospes(Map.of("HOSPES_JAVA_OPTS", "-Xshare:on"), "run", "--mode", "native",
        kernel);
    assertThat(second.status()).as(second.err()).isEqualTo(33);
    assertThat(second.out()).isEqualTo(golden);
    assertThat(second.err()).isEmpty();
    assertThat(target.resolve("hospes-cds.jsa")).exists();
    assertThat(files(target, "hospes-cds.classes.")).isZero();
    assertThat(files(target, "hospes-cds.jsa.tmp.")).isZero();

    Launch off = hospes(Map.of("HOSPES_CDS", "0"), "run", "--mode", "native", kernel);
    assertThat(off.out()).isEqualTo(golden);
    assertThat(off.err()).isEmpty();
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void onlyGuestRunsWriteTheArchiveAndALaterDumpNeverReplacesIt() throws Exception {
    Path target = TestKernels.root().resolve("dom0/target");
    deleteCdsFiles(target);
    // --version loads none of the machine's classes: it must not leave the archive.
    Launch version = hospes(Map.of(), "--version");
    assertThat(version.status()).isZero();
    assertThat(files(target, "hospes-cds.")).as("files after --version").isZero();
    // Nor do the help and version requests of the commands that run guests: an archive of
    // `run --help`'s classes was current until the next build, and later runs loaded the
    // machine's classes from the jars.
    for (String[] ask : new String[][] {{"run", "--help"}, {"run", "-V"}, {"demo", "-h"},
        {"run-many", "--version"}}) {
      Launch help = hospes(Map.of(), ask);
      assertThat(help.status()).as(String.join(" ", ask)).isZero();
      assertThat(files(target, "hospes-cds.")).as("files after %s", String.join(" ", ask))
          .isZero();
    }

    String kernel = TestKernels.elf("hello").toString();
    assertThat(hospes(Map.of(), "run", "--mode", "native", kernel).status()).isEqualTo(33);
    assertThat(files(target, "hospes-cds.classes.tmp.")).isEqualTo(1);
    assertThat(hospes(Map.of(), "--version").status()).isZero();
    Path archive = target.resolve("hospes-cds.jsa");
    assertThat(archive).exists();
    byte[] made = Files.readAllBytes(archive);

    // A class list that was finished after the archive was in place (its writer, pid
    // 2^22 + 1 at most on Linux, is gone) is dropped, not dumped over it.
    Path late = target.resolve("hospes-cds.classes.tmp.4194305");
    Files.write(late, new byte[] {1, 2, 3});
    Launch again = hospes(Map.of("HOSPES_JAVA_OPTS", "-Xshare:on"), "run", "--mode", "native",
        kernel);
    assertThat(again.status()).as(again.err()).isEqualTo(33);
    assertThat(late).doesNotExist();
    assertThat(Files.readAllBytes(archive)).isEqualTo(made);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void anArchiveThatAnotherJavaDumpedIsMadeAgainForThisOne() throws Exception {
    Path target = TestKernels.root().resolve("dom0/target");
    String kernel = TestKernels.elf("hello").toString();
    Path archive = target.resolve("hospes-cds.jsa");
    Path jvm = target.resolve("hospes-cds.jvm");
    // From no archive, two runs leave a current one (the first lists, the second dumps and maps
    // it) that names the java these launches use. Not "an archive and a record exist": those
    // may be another launch's, under another JAVA_HOME (this test runs first in its class, so
    // what the checkout's last launch left was read as this java's), and then the archive made
    // again below named a java other than the one the test expected.
    deleteCdsFiles(target);
    for (int k = 0; k < 2; k++) {
      assertThat(hospes(Map.of(), "run", "--mode", "native", kernel).status()).isEqualTo(33);
    }
    assertThat(archive).exists();
    String mine = Files.readString(jvm);
    assertThat(mine).endsWith("java\n");

    // As if another JDK (JAVA_HOME) had dumped it: this java could not map it, so it is not
    // current. The next guest run lists its classes again, the one after dumps them for this
    // java and maps the archive (-Xshare:on refuses to start otherwise).
    Files.writeString(jvm, "/elsewhere/bin/java\n");
    Launch listing = hospes(Map.of(), "run", "--mode", "native", kernel);
    assertThat(listing.status()).as(listing.err()).isEqualTo(33);
    assertThat(files(target, "hospes-cds.classes.tmp.")).as("the class list for this java")
        .isEqualTo(1);
    Launch mapped = hospes(Map.of("HOSPES_JAVA_OPTS", "-Xshare:on"), "run", "--mode", "native",
        kernel);
    assertThat(mapped.status()).as(mapped.err()).isEqualTo(33);
    assertThat(mapped.out())
        .isEqualTo(new String(TestKernels.golden("hello"), StandardCharsets.ISO_8859_1));
    assertThat(Files.readString(jvm)).isEqualTo(mine);
    assertThat(files(target, "hospes-cds.classes.")).isZero();
    assertThat(files(target, "hospes-cds.jvm.tmp.")).isZero();
  }

  /**
   * The archive belongs to a java file, however a launch names it. As strings, a JAVA_HOME
   * reached through a symlink (Debian's /usr/lib/jvm/java-1.17.0-openjdk-amd64) was another
   * java than the same file on the PATH, and each way of launching dumped the archive again
   * for itself; and a symlinked java re-pointed at another JVM (update-alternatives) kept the
   * archive the first one had dumped.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theArchiveIsTheJavaFilesWhateverPathNamesIt(@TempDir Path dir) throws Exception {
    Path target = TestKernels.root().resolve("dom0/target");
    String kernel = TestKernels.elf("hello").toString();
    Path archive = target.resolve("hospes-cds.jsa");
    Path realHome = Path.of(System.getProperty("java.home")).toRealPath();
    Path realJava = realHome.resolve("bin/java");
    // A JDK whose bin/java is a symlink to this one's.
    Path linkHome = Files.createDirectories(dir.resolve("linked-jdk/bin")).getParent();
    Files.createSymbolicLink(linkHome.resolve("bin/java"), realJava);
    deleteCdsFiles(target);
    for (int k = 0; k < 2; k++) {
      assertThat(hospes(Map.of("JAVA_HOME", linkHome.toString()), "run", "--mode", "native",
          kernel).status()).isEqualTo(33);
    }
    assertThat(archive).exists();
    assertThat(Files.readString(target.resolve("hospes-cds.jvm")))
        .isEqualTo(realJava + "\n");
    byte[] made = Files.readAllBytes(archive);

    // The same java by its own path, and through a ".." (-Xshare:on: it maps the archive):
    // current, so no class list is written and the archive stays as it was.
    for (String home : new String[] {realHome.toString(),
        realHome + "/../" + realHome.getFileName()}) {
      Launch same = hospes(Map.of("JAVA_HOME", home, "HOSPES_JAVA_OPTS", "-Xshare:on"), "run",
          "--mode", "native", kernel);
      assertThat(same.status()).as(same.err()).isEqualTo(33);
      assertThat(files(target, "hospes-cds.classes.")).as("a class list under " + home)
          .isZero();
      assertThat(Files.readAllBytes(archive)).isEqualTo(made);
    }

    // The symlink re-pointed at another java file (here one that runs this JVM, dated before
    // the archive as an installed JDK is): not the java that dumped the archive.
    Path other = dir.resolve("other-java");
    Files.writeString(other, "#!/bin/sh\nexec " + realJava + " \"$@\"\n");
    other.toFile().setExecutable(true);
    Files.setLastModifiedTime(other, java.nio.file.attribute.FileTime.fromMillis(0));
    Files.delete(linkHome.resolve("bin/java"));
    Files.createSymbolicLink(linkHome.resolve("bin/java"), other);
    Launch moved = hospes(Map.of("JAVA_HOME", linkHome.toString()), "run", "--mode", "native",
        kernel);
    assertThat(moved.status()).as(moved.err()).isEqualTo(33);
    assertThat(files(target, "hospes-cds.classes.tmp.")).as("the class list for the other java")
        .isEqualTo(1);
    deleteCdsFiles(target);
  }
}
