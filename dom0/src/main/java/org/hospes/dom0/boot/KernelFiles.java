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
}
