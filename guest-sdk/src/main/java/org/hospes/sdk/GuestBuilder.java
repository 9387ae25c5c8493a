package org.hospes.sdk;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Compiles a guest from C sources with the guest SDK (guest-sdk/c) and the host's gcc, into
 * one ELF that boots in every mode (native, hvm, hvm-shadow, pvhvm, pvh, pv: it has a Multiboot
 * header, the PVH entry note and the classic PV notes). Errors say what went wrong in one line
 * (no gcc, no 32-bit support, the compiler's first error).
 */
public final class GuestBuilder {
  private final Path sdk;
  private final Path buildDir;

  /** @param sdk the guest-sdk/c directory; @param buildDir where ELF files go */
  public GuestBuilder(Path sdk, Path buildDir) {
    this.sdk = sdk;
    this.buildDir = buildDir;
  }

  /** Finds guest-sdk/c from the repository root ({@code hospes.root} or the working dir). */
  public static Path defaultSdk() {
    String root = System.getProperty("hospes.root");
    Path dir = root != null ? Path.of(root) : Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      Path candidate = p.resolve("guest-sdk/c");
      if (Files.isRegularFile(candidate.resolve("Makefile"))) {
        return candidate;
      }
    }
    throw new IllegalStateException("guest-sdk/c not found above " + dir);
  }

  /** Builds guest {@code name} from {@code sources}; returns {@code NAME.elf}. */
  public Path build(String name, List<Path> sources) throws GuestBuildException {
    return build(name, sources, (String) null);
  }

  /**
   * Builds guest {@code name} as a classic PV32 kernel (the SDK's PV runtime, Xen's PV ELF
   * notes, {@code --mode pv}); returns {@code NAME-pv.elf}.
   */
  public Path buildPv(String name, List<Path> sources) throws GuestBuildException {
    return build(name, sources, "pv");
  }

  private Path build(String name, List<Path> sources, String target)
      throws GuestBuildException {
    if (!name.matches("[A-Za-z0-9_.-]+")) {
      throw new GuestBuildException("bad guest name '" + name + "'");
    }
    for (Path s : sources) {
      if (!Files.isRegularFile(s)) {
        throw new GuestBuildException("no such source file: " + s);
      }
    }
    List<String> cmd = new ArrayList<>(List.of("make", "-s", "-C", sdk.toString(),
        "GUEST=" + name, "BUILD=" + buildDir.toAbsolutePath()));
    if (target != null) {
      cmd.add(target);
    }
    StringBuilder srcs = new StringBuilder("SRCS=");
    for (Path s : sources) {
      srcs.append(s.toAbsolutePath()).append(' ');
    }
    cmd.add(srcs.toString().trim());
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new GuestBuildException("cannot run make (install make and gcc): " + e.getMessage());
    }
    String out;
    try {
      out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new GuestBuildException("building " + name + " took more than 300 s");
      }
    } catch (IOException e) {
      throw new GuestBuildException("building " + name + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new GuestBuildException("interrupted while building " + name);
    }
    if (p.exitValue() != 0) {
      throw new GuestBuildException("building " + name + " failed: " + firstError(out));
    }
    return buildDir.resolve(name + (target == null ? "" : "-" + target) + ".elf");
  }

  private static String firstError(String output) {
    for (String line : output.split("\n")) {
      if (line.contains("error") || line.contains("not found")) {
        return line.trim();
      }
    }
    String trimmed = output.trim();
    return trimmed.isEmpty() ? "(no output)" : trimmed.lines().reduce((a, b) -> b).orElse("");
  }

  /** A guest could not be built. */
  public static final class GuestBuildException extends Exception {
    public GuestBuildException(String message) {
      super(message);
    }
  }
}
