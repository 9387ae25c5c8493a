package org.hospes.dom0.boot;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads kernel images from disk with one-line, user-facing errors. */
public final class KernelFiles {
  private KernelFiles() {}

  /**
   * For a sample kernel not built yet ({@code DIR/build/NAME.elf} where {@code DIR} has a
   * Makefile and {@code NAME.c}, as {@code samples/kernels} has), the make command that builds
   * it, in parentheses after a space; else "". The README's examples name those files, and a
   * user who starts from a later section has not run make yet.
   */
  static String buildHint(Path kernel) {
    Path file = kernel.getFileName();
    Path build = kernel.getParent();
    if (file == null || build == null || build.getFileName() == null
        || !build.getFileName().toString().equals("build")
        || !file.toString().endsWith(".elf")) {
      return "";
    }
    Path dir = build.getParent() != null ? build.getParent() : Path.of(".");
    String name = file.toString().substring(0, file.toString().length() - ".elf".length());
    if (name.isEmpty() || !Files.isRegularFile(dir.resolve("Makefile"))
        || !Files.isRegularFile(dir.resolve(name + ".c"))) {
      return "";
    }
    return " (make -C " + dir + " " + name + " builds it)";
  }

  public static byte[] read(Path kernel) throws BootException {
    try {
      if (Files.isDirectory(kernel)) {
        throw new BootException("is a directory");
      }
      if (!Files.isRegularFile(kernel) && isDevice(kernel)) {
        // /dev/zero never ends: it was read until the heap ran out, the launch silent
        // meanwhile; a terminal (/dev/stdin at a prompt) waited for typing. A pipe, as
        // process substitution gives (<(...)), is still read.
        throw new BootException("is a device, not a file");
      }
      if (Files.size(kernel) > Integer.MAX_VALUE - 64) {
        throw new BootException("too large to be a kernel");
      }
      return readChunked(kernel);
    } catch (NoSuchFileException e) {
      throw new BootException("no such file" + buildHint(kernel), e);
    } catch (AccessDeniedException e) {
      throw new BootException("permission denied", e);
    } catch (IOException e) {
      throw new BootException("cannot read: " + e.getMessage(), e);
    }
  }

  /** Whether {@code file} is a character or block device (its stat's file type). */
  static boolean isDevice(Path file) throws IOException {
    try {
      int type = (Integer) Files.getAttribute(file, "unix:mode") & 0170000;
      return type == 0020000 || type == 0060000; // S_IFCHR, S_IFBLK
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return false; // no unix view here: read it as before
    }
  }

  /** Bytes asked of the stream at a time. */
  static final int CHUNK = 64 << 10;

  /**
   * The file's bytes, read {@link #CHUNK} at a time into one array. {@code
   * Files.readAllBytes} asks for the whole file in one read, for which NIO takes a temporary
   * direct buffer as large as the file (zeroed, then copied out): for the 16 MB of a Debian
   * vmlinux about twice the time of this, 150 ms against 75 ms in a fresh JVM.
   */
  static byte[] readChunked(Path file) throws IOException {
    try (java.io.InputStream in = Files.newInputStream(file)) {
      byte[] bytes = new byte[(int) Files.size(file)];
      int done = 0;
      while (done < bytes.length) {
        int n = in.read(bytes, done, Math.min(CHUNK, bytes.length - done));
        if (n < 0) {
          return java.util.Arrays.copyOf(bytes, done); // it shrank meanwhile
        }
        done += n;
      }
      int next = in.read();
      if (next < 0) {
        return bytes;
      }
      // It grew meanwhile, or it is a pipe (process substitution, <(...)), whose size reads
      // 0: the rest from this stream. Reading the file again lost the byte just read, and a
      // pipe's kernel was "not an ELF file".
      java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream(done + CHUNK);
      all.write(bytes, 0, done);
      all.write(next);
      byte[] chunk = new byte[CHUNK];
      for (int n; (n = in.read(chunk)) >= 0; ) {
        if (all.size() > Integer.MAX_VALUE - 64 - n) {
          throw new IOException("too large to be a kernel");
        }
        all.write(chunk, 0, n);
      }
      return all.toByteArray();
    }
  }

  /** Reads boot modules, each named by its file name (its command line in the module list). */
  public static java.util.List<BootModule> readModules(java.util.List<Path> files)
      throws BootException {
    java.util.List<BootModule> modules = new java.util.ArrayList<>();
    for (Path m : files) {
      try {
        modules.add(new BootModule(read(m), m.getFileName().toString()));
      } catch (BootException e) {
        throw new BootException("module " + m + ": " + e.getMessage(), e);
      }
    }
    return modules;
  }
}
