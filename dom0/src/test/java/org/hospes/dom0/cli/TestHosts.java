package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hospes.dom0.toolstack.host.HostDaemon;
import org.hospes.dom0.toolstack.host.HostPaths;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** A host daemon for a CLI test, its state directory under the test's temporary folder. */
final class TestHosts {
  private TestHosts() {}

  /** Starts a host (64 MiB, credit, the default cost model) on {@code dir}/state. */
  static HostDaemon start(Path dir) throws Exception {
    return HostDaemon.start(new HostPaths(dir.resolve("state")), 64, "credit", "default",
        new PrintStream(new ByteArrayOutputStream(), true));
  }

  /** Stops it and waits for it to be gone (a host a test stopped already stops at once). */
  static void stop(HostDaemon daemon) throws Exception {
    daemon.stop();
    assertThat(daemon.awaitStop(30, TimeUnit.SECONDS)).isTrue();
  }

  /** {@code args} followed by {@code --state-dir} naming that host's directory. */
  static String[] withStateDir(Path dir, String... args) {
    return Stream.concat(Arrays.stream(args),
        Stream.of("--state-dir", dir.resolve("state").toString())).toArray(String[]::new);
  }

  /**
   * A host running for each test of a class that registers this
   * ({@code @RegisterExtension final TestHosts.Running host = new TestHosts.Running();}): a
   * fresh temporary folder and a host on it before each test, the host stopped and the folder
   * removed after it.
   */
  static final class Running implements BeforeEachCallback, AfterEachCallback {
    private Path dir;
    private HostDaemon daemon;

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
      dir = Files.createTempDirectory("hospes-host-test");
      daemon = start(dir);
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
      try {
        stop(daemon);
      } finally {
        try (Stream<Path> all = Files.walk(dir)) {
          for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
            Files.deleteIfExists(p);
          }
        } catch (IOException e) {
          // A file a stopped process still held: the system's temporary folder keeps it.
        }
      }
    }

    /** The test's temporary folder; the host's state is in its {@code state}. */
    Path dir() {
      return dir;
    }

    HostDaemon daemon() {
      return daemon;
    }

    /** {@code args} followed by {@code --state-dir} naming this host's directory. */
    String[] withStateDir(String... args) {
      return TestHosts.withStateDir(dir, args);
    }
  }
}
