package org.hospes.dom0.toolstack.host;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where a running host keeps its files: the control socket, the pid file, the log, and the lock
 * that makes a second host on the same directory refuse to start.
 *
 * <p>The directory is {@code --state-dir}, else {@code $HOSPES_STATE_DIR}, else
 * {@code $XDG_RUNTIME_DIR/hospes} (a per-user runtime directory, cleared at logout, as sockets
 * should be), else {@code ~/.hospes/host}.
 */
public record HostPaths(Path dir) {

  public Path socket() {
    return dir.resolve("host.sock");
  }

  public Path pidFile() {
    return dir.resolve("host.pid");
  }

  public Path log() {
    return dir.resolve("host.log");
  }

  public Path lock() {
    return dir.resolve("host.lock");
  }

  /**
   * Held by {@code host start} from its check that no host runs until the host it started
   * answers (or did not start), so that of two starts at once one starts a host and the other
   * then finds it running.
   */
  public Path startLock() {
    return dir.resolve("host-start.lock");
  }

  /** The state directory given, or the default for this environment. */
  public static HostPaths of(Path given) {
    return new HostPaths(given != null ? given.toAbsolutePath()
        : defaultDir(System.getenv(), System.getProperty("user.home")));
  }

  static Path defaultDir(Map<String, String> env, String home) {
    String explicit = env.get("HOSPES_STATE_DIR");
    if (explicit != null && !explicit.isBlank()) {
      return Path.of(explicit).toAbsolutePath();
    }
    String runtime = env.get("XDG_RUNTIME_DIR");
    if (runtime != null && !runtime.isBlank()) {
      return Path.of(runtime, "hospes");
    }
    return Path.of(home, ".hospes", "host");
  }
}
