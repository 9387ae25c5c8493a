package org.hospes.dom0.toolstack.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
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

  /**
   * The longest socket path Linux takes: {@code sockaddr_un.sun_path} is 108 bytes with the
   * terminating NUL.
   */
  public static final int MAX_SOCKET_PATH_BYTES = 107;

  /**
   * Why no host can start here, in words, or null: the directory is a file, or the socket's
   * path is too long to bind. Checked before anything is created (and before a daemon is
   * started), so the user gets the reason rather than a Java exception's name.
   */
  public String problem() {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      return "cannot start a host in " + dir + ": it is not a directory";
    }
    int bytes = socket().toString().getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_SOCKET_PATH_BYTES) {
      return "cannot start a host in " + dir + ": its socket's path would be " + bytes
          + " bytes long, and a Unix socket's may be at most " + MAX_SOCKET_PATH_BYTES
          + "; give a shorter --state-dir";
    }
    return null;
  }

  /**
   * Why a file operation on the state directory failed, in words: a {@link FileSystemException}
   * names the file and, in its reason, what the system said; its class name means nothing to
   * a user. The file is left out when it is {@code about}, which the message names already.
   */
  public static String reason(IOException e, Path about) {
    if (e instanceof FileSystemException f) {
      String why = f.getReason() != null ? f.getReason().toLowerCase(Locale.ROOT)
          : e instanceof NoSuchFileException ? "no such file or directory"
          : e instanceof AccessDeniedException ? "permission denied"
          : e instanceof FileAlreadyExistsException ? "exists and is not a directory"
          : "failed";
      return f.getFile() != null && !Path.of(f.getFile()).equals(about) ? f.getFile() + ": " + why
          : why;
    }
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
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
