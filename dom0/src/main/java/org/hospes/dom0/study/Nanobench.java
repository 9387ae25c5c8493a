package org.hospes.dom0.study;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The nanobenchmark kernel's report (samples/kernels/nanobench.c): one line per operation,
 * {@code NAME N ops TOTAL cycles PER.D per op}; and Adams and Agesen's published figures for
 * the operations they measured (ASPLOS 2006, figure 4 raw data, Pentium 4; see
 * shared/reference/published-figures.md).
 */
public final class Nanobench {
  private static final Pattern LINE = Pattern.compile(
      "^(\\w+)\\s+(\\d+) ops\\s+(\\d+) cycles\\s+([0-9.]+) per op$", Pattern.MULTILINE);

  /** The operations in the kernel's order. */
  public static final List<String> OPS = List.of("syscall", "sysenter", "in", "cr3", "cr0ts",
      "callret", "pgfault", "divzero", "ptemod");

  /** Adams and Agesen's figure 4: op, native, VT (hardware VMM without EPT). */
  public record Published(String op, String theirs, long nativeCycles, long vtCycles) {}

  public static final List<Published> ADAMS_AGESEN = List.of(
      new Published("syscall", "syscall", 242, 246),
      new Published("in", "in", 3209, 15826),
      new Published("cr3", "cr8write", 150, 177),
      new Published("callret", "call/ret", 11, 11),
      new Published("pgfault", "pgfault", 1093, 11242),
      new Published("divzero", "divzero", 889, 1014),
      new Published("ptemod", "ptemod", 1, 12733));

  private Nanobench() {}

  /** Cycles per op by name; empty when the output has no nanobenchmark lines. */
  public static Map<String, Double> parse(String output) {
    Map<String, Double> m = new LinkedHashMap<>();
    Matcher x = LINE.matcher(output);
    while (x.find()) {
      m.put(x.group(1), Double.parseDouble(x.group(4)));
    }
    return m;
  }
}
