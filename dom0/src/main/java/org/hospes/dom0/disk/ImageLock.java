package org.hospes.dom0.disk;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The exclusive lock a writable image holds, so that two writers (two Hospes processes, two
 * domains, or Hospes and QEMU, whose OFD locks conflict with these POSIX locks) never share
 * one disk. The kernel drops the lock when the process dies, however it dies, so a killed run
 * leaves no stale lock behind. Read-only opens take no file lock: several overlays may share
 * one backing file.
 *
 * <p>Within this process the images open now are counted by file, so that one opened for
 * writing is not opened read-only too, nor the other way round (in one domain or across the
 * domains of one host): the reader would see a disk changing under it. QEMU refuses the same
 * ("Failed to get shared 'write' lock"): a reader does not share write permission.
 */
final class ImageLock {
  private ImageLock() {}

  /** Open images of this process by file: {writers, readers}. */
  private static final Map<Object, int[]> OPEN = new HashMap<>();

  /** One image's place in the count, given back once on close. */
  static final class Hold {
    private final Object key;
    private final boolean readOnly;
    private boolean released;

    private Hold(Object key, boolean readOnly) {
      this.key = key;
      this.readOnly = readOnly;
    }

    void release() {
      synchronized (OPEN) {
        if (released) {
          return;
        }
        released = true;
        int[] n = OPEN.get(key);
        n[readOnly ? 1 : 0]--;
        if (n[0] == 0 && n[1] == 0) {
          OPEN.remove(key);
        }
      }
    }

    /**
     * Closes an image's file as QEMU's bdrv_close does: {@code image} flushed first while
     * {@code ch} is open (a second close does nothing, as FileChannel's), then {@code ch} closed
     * and this place in the count given back, whatever failed on the way.
     */
    void closeFlushed(DiskImage image, FileChannel ch) throws IOException {
      try {
        if (ch.isOpen()) {
          image.flush();
        }
      } finally {
        try {
          ch.close();
        } finally {
          release();
        }
      }
    }
  }

  /**
   * Counts an image opened from {@code path} (read-only, or for writing: then {@code ch}, its
   * channel, is locked too; null for a plugin's image, which locks its files itself). IOException naming the image if it is open in the other mode in
   * this process, or for writing anywhere.
   */
  static Hold hold(Path path, FileChannel ch, boolean readOnly) throws IOException {
    Object key = key(path);
    synchronized (OPEN) {
      int[] n = OPEN.get(key);
      if (n != null && readOnly && n[0] > 0) {
        throw new IOException(path + ": the image is open for writing (by this or another"
            + " domain); it cannot be opened read-only too");
      }
      if (n != null && !readOnly && n[1] > 0) {
        throw new IOException(path + ": the image is open read-only (by this or another"
            + " domain); it cannot be opened for writing too");
      }
      if (!readOnly && ch != null) {
        lockForWriting(ch, path);
      } else if (!readOnly && n != null && n[0] > 0) {
        throw inUse(path);
      }
      OPEN.computeIfAbsent(key, k -> new int[2])[readOnly ? 1 : 0]++;
      return new Hold(key, readOnly);
    }
  }

  /**
   * The file's real path (symbolic links resolved). Not its inode: an image never closed (a
   * test's) would otherwise hold a number a later, different file is given.
   */
  private static Object key(Path path) throws IOException {
    return path.toRealPath();
  }

  static void lockForWriting(FileChannel ch, Path path) throws IOException {
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      throw inUse(path);
    }
  }

  private static IOException inUse(Path path) {
    return new IOException(path + ": the image is in use (locked for writing by another"
        + " domain or process)");
  }
}
