package org.hospes.dom0.bench;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * One row of {@code hospes bench}'s results, as {@code --csv} and {@code --json} write it.
 * Figures that were not measured (no QEMU, a failed run) are null.
 *
 * @param kernel bench-alu or bench-mem
 * @param mode the Hospes mode, or "-" for a QEMU-only row
 * @param engine the Hospes engine (interp, jit), or "-" for a QEMU-only row
 * @param instructions guest instructions (Hospes's count, else the kernel's own loop count)
 * @param hospesSeconds best wall time of the Hospes run alone
 * @param qemuSeconds best QEMU wall time less its start-up (empty kernel)
 * @param qemuOverHospes QEMU MIPS / Hospes MIPS
 * @param checksum the kernel's "done" checksum as Hospes printed it
 * @param checksumsAgree whether QEMU printed the same checksum (null without QEMU)
 */
@JsonPropertyOrder({"kernel", "mode", "engine", "iterations", "runs", "instructions", "hospesSeconds",
    "hospesMips", "qemuSeconds", "qemuMips", "qemuOverHospes", "checksum", "checksumsAgree"})
public record BenchRow(String kernel, String mode, String engine, long iterations, int runs, Long instructions,
    Double hospesSeconds, Double hospesMips, Double qemuSeconds, Double qemuMips,
    Double qemuOverHospes, String checksum, Boolean checksumsAgree) {}
