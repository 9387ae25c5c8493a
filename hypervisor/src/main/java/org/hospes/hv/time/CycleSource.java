package org.hospes.hv.time;

/** Where virtual time comes from: a monotonic count of processor cycles ({@code Cpu::cycles}). */
@FunctionalInterface
public interface CycleSource {

  /** Cycles elapsed since the machine was created; never decreases. */
  long cycles();
}
