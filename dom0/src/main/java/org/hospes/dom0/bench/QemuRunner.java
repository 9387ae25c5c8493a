package org.hospes.dom0.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a multiboot kernel under {@code qemu-system-i386 -accel tcg}, the yardstick, with the
 * same command line that recorded the golden files ({@code samples/kernels/record-golden.sh}).
 *
 * <p>QEMU's stdout starts with what SeaBIOS writes to its serial console (terminal escapes, a
 * banner, {@value #FIRMWARE_MARKER}); {@link #stripFirmwareOutput} removes that, leaving exactly
 * what the kernel wrote to COM1.
 */
public final class QemuRunner {

  public static final String BINARY = "qemu-system-i386";
  /** The last thing SeaBIOS prints before it jumps to the multiboot kernel. */
  public static final String FIRMWARE_MARKER = "Booting from ROM..";
  /** Exit status of a kernel that wrote 0x10 to the isa-debug-exit port: (0x10 << 1) | 1. */
  public static final int SUCCESS_STATUS = 33;

  /**
   * The outcome of one QEMU run.
   *
   * @param exitStatus QEMU's process status, or -1 if it was killed after the timeout
   * @param serial what the kernel wrote to COM1 (firmware output removed where it was found)
   * @param firmwareMarkerSeen whether the SeaBIOS marker was found (so the stripping was exact)
   * @param wallNanos wall time from starting the process to its exit
   * @param stderr what QEMU wrote to stderr
   */
  public record Result(
      int exitStatus, byte[] serial, boolean firmwareMarkerSeen, long wallNanos, String stderr) {
    public String serialText() {
      return new String(serial, StandardCharsets.ISO_8859_1);
    }

    public boolean succeeded() {
      return exitStatus == SUCCESS_STATUS;
    }
  }

  private QemuRunner() {}

  /** True if {@value #BINARY} is on the PATH. */
  public static boolean isAvailable() {
    return findBinary() != null;
  }

  /** The first line of {@code qemu-system-i386 --version}, or "QEMU (version unknown)". */
  public static String version() {
    try {
      Process p =
          new ProcessBuilder(BINARY, "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(10, TimeUnit.SECONDS);
      String first = out.lines().findFirst().orElse("").trim();
      return first.isEmpty() ? "QEMU (version unknown)" : first;
    } catch (IOException e) {
      return "QEMU (version unknown)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "QEMU (version unknown)";
    }
  }

  private static Path findBinary() {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, BINARY);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /** The exact QEMU command line for a kernel. */
  public static List<String> command(Path kernel) {
    return Arrays.asList(
        BINARY, "-accel", "tcg", "-nographic", "-display", "none", "-serial", "stdio",
        "-monitor", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-m", "64",
        "-no-reboot", "-net", "none", "-kernel", kernel.toString());
  }

  /**
   * QEMU booting a Linux vmlinux directly at its PVH entry ({@code XEN_ELFNOTE_PHYS32_ENTRY}:
   * QEMU's {@code -kernel} takes an ELF with that note through its PVH option ROM), with an
   * initramfs and command line, on a PC with {@code ramMiB} of RAM; the kernel's console is COM1
   * on stdout, and a power-off ends QEMU with status 0.
   */
  public static List<String> linuxPvhCommand(Path vmlinux, Path initrd, String cmdline,
      int ramMiB) {
    return List.of(BINARY, "-accel", "tcg", "-nographic", "-display", "none", "-serial", "stdio",
        "-monitor", "none", "-m", Integer.toString(ramMiB), "-no-reboot", "-net", "none",
        "-kernel", vmlinux.toString(), "-initrd", initrd.toString(), "-append", cmdline);
  }

  /** As {@link #command(Path)} on a machine with {@code cpus} processors ({@code -smp}). */
  public static List<String> command(Path kernel, int cpus) {
    if (cpus < 1) {
      throw new IllegalArgumentException("CPU count must be at least 1, got " + cpus);
    }
    List<String> c = new java.util.ArrayList<>(command(kernel));
    if (cpus > 1) {
      c.addAll(List.of("-smp", Integer.toString(cpus)));
    }
    return c;
  }

  /**
   * Runs the kernel and waits for QEMU to exit, killing it after {@code timeoutSeconds}.
   *
   * @throws IOException if QEMU cannot be started (for instance, it is not installed)
   */
  public static Result run(Path kernel, long timeoutSeconds)
      throws IOException, InterruptedException {
    return run(kernel, 1, timeoutSeconds);
  }

  /** As {@link #run(Path, long)} with {@code cpus} processors. */
  public static Result run(Path kernel, int cpus, long timeoutSeconds)
      throws IOException, InterruptedException {
    return run(command(kernel, cpus), timeoutSeconds);
  }

  /**
   * As {@link #run(Path, long)} with more arguments after the usual ones, for instance
   * {@code -device edu} for a kernel that drives a device Hospes adds through a plugin.
   */
  public static Result run(Path kernel, List<String> extraArgs, long timeoutSeconds)
      throws IOException, InterruptedException {
    List<String> c = new java.util.ArrayList<>(command(kernel));
    c.addAll(extraArgs);
    return run(c, timeoutSeconds);
  }

  private static Result run(List<String> command, long timeoutSeconds)
      throws IOException, InterruptedException {
    TimedProcess.Outcome o = TimedProcess.run(command, java.util.Map.of(), timeoutSeconds);
    byte[] raw = o.stdout();
    return new Result(o.status(), stripFirmwareOutput(raw), hasFirmwareMarker(raw),
        o.wallNanos(), o.stderr());
  }

  /**
   * Removes SeaBIOS's serial console output: everything up to and including the first
   * {@value #FIRMWARE_MARKER}, any further dots, plus a {@code "\r\n"} right after them (the
   * kernels never write {@code '\r'}). Returns the input unchanged if the marker is absent.
   */
  public static byte[] stripFirmwareOutput(byte[] raw) {
    byte[] marker = FIRMWARE_MARKER.getBytes(StandardCharsets.ISO_8859_1);
    int at = indexOf(raw, marker);
    if (at < 0) {
      return raw;
    }
    int from = at + marker.length;
    // SeaBIOS's third dot comes through its serial console on a timer, so under load it can
    // land after the marker instead of before it; the kernels never print a leading '.'.
    while (from < raw.length && raw[from] == '.') {
      from++;
    }
    // Its "\r\n" may be cut short the same way (a lone '\r' was seen under load).
    if (from < raw.length && raw[from] == '\r') {
      from++;
      if (from < raw.length && raw[from] == '\n') {
        from++;
      }
    }
    return Arrays.copyOfRange(raw, from, raw.length);
  }

  /** True if the raw QEMU output contains the firmware marker. */
  public static boolean hasFirmwareMarker(byte[] raw) {
    return indexOf(raw, FIRMWARE_MARKER.getBytes(StandardCharsets.ISO_8859_1)) >= 0;
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
