package org.hospes.dom0.cli;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether anyone still reads the pipe that is this process's stdout, found in Linux's /proc
 * without writing to the pipe. A closed pipe shows only at the next write (EPIPE), and a guest
 * that has gone quiet writes nothing: {@code hospes run K | head -3} went on until the guest
 * wrote again, perhaps never. Java has no poll(2) on a file descriptor, so this looks for the
 * pipe's read end among the processes' file descriptors: a {@code pipe:[inode]} link whose
 * fdinfo flags have an access mode other than write-only.
 *
 * <p>It says "gone" only when it is sure: a reader was seen (in a process whose descriptors it
 * may read), and now no process it may read holds the read end, and every process seen with it
 * before is gone or, readable, holds it no more. A reader it cannot see at all (another user's
 * process from the start, another PID namespace) makes it say nothing, ever.
 */
final class PipeReaders {

  private static final Path PROC = Path.of("/proc");
  /** O_ACCMODE and O_WRONLY, as in fdinfo's octal flags. */
  private static final int ACCMODE = 3;
  private static final int WRONLY = 1;
  /** How many readers are remembered: a pipeline's reader is one process, or a few. */
  private static final int MAX_SEEN = 16;

  private final Path proc;
  private final String link;
  /** The descriptors seen holding the read end (/proc/PID/fd/N), newest last. */
  private final List<Path> seen = new ArrayList<>();

  private PipeReaders(Path proc, String link) {
    this.proc = proc;
    this.link = link;
  }

  /** The first look, started by {@link #lookEarly}; null if it was not. */
  private static volatile java.util.concurrent.CompletableFuture<PipeReaders> early;

  /**
   * Starts the first look for stdout's reader at once, on a thread of its own, for a command
   * that shows a guest's output. It must see the reader before it goes: {@code hospes console
   * echo | head -1} prints the banner about a third of a second after main starts, and head,
   * having read its line, is gone before a look begun then could see it (and a reader never
   * seen is one that cannot be seen: no answer, ever). Nothing happens unless stdout is a pipe.
   */
  static void lookEarly() {
    Path fd = PROC.resolve("self/fd/1");
    try {
      if (!Files.readSymbolicLink(fd).toString().startsWith("pipe:[")) {
        return;
      }
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return;
    }
    java.util.concurrent.CompletableFuture<PipeReaders> f =
        new java.util.concurrent.CompletableFuture<>();
    early = f;
    Thread t = new Thread(() -> f.complete(of(PROC, fd)), "hospes-stdout-readers");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Readers of this process's stdout, or null when it is not a pipe, /proc cannot say, or no
   * reader can be seen (then nothing can ever be concluded). The early look's, if one was
   * started; it may block until that look is done.
   */
  static PipeReaders ofStdout() {
    java.util.concurrent.CompletableFuture<PipeReaders> f = early;
    return f != null ? f.join() : of(PROC, PROC.resolve("self/fd/1"));
  }

  /** As {@link #ofStdout}, for the pipe {@code fd} (a /proc/PID/fd/N) under {@code proc}. */
  static PipeReaders of(Path proc, Path fd) {
    String link;
    try {
      link = Files.readSymbolicLink(fd).toString();
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return null;
    }
    if (!link.startsWith("pipe:[")) {
      return null;
    }
    PipeReaders r = new PipeReaders(proc, link);
    return r.scan() ? r : null;
  }

  /** True when the pipe certainly has no reader any more. */
  boolean gone() {
    for (int i = seen.size() - 1; i >= 0; i--) {
      if (isReader(seen.get(i))) {
        return false;
      }
    }
    // None of those: a process that forked, or passed the pipe on, may hold it elsewhere. Twice:
    // a reader that forks and then closes its own copy while one scan passes by may have a
    // child the scan had gone beyond (pids wrap around); the second scan finds that child.
    if (scan() || scan()) {
      return false;
    }
    for (Path fd : seen) {
      // A process seen with the pipe still there but unreadable now (it exec'd a setuid
      // program, say) may hold it yet.
      Path dir = fd.getParent();
      if (Files.exists(dir.getParent()) && !Files.isReadable(dir)) {
        return false;
      }
    }
    return true;
  }

  /** Looks through every process's descriptors; records and returns whether a reader is. */
  private boolean scan() {
    try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc)) {
      for (Path pid : pids) {
        String name = pid.getFileName().toString();
        if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
          continue;
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(pid.resolve("fd"))) {
          for (Path fd : fds) {
            if (isReader(fd)) {
              seen.remove(fd);
              if (seen.size() == MAX_SEEN) {
                seen.remove(0);
              }
              seen.add(fd);
              return true;
            }
          }
        } catch (IOException | SecurityException e) {
          // Another user's process, or one that has just ended: it cannot be looked at.
        }
      }
    } catch (IOException | SecurityException e) {
      return false;
    }
    return false;
  }

  /** True if {@code fd} (/proc/PID/fd/N) is this pipe, opened for reading. */
  private boolean isReader(Path fd) {
    try {
      if (!Files.readSymbolicLink(fd).toString().equals(link)) {
        return false;
      }
      Path info = fd.getParent().resolveSibling("fdinfo").resolve(fd.getFileName());
      for (String line : Files.readAllLines(info)) {
        if (line.startsWith("flags:")) {
          return (Integer.parseInt(line.substring(6).strip(), 8) & ACCMODE) != WRONLY;
        }
      }
      return false;
    } catch (IOException | SecurityException | NumberFormatException e) {
      return false;
    }
  }
}
