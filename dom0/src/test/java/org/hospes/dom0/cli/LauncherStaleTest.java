package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.testing.ProcessEnds;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher script's staleness check ({@code ./hospes}): it builds (mvn package) when the
 * dom0 jar is missing or older than a pom or a main source of the hypervisor or dom0, and not
 * otherwise, so that a launch never runs classes older than the sources nor rebuilds needlessly.
 * The script runs for real against a copy of itself in a made-up tree, with a fake mvn that
 * records each build and stamps the jar, and a fake java that records its launch.
 */
@EnabledOnOs(OS.LINUX)
class LauncherStaleTest {
  /** When the fake jar was built: an hour ago; the sources are older still. */
  private static final Instant BUILT = Instant.now().minusSeconds(3600);

  @TempDir
  Path dir;
  private Path root;
  private Path jar;
  private Path builds;
  private Path launches;

  @BeforeEach
  void tree() throws IOException {
    Path repo = Path.of(System.getProperty("hospes.root", "..")).toAbsolutePath().normalize();
    root = dir.resolve("tree");
    Files.createDirectories(root);
    Files.copy(repo.resolve("hospes"), root.resolve("hospes"));
    for (String f : List.of("pom.xml", "hypervisor/pom.xml", "dom0/pom.xml",
        "hypervisor/src/main/java/A.java", "dom0/src/main/java/B.java",
        "dom0/src/main/resources/c.txt")) {
      write(root.resolve(f), "x");
    }
    Files.createDirectories(root.resolve("dom0/target/lib"));
    // Everything, directories too (a new file in a source directory makes it newer), older
    // than the jar.
    try (var all = Files.walk(root)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Files.setLastModifiedTime(p, FileTime.from(BUILT.minusSeconds(600)));
      }
    }
    jar = root.resolve("dom0/target/hospes-dom0-0.1.0-SNAPSHOT.jar");
    write(jar, "jar");
    Files.setLastModifiedTime(jar, FileTime.from(BUILT));
    builds = dir.resolve("builds.log");
    launches = dir.resolve("launches.log");
    Path bin = dir.resolve("bin");
    // mvn: one line per build; stamps the jar as a real package would, unless KEEP_JAR is set
    // (Maven leaves the dom0 jar alone when nothing of dom0 changed).
    // INTERRUPT=INT or TERM: the user's Ctrl-C (or a SIGTERM) reaches the launch's whole
    // process group mid-build, and mvn, a Java program, exits with 128 + the signal as the JVM
    // does rather than dying by it.
    executable(bin.resolve("mvn"), "#!/bin/sh\necho \"$*\" >> '" + builds + "'\n"
        + "if [ -n \"$INTERRUPT\" ]; then\n"
        + "  echo '[INFO] half a build'\n"
        + "  trap 'exit 130' INT; trap 'exit 143' TERM\n"
        + "  kill -\"$INTERRUPT\" 0\n"
        + "  exit 1\n"
        + "fi\n"
        + "if [ -n \"$SLOW\" ]; then\n"
        + "  echo $$ > '" + dir.resolve("mvn.pid") + "'\n"
        + "  sleep 100 & trap 'kill $!; exit 143' TERM; wait\n"
        + "fi\n"
        + "[ -n \"$KEEP_JAR\" ] || touch '" + jar + "'\n");
    // java: records a launch. DUMP_SIGNAL=INT or TERM: the user's Ctrl-C (or a SIGTERM)
    // comes while the launcher dumps the class-data archive, before Hospes starts.
    executable(dir.resolve("jdk/bin/java"), "#!/bin/sh\n"
        + "case \"$*\" in *-Xshare:dump*)\n"
        + "  [ -z \"$DUMP_SIGNAL\" ] || kill -\"$DUMP_SIGNAL\" \"$PPID\"\n"
        + "  exit 1 ;;\n"
        + "esac\n"
        + "echo launched >> '" + launches + "'\n");
  }

  @Test
  void aCurrentJarIsLaunchedWithoutABuild() throws Exception {
    assertThat(launch()).isZero();
    assertThat(lines(builds)).isEmpty();
    assertThat(lines(launches)).containsExactly("launched");
  }

  @Test
  void aSourceNewerThanTheJarBuildsOnceThenLaunches() throws Exception {
    Files.setLastModifiedTime(root.resolve("hypervisor/src/main/java/A.java"),
        FileTime.from(BUILT.plusSeconds(60)));
    assertThat(launch()).isZero();
    assertThat(lines(builds)).hasSize(1);
    assertThat(lines(builds).get(0)).contains("-pl dom0 -am package");
    // The build stamped the jar: the next launch builds nothing.
    assertThat(launch()).isZero();
    assertThat(lines(builds)).hasSize(1);
    assertThat(lines(launches)).hasSize(2);
  }

  /**
   * A change to the hypervisor alone: Maven rebuilds the hypervisor jar but leaves the dom0 jar
   * as it was, so the launcher stamps it with the build's start, or every later launch would
   * build again.
   */
  @Test
  void aBuildThatLeavesTheDom0JarAloneIsNotRepeated() throws Exception {
    Files.setLastModifiedTime(root.resolve("hypervisor/src/main/java/A.java"),
        FileTime.from(BUILT.plusSeconds(60)));
    assertThat(launch("KEEP_JAR", "1")).isZero();
    assertThat(launch("KEEP_JAR", "1")).isZero();
    assertThat(lines(builds)).hasSize(1);
    assertThat(lines(launches)).hasSize(2);
  }

  @Test
  void aNewerPomOrResourceOrAMissingJarBuilds() throws Exception {
    Files.setLastModifiedTime(root.resolve("dom0/pom.xml"), FileTime.from(BUILT.plusSeconds(1)));
    assertThat(launch()).isZero();
    assertThat(lines(builds)).hasSize(1);
    // The build stamped the jar now: a resource saved after that.
    Files.setLastModifiedTime(root.resolve("dom0/src/main/resources/c.txt"),
        FileTime.from(Instant.now().plusSeconds(60)));
    assertThat(launch()).isZero();
    assertThat(lines(builds)).hasSize(2);
    Files.delete(jar);
    assertThat(launch()).isZero();
    assertThat(lines(builds)).hasSize(3);
  }

  @Test
  void noBuildIsEverRunUnderHospesNoBuild() throws Exception {
    Files.setLastModifiedTime(root.resolve("dom0/src/main/java/B.java"),
        FileTime.from(BUILT.plusSeconds(60)));
    assertThat(launch("HOSPES_NO_BUILD", "1")).isZero();
    assertThat(lines(builds)).isEmpty();
    Files.delete(jar);
    assertThat(launch("HOSPES_NO_BUILD", "1")).isEqualTo(1);
    assertThat(lines(builds)).isEmpty();
  }

  /**
   * Ctrl-C during the build stops the launch with 130 (SIGTERM: 143) and one line saying so,
   * not "build failed" with Maven's log and status 1, and leaves no temporary file. The launch
   * runs in a session of its own so that the signal to its process group reaches it alone.
   */
  @Test
  void anInterruptedBuildSaysSoAndExitsAsInterrupted() throws Exception {
    // A shell cannot trap a signal it was started with ignored (nohup, some CI runners).
    assumeFalse(RunStopTest.sigintIgnored(), "SIGINT is ignored in this process tree");
    interruptedBuild("INT", 130);
  }

  /** The same for SIGTERM (143), which no test runner ignores. */
  @Test
  void aTerminatedBuildSaysSoAndExitsAsTerminated() throws Exception {
    interruptedBuild("TERM", 143);
  }

  private void interruptedBuild(String signal, int status) throws Exception {
    Files.setLastModifiedTime(root.resolve("dom0/src/main/java/B.java"),
        FileTime.from(BUILT.plusSeconds(60)));
    assertThat(launch("INTERRUPT", signal)).isEqualTo(status);
    String out = Files.readString(dir.resolve("out.log"));
    assertThat(out).endsWith("hospes: interrupted (SIG" + signal + ") while building Hospes;"
        + " nothing was run\n").doesNotContain("build failed").doesNotContain("half a build");
    assertThat(lines(launches)).isEmpty();
    try (var left = Files.list(dir.resolve("tmp"))) {
      assertThat(left).isEmpty();
    }
    assertThat(lines(builds)).hasSize(1);
    // Nothing was built: the next launch builds.
    assertThat(launch()).isZero();
    assertThat(lines(builds)).hasSize(2);
    assertThat(lines(launches)).containsExactly("launched");
  }

  /**
   * SIGTERM to the launcher alone (kill PID, a supervisor stopping it) during a build that
   * takes its time: the signal reached no Maven, and bash ran its trap only once the build had
   * ended (here the fake build's 100 s). Now the launch ends the build at once, says so, and
   * leaves no build process behind.
   */
  @Test
  void aSignalToTheLauncherAloneEndsTheBuild() throws Exception {
    Files.setLastModifiedTime(root.resolve("dom0/src/main/java/B.java"),
        FileTime.from(BUILT.plusSeconds(60)));
    Process p = start("SLOW", "1");
    ProcessHandle mvn = null;
    try {
      Path pid = dir.resolve("mvn.pid");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while ((!Files.exists(pid) || Files.readString(pid).isBlank())
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      mvn = ProcessEnds.running(Long.parseLong(Files.readString(pid).strip()));
      assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor())
          .isZero();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the launch ended").isTrue();
      assertThat(p.exitValue()).isEqualTo(143);
      // The build ends with the launch, not when its 100 s are up; it may be seen a moment
      // after the launch has exited (see ProcessEnds), hence the wait.
      assertThat(ProcessEnds.within(mvn, Duration.ofSeconds(30))).as("the build ended")
          .isTrue();
    } finally {
      p.destroyForcibly();
      if (mvn != null) {
        mvn.destroyForcibly(); // if the test failed
      }
    }
    assertThat(Files.readString(dir.resolve("out.log"))).endsWith("hospes: interrupted"
        + " (SIGTERM) while building Hospes; nothing was run\n");
    assertThat(lines(launches)).isEmpty();
  }

  /**
   * The same while the launch waits for another launch's build (the build lock, held here by
   * a flock of the test's): bash ran its trap only once flock returned, when the other build
   * was done. Now the launch ends at once, and builds nothing.
   */
  @Test
  void aSignalWhileAnotherLaunchBuildsEndsTheWait() throws Exception {
    Files.setLastModifiedTime(root.resolve("dom0/src/main/java/B.java"),
        FileTime.from(BUILT.plusSeconds(60)));
    Process holder = new ProcessBuilder("flock",
        root.resolve("dom0/target/.hospes-build.lock").toString(), "sleep", "100").start();
    Process p = null;
    try {
      p = start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (p.toHandle().children().noneMatch(c -> c.info().command().orElse("")
          .endsWith("flock")) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor())
          .isZero();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the launch ended").isTrue();
      assertThat(p.exitValue()).isEqualTo(143);
      assertThat(holder.isAlive()).as("the other build's lock still held").isTrue();
    } finally {
      if (p != null) {
        p.destroyForcibly();
      }
      holder.descendants().forEach(ProcessHandle::destroy);
      holder.destroy();
    }
    assertThat(Files.readString(dir.resolve("out.log"))).endsWith("hospes: interrupted"
        + " (SIGTERM) while building Hospes; nothing was run\n");
    assertThat(lines(builds)).isEmpty();
    assertThat(lines(launches)).isEmpty();
  }

  /**
   * Ctrl-C or SIGTERM before java starts, here while the launcher dumps the class-data
   * archive: bash died of it with nothing said, and left the class list it had claimed, which
   * kept any later launch from listing the classes again (so no archive, ever). Now one line,
   * the status of an interrupted command, and nothing of the dump is left.
   */
  @Test
  void aSignalBeforeJavaStartsSaysSoAndLeavesNoClassList() throws Exception {
    for (String signal : List.of("INT", "TERM")) {
      if (signal.equals("INT") && RunStopTest.sigintIgnored()) {
        continue; // a shell cannot trap a signal it was started with ignored
      }
      // A class list whose writer (a pid no process has) is gone: this launch dumps it.
      Path list = root.resolve("dom0/target/hospes-cds.classes.tmp.999999999");
      write(list, "java/lang/Object\n");
      assertThat(launch("HOSPES_CDS", "1", "DUMP_SIGNAL", signal)).as(signal)
          .isEqualTo(signal.equals("INT") ? 130 : 143);
      assertThat(Files.readString(dir.resolve("out.log"))).isEqualTo("hospes: stopped:"
          + " interrupted (SIG" + signal + ") while starting; nothing was run\n");
      assertThat(lines(launches)).isEmpty();
      try (var left = Files.list(root.resolve("dom0/target"))) {
        assertThat(left.map(p -> p.getFileName().toString())
            .filter(n -> n.startsWith("hospes-cds"))).as(signal).isEmpty();
      }
    }
  }

  private int launch(String... env) throws Exception {
    Process p = start(env);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return p.exitValue();
  }

  /** Starts {@code hospes --version} on the made-up tree, in a session of its own. */
  private Process start(String... env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("setsid", "-w", "bash",
        root.resolve("hospes").toString(), "--version");
    Files.createDirectories(dir.resolve("tmp"));
    pb.environment().put("TMPDIR", dir.resolve("tmp").toString());
    pb.environment().put("PATH", dir.resolve("bin") + ":" + System.getenv("PATH"));
    pb.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
    pb.environment().put("HOSPES_CDS", "0");
    pb.environment().put("HOSPES_PLUGIN_DIR", dir.resolve("no-plugins").toString());
    pb.environment().remove("HOSPES_NO_BUILD");
    pb.environment().remove("HOSPES_JAVA_OPTS");
    for (int k = 0; k < env.length; k += 2) {
      pb.environment().put(env[k], env[k + 1]);
    }
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve("out.log").toFile());
    return pb.start();
  }

  private static List<String> lines(Path f) throws IOException {
    return Files.exists(f) ? Files.readAllLines(f) : List.of();
  }

  private static void write(Path f, String text) throws IOException {
    Files.createDirectories(f.getParent());
    Files.writeString(f, text, StandardCharsets.UTF_8);
  }

  private static void executable(Path f, String text) throws IOException {
    write(f, text);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
