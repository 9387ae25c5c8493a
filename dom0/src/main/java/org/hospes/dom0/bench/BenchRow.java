package org.hospes.dom0.bench;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * One row of {@code hospes bench}'s results, as {@code --csv} and {@code --json} write it.
 * Figures that were not measured (no QEMU, a failed run, the interpreter's translator figures)
 * are null.
 *
 * @param kernel the workload: bench-alu, bench-mem, linux-pvh (the Linux boot) or startup
 * @param mode the Hospes mode, or "-" for a QEMU-only row
 * @param engine the Hospes engine (interp, jit), or "-" for a QEMU-only row
 * @param iterations loop iterations of a benchmark kernel (0 for linux-pvh and startup)
 * @param runs measurements of each figure
 * @param instructions guest instructions (Hospes's count, else the kernel's own loop count)
 * @param hospesSeconds Hospes's time, as {@code timing} says
 * @param hospesMips millions of guest instructions per second of Hospes's run alone
 * @param qemuSeconds QEMU's time, as {@code timing} says
 * @param qemuOverHospes how many times faster QEMU is: QEMU MIPS / Hospes MIPS, or Hospes
 *     seconds / QEMU seconds for the wall-time rows
 * @param checksum the kernel's "done" checksum as Hospes printed it
 * @param checksumsAgree whether QEMU printed the same checksum (null without QEMU)
 * @param timing {@value #NET_BEST} (the loops: Hospes's run alone, QEMU's process less that of
 *     the empty kernel, best of the runs), {@value #PROCESS_BEST} (the Linux boot: each whole
 *     process from start to exit, best of the runs) or {@value #PROCESS_MEDIAN} (start-up: each
 *     whole process, median of the runs)
 * @param hospesRunSeconds Hospes's run alone, loading and JVM start-up excluded (as its
 *     {@code --stats} line gives it)
 * @param hospesMarker whether Hospes's console showed the workload's marker (Linux boot only)
 * @param qemuMarker whether QEMU's console showed it (Linux boot only)
 * @param hospesCpuSeconds processor time (user and system, every thread) of the Hospes process,
 *     aggregated as {@code timing} says (the wall-time rows only); a loaded host changes it far
 *     less than the wall time
 * @param qemuCpuSeconds the same of the QEMU process
 * @param jitBlocks blocks the translator translated (jit engine)
 * @param jitInstructions guest instructions those translations cover
 * @param jitTranslateMillis host milliseconds spent translating and loading the classes
 * @param jitCacheTranslations translations in the code cache at the end of the run
 * @param jitCacheBytes class-file bytes in the code cache at the end of the run
 * @param jitEvictions translations the full code cache evicted
 */
@JsonPropertyOrder({"kernel", "mode", "engine", "iterations", "runs", "instructions", "hospesSeconds",
    "hospesMips", "qemuSeconds", "qemuMips", "qemuOverHospes", "checksum", "checksumsAgree",
    "timing", "hospesRunSeconds", "hospesMarker", "qemuMarker", "hospesCpuSeconds",
    "qemuCpuSeconds", "jitBlocks", "jitInstructions",
    "jitTranslateMillis", "jitCacheTranslations", "jitCacheBytes", "jitEvictions"})
public record BenchRow(String kernel, String mode, String engine, long iterations, int runs, Long instructions,
    Double hospesSeconds, Double hospesMips, Double qemuSeconds, Double qemuMips,
    Double qemuOverHospes, String checksum, Boolean checksumsAgree, String timing,
    Double hospesRunSeconds, Boolean hospesMarker, Boolean qemuMarker, Double hospesCpuSeconds,
    Double qemuCpuSeconds, Long jitBlocks,
    Long jitInstructions, Double jitTranslateMillis, Long jitCacheTranslations,
    Long jitCacheBytes, Long jitEvictions) {

  public static final String NET_BEST = "net-best";
  public static final String PROCESS_BEST = "process-best";
  public static final String PROCESS_MEDIAN = "process-median";

  /** This row with the translator's figures (none: unchanged). */
  public BenchRow withJit(JitFigures j) {
    if (j == null) {
      return this;
    }
    return new BenchRow(kernel, mode, engine, iterations, runs, instructions, hospesSeconds,
        hospesMips, qemuSeconds, qemuMips, qemuOverHospes, checksum, checksumsAgree, timing,
        hospesRunSeconds, hospesMarker, qemuMarker, hospesCpuSeconds, qemuCpuSeconds, j.blocks(), j.instructions(),
        j.translateMillis(), j.cachedTranslations(), j.cacheBytes(), j.evictions());
  }
}
