package org.hospes.dom0.cli;

import java.util.List;
import java.util.Locale;
import org.hospes.dom0.report.TextFormat;
import org.hospes.x86.jit.Engine;
import org.hospes.x86.jit.Jit;
import picocli.CommandLine.Option;

/** {@code --engine interp|jit|lockstep}, shared by the commands that run guests. */
public final class EngineOption {

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String ENGINE_HELP =
      "How the processor executes guest code: jit (hot blocks translated to JVM"
          + " bytecode; the default), interp (the interpreter alone, the reference; the same"
          + " counts, slower), lockstep (both, compared at every translated block; slow, for"
          + " checking).";
  @Option(names = "--engine", paramLabel = "ENGINE",
      description = ENGINE_HELP)
  String engine;

  /**
   * Makes the chosen engine the one of every processor created from now on. Returns null, or a
   * one-line error naming the valid engines.
   */
  public String apply() {
    if (engine == null) {
      return null;
    }
    try {
      System.setProperty(Engine.PROPERTY, Engine.parse(engine).cliName());
      return null;
    } catch (IllegalArgumentException e) {
      return "--engine: " + e.getMessage();
    }
  }

  /** The translator's line of {@code --stats}, or null under the interpreter. */
  public static String statsLine(List<Jit> jits) {
    long blocks = 0;
    long insns = 0;
    long nanos = 0;
    long cached = 0;
    long bytes = 0;
    long evicted = 0;
    long chained = 0;
    long classes = 0;
    long onShared = 0;
    long checked = 0;
    long unchecked = 0;
    boolean any = false;
    boolean lockstep = false;
    for (Jit j : jits) {
      if (j == null) {
        continue;
      }
      any = true;
      blocks += j.translations();
      insns += j.translatedInstructions();
      nanos += j.translateNanos();
      cached += j.cachedTranslations();
      bytes += j.cachedBytes();
      evicted += j.evictions();
      chained += j.chainedEntries();
      classes += j.classesDefined();
      onShared += j.onSharedClasses();
      if (j.lockstep() != null) {
        lockstep = true;
        checked += j.lockstep().checked();
        unchecked += j.lockstep().unchecked();
      }
    }
    if (!any) {
      return null;
    }
    String line = "hospes: jit: " + TextFormat.grouped(blocks) + " blocks translated ("
        + TextFormat.grouped(insns) + " instructions), " + TextFormat.fixed(nanos / 1e6, 1)
        + " ms translating, code cache " + TextFormat.grouped(cached) + " translations ("
        + TextFormat.grouped(bytes) + " bytes), " + TextFormat.grouped(evicted) + " evicted, "
        + TextFormat.grouped(chained) + " chained entries, " + TextFormat.grouped(classes)
        + " classes defined, " + TextFormat.grouped(onShared)
        + " translations on classes shared between processors";
    if (lockstep) {
      line += String.format(Locale.ROOT, "; lockstep: %,d block runs compared, %,d not"
          + " comparable (stores to MMIO or code)", checked, unchecked);
    }
    return line;
  }
}
