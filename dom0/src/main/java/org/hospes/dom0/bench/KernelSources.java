package org.hospes.dom0.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the source tree's {@code samples/kernels} directory and builds kernels there with make.
 *
 * <p>The kernels are freestanding C and assembly built by {@code samples/kernels/Makefile}
 * ({@code gcc -m32}); a build directory other than the default can be passed as {@code BUILD}.
 */
public final class KernelSources {

  /** System property naming the repository root; the root pom sets it for surefire. */
  public static final String ROOT_PROPERTY = "hospes.root";
  /** Environment variable naming the repository root, read when the property is not set. */
  public static final String ROOT_ENV = "HOSPES_ROOT";

  private static final Path MAKEFILE = Paths.get("samples", "kernels", "Makefile");

  /** The builds running now, so that a stop can end them ({@link #stopBuilds}). */
  private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

  private KernelSources() {}

  /**
   * Starts a build (make) that {@link #stopBuilds} can end; the caller passes it to
   * {@link #finished} once it has ended.
   */
  public static Process startBuild(ProcessBuilder build) throws IOException {
    // Started and registered under the lock that stopBuilds takes: a signal that comes as
    // soon as make runs (before it was in the set) found nothing to stop, and the build, and
    // the command reading its output, went on.
    synchronized (RUNNING) {
      Process p = build.start();
      RUNNING.add(p);
      return p;
    }
  }

  /** A build started by {@link #startBuild} has ended. */
  public static void finished(Process build) {
    RUNNING.remove(build);
  }

  /**
   * Ends the builds running now and every process they started, with SIGTERM (make removes
   * the target it was making). Ctrl-C reaches the terminal's whole process group at once, but
   * a process forked just after it misses it: dash, interrupted between a recipe's commands
   * (it waits to see how the command it ran ended), still forks the next, and make, interrupted,
   * waits for all its children before it dies. The build, and the command reading its output
   * to the end, then went on until that child was done: a 100 s sleep in DemoStopTest's
   * stand-in build, about one Ctrl-C in 25. The commands that trap the signals call this.
   */
  public static void stopBuilds() {
    synchronized (RUNNING) {
      stopAll();
    }
  }

  private static void stopAll() {
    for (Process p : RUNNING) {
      // The tree first: once make is gone its children are no longer its descendants.
      List<ProcessHandle> tree = p.descendants().toList();
      // The handle's destroy, not the Process's: that closes the streams too, and the reader
      // of make's output would fail ("Stream closed") rather than see it end.
      p.toHandle().destroy();
      tree.forEach(ProcessHandle::destroy);
    }
  }

  /**
   * The repository root: {@value #ROOT_PROPERTY}, else {@value #ROOT_ENV}, else the nearest
   * directory at or above the working directory that holds {@code samples/kernels/Makefile}.
   *
   * @throws IllegalStateException if none of them leads to the kernel sources
   */
  public static Path findRoot() {
    List<String> tried = new ArrayList<>();
    for (String candidate :
        new String[] {System.getProperty(ROOT_PROPERTY), System.getenv(ROOT_ENV)}) {
      if (candidate != null && !candidate.isBlank()) {
        Path root = Paths.get(candidate).toAbsolutePath().normalize();
        if (Files.isRegularFile(root.resolve(MAKEFILE))) {
          return root;
        }
        tried.add(root.toString());
      }
    }
    Path dir = Paths.get("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve(MAKEFILE))) {
        return p;
      }
    }
    tried.add("the parents of " + dir);
    throw new IllegalStateException(
        "cannot find samples/kernels/Makefile (tried " + String.join(", ", tried)
            + "); set -D" + ROOT_PROPERTY + "=<repository root> or " + ROOT_ENV);
  }

  /** {@code <root>/samples/kernels}. */
  public static Path kernelsDir(Path root) {
    return root.resolve("samples").resolve("kernels");
  }

  /**
   * Runs {@code make -C <root>/samples/kernels BUILD=<buildDir> [VAR=value...] targets...}.
   *
   * @throws IOException if make cannot be started or fails; the message carries make's output
   */
  public static void make(Path root, Path buildDir, Map<String, String> vars, List<String> targets)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add("make");
    cmd.add("-C");
    cmd.add(kernelsDir(root).toString());
    cmd.add("BUILD=" + buildDir.toAbsolutePath());
    vars.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.addAll(targets);
    run(cmd);
  }

  /** Runs a make command; an IOException with make's output if it fails. */
  private static void run(List<String> cmd) throws IOException, InterruptedException {
    runBuild(cmd);
  }

  /**
   * Runs a build command (make), its output kept for the error: a {@link BuildStoppedException}
   * if a signal ended it (Ctrl-C reaches make with the rest of the terminal's process group),
   * a {@link BuildFailedException} if it failed on its own.
   */
  public static void runBuild(List<String> cmd) throws IOException, InterruptedException {
    Process p =
        startBuild(new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(Paths.get("/dev/null").toFile())));
    byte[] out;
    int rc;
    try {
      out = p.getInputStream().readAllBytes();
      rc = p.waitFor();
    } catch (InterruptedException e) {
      p.destroy(); // make removes its half-written target on SIGTERM
      throw e;
    } finally {
      finished(p);
    }
    String stoppedBy = BuildStoppedException.signalName(rc);
    if (stoppedBy != null) {
      throw new BuildStoppedException(cmd, rc - 128, stoppedBy);
    }
    if (rc != 0) {
      throw new BuildFailedException(cmd, rc, new String(out, StandardCharsets.UTF_8));
    }
  }

  /**
   * A build ended by a signal from outside (Ctrl-C, SIGTERM, SIGHUP), which the commands treat
   * as a stop, as they treat the signal reaching their own JVM: not as a failed build. make
   * deletes the target it was making when it is interrupted, so nothing half-built is left.
   */
  public static final class BuildStoppedException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int signal;

    BuildStoppedException(List<String> cmd, int signal, String name) {
      super(String.join(" ", cmd) + " was stopped by " + name);
      this.signal = signal;
    }

    /** The signal's number (2 for SIGINT): 128 plus it is the command's exit status. */
    public int signal() {
      return signal;
    }

    /** "Ctrl-C" for SIGINT, else SIGTERM or SIGHUP. */
    public String signalName() {
      return signalName(128 + signal);
    }

    /** The signal a process's exit status {@code rc} says ended it, or null: not a stop. */
    static String signalName(int rc) {
      // Java reports a process killed by signal N as 128 + N; make, interrupted, kills what it
      // runs, removes its target and raises the signal on itself.
      return switch (rc) {
        case 129 -> "SIGHUP";
        case 130 -> "Ctrl-C";
        case 143 -> "SIGTERM";
        default -> null;
      };
    }
  }

  /**
   * A make that ran and failed: not a bug of Hospes but a host without what the build needs
   * (gcc with 32-bit support, most often), so the CLI says so in plain words (the command, its
   * status and its last lines) rather than as an internal error.
   */
  public static final class BuildFailedException extends IOException {
    private static final long serialVersionUID = 1L;
    /** Lines of make's output the CLI shows: the error is at the end. */
    static final int SHOWN_LINES = 8;
    private final String command;
    private final int status;
    private final String output;

    BuildFailedException(List<String> cmd, int status, String output) {
      super(String.join(" ", cmd) + " failed with status " + status + ":\n" + output);
      this.command = String.join(" ", cmd);
      this.status = status;
      this.output = output;
    }

    /** What the CLI prints: one line, then make's last lines indented. */
    public String report() {
      List<String> lines = output.lines().filter(l -> !l.isBlank()).toList();
      StringBuilder b = new StringBuilder("building the kernels failed: ").append(command)
          .append(" exited with status ").append(status)
          .append(" (is gcc with 32-bit support installed? Debian: gcc-multilib)");
      for (String l : lines.subList(Math.max(0, lines.size() - SHOWN_LINES), lines.size())) {
        b.append("\n  | ").append(l);
      }
      return b.toString();
    }
  }

  /** The ELF that {@link #make} builds for kernel {@code name}. */
  public static Path elf(Path buildDir, String name) {
    return buildDir.resolve(name + ".elf");
  }

  /**
   * Builds the PVH form of benchmark kernel {@code name} (bench-alu or bench-mem) with the guest
   * SDK: {@code samples/guests/bench/bench-pvh.c} with the same ITERS, into
   * {@code <buildDir>/NAME.pvh.elf}.
   */
  public static Path makePvh(Path root, Path buildDir, long iterations, String name)
      throws IOException, InterruptedException {
    Files.createDirectories(buildDir);
    Path wrapper = buildDir.resolve(name + "-pvh.c");
    String source = root.resolve("samples/guests/bench/bench-pvh.c").toAbsolutePath().toString();
    Path loops = kernelsDir(root).resolve("bench-loops.h");
    // The sources' times are in the wrapper, so an edit to them rewrites it and make rebuilds.
    String text = "/* " + Files.getLastModifiedTime(root.resolve(
        "samples/guests/bench/bench-pvh.c")) + " " + Files.getLastModifiedTime(loops) + " */\n"
        + "#define ITERS " + iterations + "u\n"
        + "#define " + (name.equals("bench-mem") ? "BENCH_MEM" : "BENCH_ALU") + " 1\n"
        + "#include \"" + source + "\"\n";
    // Rewritten only when it changes, so make can tell that the image is up to date.
    if (!Files.exists(wrapper) || !Files.readString(wrapper).equals(text)) {
      Files.writeString(wrapper, text);
    }
    run(List.of("make", "-C", root.resolve("guest-sdk/c").toString(), "GUEST=" + name + ".pvh",
        "SRCS=" + wrapper.toAbsolutePath(),
        "BUILD=" + buildDir.toAbsolutePath()));
    return buildDir.resolve(name + ".pvh.elf");
  }

  /**
   * Builds the sample guest {@code samples/guests/NAME/NAME.c} with the guest SDK (make, so
   * only when its sources changed); returns the ELF.
   */
  public static Path makeGuest(Path root, Path buildDir, String name)
      throws IOException, InterruptedException {
    Files.createDirectories(buildDir);
    run(List.of("make", "-C", root.resolve("guest-sdk/c").toString(), "GUEST=" + name,
        "SRCS=" + root.resolve("samples/guests/" + name + "/" + name + ".c").toAbsolutePath(),
        "BUILD=" + buildDir.toAbsolutePath()));
    return buildDir.resolve(name + ".elf");
  }
}
