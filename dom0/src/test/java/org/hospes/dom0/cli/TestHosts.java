package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hospes.dom0.toolstack.host.HostDaemon;
import org.hospes.dom0.toolstack.host.HostPaths;

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
}
