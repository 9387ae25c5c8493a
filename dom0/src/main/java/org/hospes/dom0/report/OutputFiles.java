package org.hospes.dom0.report;

import java.nio.file.Files;
import java.nio.file.Path;

/** Checks on files a command will write when it ends, made before it starts. */
public final class OutputFiles {
  private OutputFiles() {}

  /**
   * Null if {@code file} can be created or overwritten, else a one-line reason naming the
   * option, so a long run never ends in a write error that hides its result.
   */
  public static String problem(Path file, String option) {
    Path abs = file.toAbsolutePath();
    Path parent = abs.getParent();
    if (Files.isDirectory(abs)) {
      return option + " " + file + ": is a directory";
    }
    if (parent == null || !Files.isDirectory(parent)) {
      return option + " " + file + ": no such directory " + parent;
    }
    if (Files.exists(abs) ? !Files.isWritable(abs) : !Files.isWritable(parent)) {
      return option + " " + file + ": permission denied";
    }
    return null;
  }
}
