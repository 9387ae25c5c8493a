package org.hospes.dom0.boot.loader;

import java.util.List;
import org.hospes.dom0.boot.LoadSegment;

/**
 * What a loader did: which loader, where the kernel starts, where its boot information is
 * (0 when it gets none) and the pieces of the image it placed.
 */
public record BootedKernel(String loader, long entry, long bootInfo, List<LoadSegment> segments) {

  public BootedKernel {
    segments = List.copyOf(segments);
  }
}
