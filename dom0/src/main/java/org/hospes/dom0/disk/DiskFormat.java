package org.hospes.dom0.disk;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An image format: recognises its files and opens them. Formats are an extension point (bound by
 * name like schedulers); {@link DiskImages} picks one by {@code format=} or by probing.
 */
public interface DiskFormat {

  /** The name users give in {@code format=}. */
  String name();

  /** True if {@code header} (the file's first bytes, up to 512) is this format's. */
  boolean probe(byte[] header);

  /** Opens {@code path}; a clear IOException (naming the file) if it is not a valid image. */
  DiskImage open(Path path, boolean readOnly) throws IOException;
}
