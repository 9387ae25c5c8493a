package org.hospes.dom0.disk;

import java.io.IOException;

/** A write or discard on a disk opened read-only. */
public final class ReadOnlyDiskException extends IOException {
  private static final long serialVersionUID = 1L;

  public ReadOnlyDiskException(String what) {
    super(what + " is read-only");
  }
}
