package org.hospes.dom0.disk;

import java.io.IOException;
import java.nio.file.Path;

/** The qcow2 format; backing files are opened through the registry it belongs to. */
final class Qcow2Format implements DiskFormat {
  static final String NAME = "qcow2";

  private final DiskImages registry;

  Qcow2Format(DiskImages registry) {
    this.registry = registry;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public boolean probe(byte[] header) {
    return Qcow2Header.probe(header);
  }

  @Override
  public DiskImage open(Path path, boolean readOnly) throws IOException {
    return Qcow2Image.open(path, readOnly, registry::openBacking);
  }
}
