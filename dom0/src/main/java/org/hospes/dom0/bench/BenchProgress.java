package org.hospes.dom0.bench;

/** Where {@code hospes bench} reports each measurement as it starts (one line on stderr). */
@FunctionalInterface
interface BenchProgress {
  /** Measurement {@code run} (from 0; -1 for an unmeasured warm-up) of {@code what} starts. */
  void step(String what, int run);
}
