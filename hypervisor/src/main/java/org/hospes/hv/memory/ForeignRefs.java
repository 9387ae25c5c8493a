package org.hospes.hv.memory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The references that service domains' foreign mappings (privcmd) hold on one domain's frames.
 * In Xen each such mapping takes a page reference (p2m_add_foreign's get_page_from_gfn, or
 * get_page_from_l1e for a PV mapper) that only the unmap puts back, so the frame is not freed,
 * and its domain not released, while it is mapped: a frame the domain gives back
 * (decrease_reservation) leaves its P2M at once but stays its own until the last unmap, and a
 * destroyed domain stays dying until then. A frame that is never freed while mapped can never
 * be handed to another domain, so a stale mapping cannot reach someone else's memory.
 *
 * <p>A domain that shuts down or crashes keeps its memory until the toolstack destroys it, as in
 * Xen, so the foreign mappings of it stay valid until then (a device model may still read it);
 * after the destroy the frames they hold stay its own until they are unmapped.
 */
public final class ForeignRefs {
  private final Map<Long, Integer> counts = new HashMap<>();
  /** Frames the owner gave back while mapped: freed by the last unmap. */
  private final Set<Long> givenBack = new HashSet<>();

  /** A new foreign mapping of {@code mfn}. */
  public void take(long mfn) {
    counts.merge(mfn, 1, Integer::sum);
  }

  /** One mapping of {@code mfn} goes; true if it was the last. */
  public boolean drop(long mfn) {
    Integer n = counts.get(mfn);
    if (n == null) {
      return false;
    }
    if (n > 1) {
      counts.put(mfn, n - 1);
      return false;
    }
    counts.remove(mfn);
    return true;
  }

  public boolean isMapped(long mfn) {
    return counts.containsKey(mfn);
  }

  /** The owner gave {@code mfn} back while it is mapped: it is freed by the last unmap. */
  public void givenBack(long mfn) {
    givenBack.add(mfn);
  }

  /** True once (and then no longer) for a frame given back while mapped. */
  public boolean takeGivenBack(long mfn) {
    return givenBack.remove(mfn);
  }

  /** Frames some foreign mapping holds now. */
  public Set<Long> frames() {
    return new TreeSet<>(counts.keySet());
  }

  public boolean isEmpty() {
    return counts.isEmpty();
  }

}
