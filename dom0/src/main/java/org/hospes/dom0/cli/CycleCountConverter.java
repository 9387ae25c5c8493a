package org.hospes.dom0.cli;

/**
 * Reads a count of virtual-time cycles ({@code --max-cycles}, {@code --destroy NAME@CYCLES}):
 * the same syntax as instruction counts, with messages that speak of cycles.
 */
final class CycleCountConverter extends InstructionCountConverter {
  CycleCountConverter() {
    super("cycle count", "cycle limit");
  }
}
