package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's way to write a plugin outside the source tree: Hospes's API jar installed in a
 * Maven repository, {@code samples/plugin-project} (its own pom, nothing shared with this build)
 * packaged against it, and its jar given to {@code ./hospes --plugin-path}. The plugin's cost
 * model must then be chosen by name and change the modelled cycles by exactly 12 per VM exit.
 *
 * <p>The repository is a private one (hard links to the user's, plus the install), so the test
 * never changes {@code ~/.m2}. Maven runs online: a fresh CI machine's repository has what
 * {@code mvn verify} needed, but not yet the install plugin.
 */
class PluginProjectTest {

  @Test
  void anOutOfTreePluginProjectBuildsAgainstTheInstalledApiAndIsSelectable(@TempDir Path tmp)
      throws Exception {
    Path root = TestKernels.root();
    Path repo = tmp.resolve("repo");
    Path userRepo = Path.of(System.getProperty("maven.repo.local",
        System.getProperty("user.home") + "/.m2/repository"));
    if (Files.isDirectory(userRepo)) {
      run(tmp, 120, "cp", "-al", userRepo.toString(), repo.toString());
    }
    Path apiJar;
    try (Stream<Path> jars = Files.list(root.resolve("hypervisor/target"))) {
      apiJar = jars.filter(p -> p.getFileName().toString().matches("hospes-hypervisor-[^-]+(-SNAPSHOT)?\\.jar"))
          .findFirst().orElseThrow(() -> new IllegalStateException(
              "hypervisor/target has no hospes-hypervisor jar: package the hypervisor module first"));
    }
    // What `mvn install -DskipTests -pl hypervisor -am` does, without rebuilding the module under
    // the feet of this very build: the parent pom, then the API jar with its pom.
    mvn(root, repo, "install:install-file", "-Dfile=pom.xml", "-DpomFile=pom.xml",
        "-Dpackaging=pom");
    mvn(root, repo, "install:install-file", "-Dfile=" + apiJar, "-DpomFile=hypervisor/pom.xml");

    Path project = tmp.resolve("plugin-project");
    copyTree(root.resolve("samples/plugin-project"), project);
    mvn(project, repo, "package");
    Path pluginJar = project.resolve("target/haswell-cost-model-1.0.0.jar");
    assertThat(pluginJar).exists();

    Path kernel = TestKernels.elf("hello");
    JsonNode base = hvmRun(root, tmp, pluginJar, "default", kernel);
    JsonNode haswell = hvmRun(root, tmp, pluginJar, "haswell", kernel);
    assertThat(haswell.path("costModel").asText()).isEqualTo("haswell");
    JsonNode g0 = guest(base);
    JsonNode g1 = guest(haswell);
    assertThat(exitCount(g0)).as("the HVM hello kernel's VM exits").isPositive();
    assertThat(g1.path("instructions").asLong()).isEqualTo(g0.path("instructions").asLong());
    // 512 cycles per VM exit instead of the default 500, and nothing else changed.
    assertThat(g1.path("cycles").asLong() - g0.path("cycles").asLong())
        .isEqualTo(12 * exitCount(g0));
  }

  private static long exitCount(JsonNode domain) {
    long n = 0;
    for (JsonNode reason : domain.path("exits")) {
      n += reason.path("count").asLong();
    }
    return n;
  }

  private static JsonNode guest(JsonNode stats) {
    for (JsonNode d : stats.path("domains")) {
      if (!d.path("service").asBoolean()) {
        return d;
      }
    }
    throw new AssertionError("no guest domain in " + stats);
  }

  private static JsonNode hvmRun(Path root, Path tmp, Path pluginJar, String model, Path kernel)
      throws Exception {
    Path json = tmp.resolve("stats-" + model + ".json");
    List<String> cmd = List.of(root.resolve("hospes").toString(), "--plugin-path",
        pluginJar.toString(), "run", "--mode", "hvm", "--cost-model", model, "--stats-json",
        json.toString(), kernel.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true);
    pb.environment().put("HOSPES_NO_BUILD", "1");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    // The hello kernel powers off through isa-debug-exit with 0x10: status 33, as under QEMU.
    assertThat(p.exitValue()).as(out).isEqualTo(33);
    assertThat(out).contains("is prime");
    return new ObjectMapper().readTree(json.toFile());
  }

  private static void mvn(Path dir, Path repo, String... goals) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("mvn", "-B", "-ntp", "-q",
        "-Dmaven.repo.local=" + repo));
    cmd.addAll(List.of(goals));
    run(dir, 600, cmd.toArray(String[]::new));
  }

  private static void run(Path dir, int seconds, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Path rel = from.relativize(f);
        if (rel.startsWith("target")) {
          continue;
        }
        Path dest = to.resolve(rel.toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(dest);
        } else {
          Files.copy(f, dest);
        }
      }
    }
  }
}
