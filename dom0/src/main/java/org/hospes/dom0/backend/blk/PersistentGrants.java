package org.hospes.dom0.backend.blk;

import java.util.HashMap;
import java.util.Map;
import org.hospes.hv.control.ForeignPage;

/**
 * The grants a backend keeps mapped across requests when both ends offered
 * {@code feature-persistent}: the frontend reuses a fixed set of granted pages (copying data
 * in and out of them itself), so the backend maps each reference once. At most {@link #MAX}
 * (Linux blkback's default {@code max_persistent_grants}, 1056) are kept; beyond that a grant is
 * mapped for one request only, as Linux does when its pool is full.
 */
final class PersistentGrants {
  static final int MAX = 1056;

  private final Map<Integer, ForeignPage> pages = new HashMap<>();

  ForeignPage get(int gref) {
    return pages.get(gref);
  }

  /** Keeps {@code page} for later requests; false if the pool is full. */
  boolean offer(int gref, ForeignPage page) {
    if (pages.size() >= MAX) {
      return false;
    }
    pages.put(gref, page);
    return true;
  }

  int size() {
    return pages.size();
  }

  /** Unmaps every kept page (the ring disconnects); returns how many. */
  int unmapAll() {
    int n = 0;
    for (ForeignPage p : pages.values()) {
      p.unmap();
      n++;
    }
    pages.clear();
    return n;
  }
}
