package org.hospes.dom0.report;

import java.io.PrintStream;
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
    out.println("virtual time " + TextFormat.grouped(virtualCycles) + " cycles ("
        + TextFormat.fixed(virtualCycles / 1e9, 6) + " s at 1 GHz), idle "
        + TextFormat.grouped(idleCycles) + " cycles, cost model " + costModel);
    out.println("native machine");
    out.println(StatsReport.table("instructions", instructions));
    out.println(StatsReport.table("modelled cycles", modelledCycles()));
    out.println(StatsReport.table("  charged by the model", chargedCycles));
    out.println(StatsReport.table("tlb misses", tlbMisses));
    out.println(StatsReport.table("page-walk references", pageWalkReferences));
    out.println(StatsReport.table("events delivered", eventsDelivered));
    out.println(StatsReport.table("port accesses", portAccesses));
    out.println(StatsReport.table("mmio accesses", mmioAccesses));
    out.println(StatsReport.table("undefined opcodes (#UD)", undefinedOpcodes));
  }
}
