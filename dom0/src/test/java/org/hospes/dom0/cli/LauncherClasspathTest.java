package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher names a {@code HOSPES_CLASSPATH} entry that does not exist: the JVM skips it
 * without a word, and the user then met only "unknown loader 'flat'" (the README's flat-binary
 * loader, from a jar given there). Run for real against a copy of the script in a made-up tree
 * with a current jar and a fake java that records its class path.
 */
@EnabledOnOs(OS.LINUX)
class LauncherClasspathTest {
  @TempDir
  Path dir;
  private Path root;
  private Path launches;

  @BeforeEach
  void tree() throws IOException {
    Path repo = Path.of(System.getProperty("hospes.root", "..")).toAbsolutePath().normalize();
    root = dir.resolve("tree");
    Files.createDirectories(root.resolve("dom0/target/lib"));
    Files.copy(repo.resolve("hospes"), root.resolve("hospes"));
    Files.writeString(root.resolve("dom0/target/hospes-dom0-0.1.0-SNAPSHOT.jar"), "jar");
    launches = dir.resolve("launches.log");
    Path java = dir.resolve("jdk/bin/java");
    Files.createDirectories(java.getParent());
    Files.writeString(java, "#!/bin/sh\nwhile [ \"$1\" != -cp ]; do shift; done\n"
        + "echo \"$2\" >> '" + launches + "'\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @Test
  void aMissingEntryIsNamedAndTheLaunchGoesOn() throws Exception {
    Path there = Files.writeString(dir.resolve("plugin.jar"), "jar");
    Path missing = dir.resolve("no/such/plugin.jar");
    String cp = there + ":" + missing + "::" + dir.resolve("lib") + "/*";
    assertThat(launch(cp)).isZero();
    assertThat(Files.readString(dir.resolve("out.log"))).isEqualTo("hospes: HOSPES_CLASSPATH"
        + " names " + missing + ", which does not exist\n");
    // Still passed on as given: the JVM decides, as before.
    assertThat(Files.readString(launches)).endsWith(":" + cp + "\n");
  }

  @Test
  void entriesThatExistSayNothing() throws Exception {
    Path there = Files.writeString(dir.resolve("plugin.jar"), "jar");
    assertThat(launch(there + ":" + dir)).isZero();
    assertThat(Files.readString(dir.resolve("out.log"))).isEmpty();
  }

  private int launch(String hospesClasspath) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("hospes").toString(), "--version");
    pb.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
    pb.environment().put("HOSPES_NO_BUILD", "1");
    pb.environment().put("HOSPES_CDS", "0");
    pb.environment().put("HOSPES_PLUGIN_DIR", dir.resolve("no-plugins").toString());
    pb.environment().put("HOSPES_CLASSPATH", hospesClasspath);
    pb.environment().remove("HOSPES_JAVA_OPTS");
    pb.environment().remove("CLASSPATH");
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve("out.log").toFile());
    Process p = pb.start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return p.exitValue();
  }
}
