package org.hospes.x86.diff;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.hospes.hv.testing.TestProperties;

/**
 * Runs generated cases on a reference harness and on the emulator, compares them, and collects
 * every mismatch grouped by form.
 *
 * <p>Case {@code i} of seed {@code s} is generated from its own random stream, so any single case
 * can be regenerated from ({@code s}, {@code i}) alone: {@code -Dhospes.diff.case=i}.
 */
final class DiffRun {
  /** Generates case {@code index} from its own random stream. */
  interface Generator {
    DiffCase generate(SplittableRandom rnd, int index);
  }

  static final int BATCH = 25_000;
  private static final int SHOWN_PER_FORM = 3;
  static final String[] REG_NAMES = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
  static final String[] SREG_NAMES = {"ES", "CS", "SS", "DS", "FS", "GS"};

  private final String testClass;
  private final long seed;
  private final NativeHarness harness;
  private final Generator generator;
  private final Map<String, Integer> mismatchCounts = new TreeMap<>();
  private final Map<String, List<String>> shown = new LinkedHashMap<>();
  private final Map<String, Integer> formCounts = new TreeMap<>();
  /** How the reference ended each case ("completed", "#GP", ...): shows the mix is not all one way. */
  private final Map<String, Integer> endings = new TreeMap<>();
  private int total;
  private int mismatches;
  private long refNanos;
  private long emuNanos;

  DiffRun(String testClass, long seed, NativeHarness harness, Generator generator) {
    this.testClass = testClass;
    this.seed = seed;
    this.harness = harness;
    this.generator = generator;
  }

  // A blank property is the default, as before; anything else that is not a number stops the
  // suite with the property named (it was a bare NumberFormatException: For input string).
  static long seed() {
    String s = System.getProperty("hospes.diff.seed");
    return s == null || s.isBlank() ? 0x5EED_2026L
        : TestProperties.longValue("hospes.diff.seed", 0x5EED_2026L);
  }

  static int count(String property, int dflt) {
    String s = System.getProperty(property);
    return s == null || s.isBlank() ? dflt : index(property, dflt);
  }

  /** The case index from {@code -Dhospes.diff.case}, or -1 to run the whole suite. */
  static int onlyCase() {
    String s = System.getProperty("hospes.diff.case");
    return s == null || s.isBlank() ? -1 : index("hospes.diff.case", -1);
  }

  private static int index(String property, int dflt) {
    long value = TestProperties.longValue(property, dflt);
    if (value < 0 || value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("-D" + property + "=" + System.getProperty(property)
          + ": must be 0 to " + Integer.MAX_VALUE);
    }
    return (int) value;
  }

  DiffCase generate(int index) {
    SplittableRandom rnd = new SplittableRandom(seed ^ (0x9E37_79B9_7F4A_7C15L * (index + 1L)));
    return generator.generate(rnd, index);
  }

  List<DiffCase> generate(int from, int to) {
    List<DiffCase> cases = new ArrayList<>(to - from);
    for (int i = from; i < to; i++) {
      cases.add(generate(i));
    }
    return cases;
  }

  /** Runs the reference only and returns its outcomes (used while the processor is a stub). */
  Outcome[] reference(List<DiffCase> cases) {
    long t0 = System.nanoTime();
    Outcome[] out = harness.run(cases);
    refNanos += System.nanoTime() - t0;
    return out;
  }

  /** Runs cases {@code [0, n)} (or only case {@code only}) on both sides. */
  void runAll(int n, int only, EmulatorRunner emu) {
    if (only >= 0) {
      DiffCase c = generate(only);
      Outcome ref = harness.run(List.of(c))[0];
      Outcome e = emu.run(c);
      List<String> diffs = compare(c, ref, e);
      System.out.println(describe(only, c, ref, e, diffs));
      record(only, c, ref, e, diffs);
      return;
    }
    for (int from = 0; from < n; from += BATCH) {
      int to = Math.min(n, from + BATCH);
      List<DiffCase> cases = generate(from, to);
      Outcome[] ref = reference(cases);
      long t0 = System.nanoTime();
      Outcome[] got = emu.run(cases);
      emuNanos += System.nanoTime() - t0;
      for (int i = 0; i < cases.size(); i++) {
        record(from + i, cases.get(i), ref[i], got[i], compare(cases.get(i), ref[i], got[i]));
      }
    }
  }

  private void record(int index, DiffCase c, Outcome ref, Outcome emu, List<String> diffs) {
    total++;
    formCounts.merge(c.form, 1, Integer::sum);
    endings.merge(ref.vector == Outcome.OTHER_SIGNAL ? "other signal" : ref.ending(), 1,
        Integer::sum);
    if (diffs.isEmpty()) {
      return;
    }
    mismatches++;
    String key = ref.vector == Outcome.OTHER_SIGNAL ? "REFERENCE FAULT (generator bug): " + c.form
        : c.form;
    mismatchCounts.merge(key, 1, Integer::sum);
    List<String> list = shown.computeIfAbsent(key, k -> new ArrayList<>());
    if (list.size() < SHOWN_PER_FORM) {
      list.add(describe(index, c, ref, emu, diffs));
    }
  }

  /** Names of the fields that differ; empty when the case passes. */
  static List<String> compare(DiffCase c, Outcome ref, Outcome emu) {
    List<String> d = new ArrayList<>();
    if (ref.vector == Outcome.OTHER_SIGNAL) {
      d.add("reference");
      return d;
    }
    if (ref.vector != emu.vector) {
      d.add("ending");
      return d;
    }
    boolean done = ref.vector == Outcome.COMPLETED;
    if (c.userMode) {
      for (int s = 0; s < 6; s++) {
        if (ref.sregs[s] != emu.sregs[s]) {
          d.add(SREG_NAMES[s]);
        }
      }
      if (!done && ref.errorCode != emu.errorCode) {
        d.add("error code");
      }
      if (ref.vector == org.hospes.x86.Exceptions.PF && ref.faultAddr != emu.faultAddr) {
        d.add("CR2");
      }
    }
    for (int r = 0; r < 8; r++) {
      int m = done ? c.regMask[r] : -1;
      if (((ref.regs[r] ^ emu.regs[r]) & m) != 0) {
        d.add(REG_NAMES[r]);
      }
    }
    int fm = done ? c.flagMask : DefinedFlags.COMPARABLE;
    if (((ref.eflags ^ emu.eflags) & fm) != 0) {
      d.add("EFLAGS");
    }
    int expectedEip = done ? ref.eip - c.eipAdjust() : ref.eip - c.faultEipAdjust;
    if (expectedEip != emu.eip) {
      d.add("EIP");
    }
    // run(1) on a single instruction retires exactly one (a REP string instruction counts once);
    // a faulting one retires none.
    if (c.maxSteps == 1 && !c.asBlock && emu.retired >= 0 && emu.retired != (done ? 1 : 0)) {
      d.add("retired");
    }
    for (int i = 0; i < ref.mem.length; i++) {
      int m = c.memMask == null ? 0xFF : c.memMask[i] & 0xFF;
      if (((ref.mem[i] ^ emu.mem[i]) & m) != 0) {
        d.add("mem");
        break;
      }
    }
    return d;
  }

  String repro(int index) {
    return "mvn -q -pl hypervisor test -Dtest=" + testClass + " -Dhospes.diff.seed=0x"
        + Long.toHexString(seed) + " -Dhospes.diff.case=" + index;
  }

  /** A full report of one case: bytes, text, the states side by side, and how to reproduce it. */
  String describe(int index, DiffCase c, Outcome ref, Outcome emu, List<String> diffs) {
    StringBuilder s = new StringBuilder();
    s.append("case #").append(index).append("  [").append(c.form).append("]  ").append(c.text)
        .append(c.asBlock ? "   (emulator: one run() call)" : "   (emulator: run(1) per instruction)")
        .append('\n');
    s.append("  bytes     reference: ").append(Hex.bytes(c.refCode)).append("   emulator: ")
        .append(Hex.bytes(c.emuCode)).append('\n');
    s.append(String.format("  %-9s %-10s %-10s %-10s%n", "field", "initial", "reference", "emulator"));
    s.append(String.format("  %-9s %-10s %-10s %-10s%s%n", "ending", "", ref.vector == Outcome.COMPLETED
        ? "completed" : ref.ending(), emu.ending(), diffs.contains("ending") ? "  <<" : ""));
    if (!ref.note.isEmpty() && ref.vector == Outcome.OTHER_SIGNAL) {
      s.append("  reference: ").append(ref.note).append('\n');
    }
    if (!emu.note.isEmpty()) {
      s.append("  emulator: ").append(emu.note).append('\n');
    }
    for (int r = 0; r < 8; r++) {
      String masked = c.regMask[r] != -1 ? "  (compared bits " + Hex.w32(c.regMask[r]) + ")" : "";
      s.append(String.format("  %-9s %-10s %-10s %-10s%s%s%n", REG_NAMES[r], Hex.w32(c.regs[r]),
          Hex.w32(ref.regs[r]), Hex.w32(emu.regs[r]), diffs.contains(REG_NAMES[r]) ? "  <<" : "",
          masked));
    }
    s.append(String.format("  %-9s %-10s %-10s %-10s%s  compared: %s%n", "EFLAGS", Hex.w32(c.eflags),
        Hex.w32(ref.eflags), Hex.w32(emu.eflags), diffs.contains("EFLAGS") ? "  <<" : "",
        DefinedFlags.names(ref.vector == Outcome.COMPLETED ? c.flagMask : DefinedFlags.COMPARABLE)));
    s.append(String.format("            %-10s %-10s %-10s%n", "", DefinedFlags.names(ref.eflags
        & DefinedFlags.COMPARABLE), DefinedFlags.names(emu.eflags & DefinedFlags.COMPARABLE)));
    if (c.userMode) {
      for (int sr = 0; sr < 6; sr++) {
        int init = sr == 1 ? EmulatorRunner.USER_CS : sr == 2 ? EmulatorRunner.USER_DS
            : c.sregs[sr == 0 ? 0 : sr - 2];
        s.append(String.format("  %-9s %-10s %-10s %-10s%s%n", SREG_NAMES[sr], Hex.w32(init),
            Hex.w32(ref.sregs[sr]), Hex.w32(emu.sregs[sr]),
            diffs.contains(SREG_NAMES[sr]) ? "  <<" : ""));
      }
      if (ref.vector != Outcome.COMPLETED) {
        s.append(String.format("  %-9s %-10s %-10s %-10s%s%n", "errcode", "",
            Hex.w32(ref.errorCode), Hex.w32(emu.errorCode),
            diffs.contains("error code") ? "  <<" : ""));
      }
      if (ref.vector == org.hospes.x86.Exceptions.PF) {
        s.append(String.format("  %-9s %-10s %-10s %-10s%s%n", "CR2", "", Hex.w32(ref.faultAddr),
            Hex.w32(emu.faultAddr), diffs.contains("CR2") ? "  <<" : ""));
      }
    }
    int expectedEip = ref.vector == Outcome.COMPLETED ? ref.eip - c.eipAdjust()
        : ref.eip - c.faultEipAdjust;
    s.append(String.format("  %-9s %-10s %-10s %-10s%s%s%n",
        "EIP", Hex.w32(c.codeAddr), Hex.w32(expectedEip), Hex.w32(emu.eip),
        diffs.contains("EIP") ? "  <<" : "",
        ref.vector == Outcome.COMPLETED && c.eipAdjust() != 0
            ? "  (host EIP minus its " + c.eipAdjust() + " extra encoding bytes)" : ""));
    if (emu.retired >= 0) {
      s.append(String.format("  %-9s %-10s %-10s %-10s%s%n", "retired", "", "", emu.retired,
          diffs.contains("retired") ? "  <<  (Cpu.instructions() delta)" : ""));
    }
    int shownBytes = 0;
    for (int i = 0; i < ref.mem.length; i++) {
      int m = c.memMask == null ? 0xFF : c.memMask[i] & 0xFF;
      boolean differs = ((ref.mem[i] ^ emu.mem[i]) & m) != 0;
      boolean changed = ref.mem[i] != c.mem[i] || emu.mem[i] != c.mem[i];
      // Differing bytes first: a wide window (the SIMD cases' FXSAVE image) changes many.
      boolean anyDiff = diffs.contains("mem");
      if ((anyDiff ? differs : changed) && shownBytes < 24) {
        s.append(String.format("  mem %-5s %-10s %-10s %-10s%s%n",
            "+" + Integer.toHexString(i), String.format("%02x", c.mem[i] & 0xFF),
            String.format("%02x", ref.mem[i] & 0xFF), String.format("%02x", emu.mem[i] & 0xFF),
            differs ? "  <<" : m != 0xFF ? "  (masked " + Integer.toHexString(m) + ")" : ""));
        shownBytes++;
      }
    }
    s.append("  (scratch at ").append(Hex.h32(Layout.SCRATCH_ADDR)).append(", ")
        .append(ref.mem.length).append(" bytes; only changed bytes are listed)\n");
    s.append("  reproduce: ").append(repro(index)).append('\n');
    return s.toString();
  }

  int total() {
    return total;
  }

  int mismatches() {
    return mismatches;
  }

  Map<String, Integer> formCounts() {
    return formCounts;
  }

  Map<String, Integer> endings() {
    return endings;
  }

  String timing() {
    return String.format("reference %.1f s, emulator %.1f s", refNanos / 1e9, emuNanos / 1e9);
  }

  /** All mismatches, grouped by form, first few of each in full. */
  String report() {
    StringBuilder s = new StringBuilder();
    s.append(mismatches).append(" of ").append(total).append(" cases differ, in ")
        .append(mismatchCounts.size()).append(" forms (seed 0x").append(Long.toHexString(seed))
        .append(")\n");
    for (Map.Entry<String, Integer> e : mismatchCounts.entrySet()) {
      s.append(String.format("  %6d / %-6d  %s%n", e.getValue(), formCounts.getOrDefault(
          e.getKey().replace("REFERENCE FAULT (generator bug): ", ""), 0), e.getKey()));
    }
    for (Map.Entry<String, List<String>> e : shown.entrySet()) {
      s.append("\n=== ").append(e.getKey()).append(" (").append(mismatchCounts.get(e.getKey()))
          .append(" mismatches)\n");
      for (String d : e.getValue()) {
        s.append(d);
      }
    }
    return s.toString();
  }
}
