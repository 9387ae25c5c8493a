package org.hospes.dom0.disk;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;

/**
 * The exclusive lock a writable image holds, so that two writers (two Hospes processes, two
 * domains, or Hospes and QEMU, whose OFD locks conflict with these POSIX locks) never share
 * one disk. The kernel drops the lock when the process dies, however it dies, so a killed run
 * leaves no stale lock behind. Read-only opens take no lock: several overlays may share one
 * backing file.
 */
final class ImageLock {
  private ImageLock() {}

  static void lockForWriting(FileChannel ch, Path path) throws IOException {
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      throw new IOException(path + ": the image is in use (locked for writing by another"
          + " domain or process)");
    }
  }
}
