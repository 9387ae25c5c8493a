package org.hospes.dom0.report;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/** Checks on files a command will write when it ends, made before it starts. */
public final class OutputFiles {
  private OutputFiles() {}

  /**
   * Null if {@code file} can be created or overwritten, else a one-line reason naming the
   * option, so a long run never ends in a write error that hides its result.
   *
   * <p>Permission bits do not tell it all (root passes every access check, and a directory such
   * as /proc refuses new files whatever its bits say), so the file is really opened for
   * writing: an existing file without truncating it (its contents stay until the command writes
   * it), a new one by creating it and deleting it again, so that no empty file is left behind.
   */
  public static String problem(Path file, String option) {
    return problemOf(file, option + " " + file);
  }

  /** As {@link #problem}, with the reason after {@code what} (which names the file). */
  public static String problemOf(Path file, String what) {
    Path abs = file.toAbsolutePath();
    Path parent = abs.getParent();
    if (Files.isDirectory(abs)) {
      return what + ": is a directory";
    }
    if (parent == null || !Files.isDirectory(parent)) {
      return what + ": no such directory " + parent;
    }
    if (Files.exists(abs) ? !Files.isWritable(abs) : !Files.isWritable(parent)) {
      return what + ": permission denied";
    }
    // An existing device or pipe (/dev/stdout, say) is not opened: a pipe without a reader
    // would block.
    try {
      if (Files.isRegularFile(abs)) {
        // WRITE alone neither truncates nor changes the file.
        FileChannel.open(abs, StandardOpenOption.WRITE).close();
      } else if (!Files.exists(abs)) {
        FileChannel.open(abs, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW).close();
        Files.deleteIfExists(abs);
      }
    } catch (IOException e) {
      return what + ": cannot write: " + reason(e);
    }
    return null;
  }

  /**
   * Why writing {@code file} failed, in words: "no such directory DIR" when its directory is
   * missing, else {@link #reason(IOException)}.
   */
  public static String reason(Path file, IOException e) {
    Path parent = file.toAbsolutePath().getParent();
    if (e instanceof NoSuchFileException && parent != null && !Files.isDirectory(parent)) {
      return "no such directory " + parent;
    }
    return reason(e);
  }

  /**
   * Why a file operation failed, in words: the message of a {@link FileSystemException} is
   * often only the path, its reason (the system's) is what a user needs.
   */
  public static String reason(IOException e) {
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getReason().toLowerCase(Locale.ROOT);
    }
    if (e instanceof NoSuchFileException) {
      return "no such file or directory";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof NotDirectoryException) {
      return "not a directory";
    }
    if (e instanceof FileAlreadyExistsException) {
      return "file exists";
    }
    if (e instanceof FileSystemException) {
      return e.getClass().getSimpleName();
    }
    String m = e.getMessage();
    if (e instanceof java.io.FileNotFoundException && m != null && m.endsWith(")")
        && m.lastIndexOf(" (") > 0) {
      // java.io's form: "PATH (Reason)".
      return m.substring(m.lastIndexOf(" (") + 2, m.length() - 1).toLowerCase(Locale.ROOT);
    }
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }
}
