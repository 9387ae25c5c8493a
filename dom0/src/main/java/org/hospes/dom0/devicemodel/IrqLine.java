package org.hospes.dom0.devicemodel;

/**
 * The interrupt output of a device model. The device drives a level; whoever wires the machine
 * decides where it goes (a PIC input in an HVM domain, nowhere on the bare native machine).
 */
@FunctionalInterface
public interface IrqLine {

  /** A line connected to nothing, for machines without an interrupt controller. */
  IrqLine NONE = asserted -> { };

  /** Called only when the level changes. */
  void set(boolean asserted);
}
