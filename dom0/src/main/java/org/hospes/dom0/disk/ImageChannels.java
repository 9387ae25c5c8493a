package org.hospes.dom0.disk;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Opens an image file's channel: read-only, or for reading and writing. A seam so that tests
 * can see what the formats do to the channel (the flush a close must do) without a host disk.
 */
@FunctionalInterface
interface ImageChannels {
  FileChannel open(Path path, boolean readOnly) throws IOException;

  static FileChannel open0(Path path, boolean readOnly) throws IOException {
    return readOnly
        ? FileChannel.open(path, StandardOpenOption.READ)
        : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
  }
}
