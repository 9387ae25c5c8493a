package org.hospes.dom0.report;

import java.io.PrintStream;
import java.util.Locale;
import org.hospes.x86.Cpu;

/**
 * The counters of a bare-machine run, shaped like a domain's in {@link StatsReport}: what the
 * processor did and the cycles the cost model charged for it, so that a study reads the native
 * baseline the same way as every other mode.
 */
public record NativeStats(String costModel, long virtualCycles, long idleCycles,
    long instructions, long chargedCycles, long tlbMisses, long pageWalkReferences,
    long eventsDelivered, long portAccesses, long mmioAccesses, long undefinedOpcodes) {

  public static NativeStats of(Cpu cpu, String costModel) {
    long busy = cpu.instructions() + cpu.chargedCycles();
    return new NativeStats(costModel, cpu.cycles(), cpu.cycles() - busy, cpu.instructions(),
        cpu.chargedCycles(), cpu.tlbMisses(), cpu.pageWalkReferences(), cpu.deliveries(),
        cpu.portAccesses(), cpu.mmioAccesses(), cpu.undefinedOpcodes());
  }

  /** Modelled cycles the processor was busy: instructions plus charged costs. */
  public long modelledCycles() {
    return instructions + chargedCycles;
  }

  public void print(PrintStream out) {
    out.printf(Locale.ROOT, "virtual time %,d cycles (%.6f s at 1 GHz), idle %,d cycles, cost"
        + " model %s%n", virtualCycles, virtualCycles / 1e9, idleCycles, costModel);
    out.printf(Locale.ROOT, "native machine%n");
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "instructions", instructions);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "modelled cycles", modelledCycles());
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "  charged by the model", chargedCycles);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "tlb misses", tlbMisses);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "page-walk references", pageWalkReferences);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "events delivered", eventsDelivered);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "port accesses", portAccesses);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "mmio accesses", mmioAccesses);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "undefined opcodes (#UD)", undefinedOpcodes);
  }
}
