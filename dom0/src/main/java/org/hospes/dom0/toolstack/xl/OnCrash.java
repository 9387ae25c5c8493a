package org.hospes.dom0.toolstack.xl;

import java.util.Locale;

/** What the host does with a domain that crashed (xl.cfg's {@code on_crash}). */
public enum OnCrash {
  /** Gone from the list at once (xl's default). */
  DESTROY,
  /** Kept in the list, state 'c', until destroyed by hand. */
  PRESERVE,
  /** Built again from its configuration, under a new domain id. */
  RESTART;

  /** The xl.cfg spelling. */
  public String xlName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The action called {@code name} in xl.cfg, or null. */
  public static OnCrash of(String name) {
    for (OnCrash a : values()) {
      if (a.xlName().equals(name)) {
        return a;
      }
    }
    return null;
  }
}
