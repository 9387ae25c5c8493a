package org.hospes.dom0.boot;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads kernel images from disk with one-line, user-facing errors. */
public final class KernelFiles {
  private KernelFiles() {}

  public static byte[] read(Path kernel) throws BootException {
    try {
      if (Files.isDirectory(kernel)) {
        throw new BootException("is a directory");
      }
      if (Files.size(kernel) > Integer.MAX_VALUE - 64) {
        throw new BootException("too large to be a kernel");
      }
      return Files.readAllBytes(kernel);
    } catch (NoSuchFileException e) {
      throw new BootException("no such file", e);
    } catch (AccessDeniedException e) {
      throw new BootException("permission denied", e);
    } catch (IOException e) {
      throw new BootException("cannot read: " + e.getMessage(), e);
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
