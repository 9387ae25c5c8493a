package org.hospes.dom0.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What a bench holds outside its JVM while it measures: its temporary files and directories,
 * and the child process being timed (QEMU, or a Hospes launch). Ctrl-C or SIGTERM ends the JVM
 * without running the bench's finally blocks, so all of it stayed: {@code bench --disk}'s
 * image (32 MiB by default) in the temporary directory, the children's output files and the
 * work directory, and, for a signal sent to the bench's process alone ({@code kill}, {@code
 * timeout}), the child itself, which ran on to its end (a QEMU boot, up to its timeout). The
 * bench's stop hook calls {@link #stop}; until then this only keeps a list.
 */
final class BenchScratch {
  private static final Set<Path> paths = new LinkedHashSet<>();
  private static final Set<Process> children = new LinkedHashSet<>();
  private static boolean stopped;

  private BenchScratch() {}

  /** A temporary file, deleted by {@link #stop} unless {@link #forget forgotten} first. */
  static Path tempFile(String prefix, String suffix) throws IOException {
    synchronized (BenchScratch.class) {
      if (!stopped) {
        Path p = Files.createTempFile(prefix, suffix);
        paths.add(p);
        return p;
      }
    }
    return awaitTheEnd();
  }

  /** A temporary directory, deleted with what is in it by {@link #stop} unless forgotten. */
  static Path tempDirectory(String prefix) throws IOException {
    synchronized (BenchScratch.class) {
      if (!stopped) {
        Path p = Files.createTempDirectory(prefix);
        paths.add(p);
        return p;
      }
    }
    return awaitTheEnd();
  }

  /** Its owner deleted {@code p}: nothing to do for it at a stop. */
  static synchronized void forget(Path p) {
    paths.remove(p);
  }

  /** Starts the child, which {@link #stop} ends unless {@link #ended} was called first. */
  static Process start(ProcessBuilder pb) throws IOException {
    synchronized (BenchScratch.class) {
      if (!stopped) {
        Process p = pb.start();
        children.add(p);
        return p;
      }
    }
    return awaitTheEnd();
  }

  /**
   * The child has ended (or was destroyed after its timeout). After a stop its output files
   * are gone, so the bench's thread goes no further: the JVM is ending.
   */
  static void ended(Process p) {
    synchronized (BenchScratch.class) {
      children.remove(p);
      if (!stopped) {
        return;
      }
    }
    awaitTheEnd();
  }

  /**
   * The JVM is ending (the stop hook): the children are killed, with theirs, and the files
   * and directories deleted, the newest first. The bench's own thread still runs while hooks
   * run; from now on it waits for the end at its next file or child.
   */
  static void stop() {
    List<Process> kill;
    List<Path> delete;
    synchronized (BenchScratch.class) {
      stopped = true;
      kill = new ArrayList<>(children);
      delete = new ArrayList<>(paths);
    }
    for (Process p : kill) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    for (Process p : kill) {
      try {
        p.waitFor(5, TimeUnit.SECONDS); // so that nothing of it writes into what goes next
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    java.util.Collections.reverse(delete);
    for (Path p : delete) {
      deleteTree(p);
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      // Gone already, or not ours to delete any more: nothing more can be done while ending.
    }
  }

  /** The bench's thread after a stop: it parks until the JVM halts. */
  private static <T> T awaitTheEnd() {
    while (true) {
      try {
        Thread.sleep(Long.MAX_VALUE);
      } catch (InterruptedException e) {
        // Still ending.
      }
    }
  }
}
