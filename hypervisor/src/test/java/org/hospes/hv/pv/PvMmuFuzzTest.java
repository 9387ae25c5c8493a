package org.hospes.hv.pv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.PvMmuAbi.*;
import static org.hospes.hv.pv.PvFixture.*;

import java.util.Map;
import java.util.TreeMap;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.hospes.hv.memory.FrameTable;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A hostile PV guest against the PV MMU: random writes through its own writable mappings,
 * random mmu_update and mmuext_op batches placed in its memory, random update_va_mapping calls
 * and LDT uses, with entries naming its own frames, another domain's, free frames, the
 * hypervisor's and I/O space, with any flags. After every step the processor walks everything
 * the current tables map and finds no mapping of a frame the domain does not own and no
 * writable mapping of a frame in use as a page table or descriptor page; every type and
 * reference count equals what a recount from the live tables, pins, base and LDT gives. When the
 * domain dies all counts are zero and every frame returns to the free pool; the other domain's
 * memory is untouched throughout.
 */
class PvMmuFuzzTest {
  private static final int STEPS = 1200;
  private static final int POOL = 40;

  private PvFixture m;
  private PvMmu mmu;
  private Cpu cpu;
  private long[] pool;
  private long[] others;
  private Random rnd;
  private String where;
  /** Outcomes by operation and errno, so the test shows the guest got somewhere. */
  private final Map<String, Integer> outcomes = new TreeMap<>();

  private void count(String op, int rc) {
    outcomes.merge(op + (rc == 0 ? " ok" : " " + rc), 1, Integer::sum);
  }

  private static final long[] FLAGS = {P, P | RW, P | US, P | RW | US, P | RW | US | A | D,
      P | RW | PCD, P | PS, P | RW | PS, P | 0x100, P | 1L << 63, P | RW | 1L << 52, 0, RW};

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 0x5EED, 20261202})
  void aHostileGuestNeverReachesWhatItMustNot(long seed) {
    rnd = new Random(seed);
    m = new PvFixture();
    cpu = new Cpu(m.machine, new IoBus());
    cpu.resetFlat32();
    // As PvVcpu.boot leaves a PV vCPU: EFER.NXE, so bit 63 (allowed in L1/L2) is NX.
    cpu.loadEfer(Cpu.EFER_NXE);
    mmu = m.mmu(DOM, PvFixture.cpuTlb(cpu));
    others = new long[6];
    for (int i = 0; i < others.length; i++) {
      others[i] = m.alloc(OTHER);
      m.machine.write32(others[i] << 12, 0x0BAD_0000 + i);
    }
    int freeAtStart = m.frames.freeFrames();
    PvFixture.Space s = m.space(DOM, 8);
    pool = new long[POOL];
    int n = 0;
    for (long f : new long[] {s.l3(), s.l2(), s.xenL2(), s.l1()}) {
      pool[n++] = f;
    }
    for (long f : s.pages()) {
      pool[n++] = f;
    }
    while (n < POOL) {
      pool[n++] = m.alloc(DOM);
    }
    // Map the rest of the pool too, so the guest can write to all of it at first.
    for (int i = 12; i < POOL; i++) {
      m.set(s.l1(), i + 1, pte(pool[i], P | RW | US));
    }
    byte[] othersBefore = snapshot(others);
    assertThat(mmu.extOp(MMUEXT_NEW_BASEPTR, (int) s.l3(), 0)).isZero();
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isZero();

    for (int step = 0; step < STEPS; step++) {
      where = "seed " + seed + " step " + step;
      switch (rnd.nextInt(8)) {
        case 7 -> count("home base", mmu.extOp(MMUEXT_NEW_BASEPTR, (int) s.l3(), 0));
        case 0 -> guestWrite();
        case 1 -> buildTable();
        case 2 -> mmuUpdateBatch();
        case 3 -> mmuextBatch();
        case 4 -> count("update_va_mapping",
            mmu.updateVaMapping(randomVa(), randomEntry(), randomFlushFlags()));
        default -> mmu.ldtPage(rnd.nextInt(3));
      }
      checkProcessorView();
      checkCounts();
    }

    System.out.println("PvMmuFuzzTest seed " + seed + ": " + outcomes);
    assertThat(outcomes).as("seed %s: outcomes", seed)
        .containsKeys("mmu_update ok", "mmu_update -22", "update_va_mapping ok",
            "update_va_mapping -16");
    int built = 0;
    for (String k : new String[] {"build pin L1 ok", "build pin L2 ok", "build pin L3 ok",
        "build base ok"}) {
      built += outcomes.getOrDefault(k, 0);
    }
    assertThat(built).as("seed %s: tables the guest built and had accepted", seed)
        .isGreaterThanOrEqualTo(5);
    where = "seed " + seed + " at death";
    mmu.relinquish(m.frames);
    for (long f = 0; f < m.frames.frames(); f++) {
      assertThat(m.info.typeCount(f)).as("%s: type count of %s", where, f).isZero();
      assertThat(m.info.refCount(f)).as("%s: references of %s", where, f).isZero();
    }
    assertThat(m.frames.freeAll(DOM)).isEqualTo(POOL);
    assertThat(m.frames.freeFrames()).as(where).isEqualTo(freeAtStart);
    assertThat(snapshot(others)).as(where + ": the other domain's memory").isEqualTo(othersBefore);
  }

  private byte[] snapshot(long[] frames) {
    byte[] all = new byte[frames.length * 4096];
    for (int i = 0; i < frames.length; i++) {
      m.machine.read(frames[i] << 12, all, i * 4096, 4096);
    }
    return all;
  }

  private long randomFrame() {
    return switch (rnd.nextInt(10)) {
      case 0 -> others[rnd.nextInt(others.length)];
      case 1 -> m.frames.frames() - 1 - rnd.nextInt(16); // free
      case 2 -> rnd.nextInt(256); // the hypervisor's
      case 3 -> 0x10_0000 + rnd.nextInt(1000); // beyond memory
      default -> pool[rnd.nextInt(POOL)];
    };
  }

  private long randomEntry() {
    return pte(randomFrame(), FLAGS[rnd.nextInt(FLAGS.length)]);
  }

  private int randomVa() {
    return rnd.nextInt(8) == 0 ? rnd.nextInt() & ~0xFFF : (rnd.nextInt(POOL + 2) << 12);
  }

  private int randomFlushFlags() {
    return rnd.nextInt(3) | (rnd.nextBoolean() ? UVMF_ALL : 0);
  }

  /** The guest writes through its own mappings only, as the processor lets it. */
  private boolean guestWrite64(int va, long value) {
    long ma = cpu.linearToPhysical(va, true);
    if (ma < 0) {
      return false;
    }
    m.machine.write64(ma, value);
    return true;
  }

  private void guestWrite() {
    int va = (rnd.nextInt(POOL + 1) << 12) | (rnd.nextInt(512) << 3);
    guestWrite64(va, randomEntry());
  }

  /**
   * What a guest kernel does to make a new table: clear a page it can write, fill a few entries
   * that are mostly plausible for the level (sometimes not), take away its own write access with
   * update_va_mapping, then pin it or load it as the base.
   */
  private void buildTable() {
    int va = (1 + rnd.nextInt(POOL)) << 12;
    long ma = cpu.linearToPhysical(va, true);
    if (ma < 0) {
      return;
    }
    long frame = ma >>> 12;
    for (int i = 0; i < 512; i++) {
      guestWrite64(va + 8 * i, 0);
    }
    int level = 1 + rnd.nextInt(3);
    int entries = level == 3 ? 4 : 1 + rnd.nextInt(6);
    for (int i = 0; i < entries; i++) {
      long target = rnd.nextInt(12) == 0 ? randomFrame()
          : level == 1 ? pool[rnd.nextInt(POOL)]
          : level == 3 && i == 3 ? unused()
          : likely(level == 2 ? PageType.L1_PAGE_TABLE : PageType.L2_PAGE_TABLE);
      long flags = switch (level) {
        case 1 -> rnd.nextBoolean() ? P | US : P | RW | US;
        case 2 -> P | RW | US;
        default -> P;
      };
      if (level == 3 && i < 3 && rnd.nextBoolean()) {
        continue;
      }
      int slot = level == 3 ? i : rnd.nextInt(level == 2 ? 400 : 512);
      guestWrite64(va + 8 * slot, pte(target, rnd.nextInt(16) == 0 ? randomEntry() & 0xFFF : flags));
    }
    count("update_va_mapping ro", mmu.updateVaMapping(va, pte(frame, P | US), UVMF_INVLPG));
    if (level == 3 && rnd.nextBoolean()) {
      count("build base", mmu.extOp(MMUEXT_NEW_BASEPTR, (int) frame, 0));
    } else {
      count("build pin L" + level, mmu.extOp(level - 1, (int) frame, 0));
    }
  }

  /** A pool frame with no typed use (a cleared one is a valid table of any level), or any. */
  private long unused() {
    long[] c = Arrays.stream(pool).filter(f -> m.info.typeCount(f) == 0).toArray();
    return c.length == 0 ? pool[rnd.nextInt(POOL)] : c[rnd.nextInt(c.length)];
  }

  /** A frame that is a live table of type {@code t} (not Xen's L2), or an unused one. */
  private long likely(PageType t) {
    long[] c = Arrays.stream(pool).filter(f -> m.info.type(f) == t && m.info.typeCount(f) > 0
        && !m.info.isPaeXenL2(f)).toArray();
    return c.length == 0 || rnd.nextInt(3) == 0 ? unused() : c[rnd.nextInt(c.length)];
  }

  /** A batch at a random page of the guest's, if it can write it there. */
  private void mmuUpdateBatch() {
    int va = (1 + rnd.nextInt(POOL)) << 12;
    int count = 1 + rnd.nextInt(4);
    for (int i = 0; i < count; i++) {
      long ptr = (pool[rnd.nextInt(POOL)] << 12) | (rnd.nextInt(512) << 3);
      int cmd = rnd.nextInt(10) == 0 ? 1 + rnd.nextInt(6) : 0;
      guestWrite64(va + 16 * i, ptr | cmd);
      guestWrite64(va + 16 * i + 8, cmd == MMU_MACHPHYS_UPDATE ? rnd.nextInt(64) : randomEntry());
    }
    count("mmu_update", mmu.mmuUpdate(va, count, va + 0x800,
        rnd.nextInt(20) == 0 ? OTHER : DOMID_SELF));
  }

  private void mmuextBatch() {
    int va = (1 + rnd.nextInt(POOL)) << 12;
    int count = 1 + rnd.nextInt(3);
    int[] cmds = {MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_PIN_L3_TABLE,
        MMUEXT_PIN_L4_TABLE, MMUEXT_UNPIN_TABLE, MMUEXT_NEW_BASEPTR, MMUEXT_TLB_FLUSH_LOCAL,
        MMUEXT_INVLPG_LOCAL, MMUEXT_SET_LDT, MMUEXT_TLB_FLUSH_MULTI, 99};
    for (int i = 0; i < count; i++) {
      int cmd = cmds[rnd.nextInt(cmds.length)];
      long arg1 = cmd == MMUEXT_SET_LDT || cmd == MMUEXT_INVLPG_LOCAL ? randomVa() : randomFrame();
      guestWrite64(va + 12 * i, cmd | arg1 << 32);
      guestWrite64(va + 12 * i + 8, rnd.nextInt(600));
    }
    count("mmuext_op", mmu.mmuextOp(va, count, 0, DOMID_SELF));
    // The same commands once more straight from Java, so table pins and base changes happen
    // even when the guest has lost write access to its batch pages.
    int cmd = cmds[rnd.nextInt(6)];
    count("mmuext " + cmd, mmu.extOp(cmd, (int) pool[rnd.nextInt(POOL)], 0));
  }

  /** Everything the processor can reach through the current base, checked against ownership. */
  private void checkProcessorView() {
    long base = mmu.baseMfn();
    assertThat(base).as(where).isGreaterThanOrEqualTo(0);
    assertThat(cpu.cr3() & 0xFFFF_F000L).as(where).isEqualTo(base << 12);
    Set<Long> tables = new HashSet<>();
    tables.add(base);
    for (int i = 0; i < 4; i++) {
      long l3e = m.get(base, i);
      if ((l3e & P) == 0) {
        continue;
      }
      long l2 = (l3e & PvPageTables.ADDR) >>> 12;
      tables.add(l2);
      for (int j = 0; j < 512; j++) {
        long l2e = m.get(l2, j);
        if ((l2e & P) == 0) {
          continue;
        }
        assertThat(l2e & PS).as(where).isZero();
        long l1 = (l2e & PvPageTables.ADDR) >>> 12;
        tables.add(l1);
        for (int k = 0; k < 512; k++) {
          if ((m.get(l1, k) & P) == 0) {
            continue;
          }
          int va = i << 30 | j << 21 | k << 12;
          long read = cpu.linearToPhysical(va, false);
          long frame = read >>> 12;
          assertThat(read).as("%s: va %x present but unreadable", where, va).isNotNegative();
          if (i == 3 && j >= PvPageTables.FIRST_XEN_L2_SLOT) {
            // Xen's slots: the M2P table, the hypervisor's frames, read-only.
            assertThat(m.frames.owner(frame)).as(where).isEqualTo(FrameTable.DOMID_XEN);
            assertThat(cpu.linearToPhysical(va, true)).as(where).isEqualTo(-1);
            continue;
          }
          assertThat(m.frames.owner(frame)).as("%s: va %x maps mfn %x", where, va, frame)
              .isEqualTo(DOM);
          if (cpu.linearToPhysical(va, true) >= 0) {
            assertThat(m.info.isLivePageTable(frame)
                || (m.info.type(frame) == PageType.SEG_DESC_PAGE && m.info.typeCount(frame) > 0))
                .as("%s: va %x maps table/descriptor mfn %x writable", where, va, frame)
                .isFalse();
            writableFrames.add(frame);
          }
        }
      }
    }
    for (long f : writableFrames) {
      assertThat(tables).as("%s: mfn %x is reachable as a table and writable", where, f)
          .doesNotContain(f);
    }
    writableFrames.clear();
  }

  private final Set<Long> writableFrames = new HashSet<>();

  /** Every count equals what a recount of its holders gives. */
  private void checkCounts() {
    int frames = m.frames.frames();
    int[] refs = new int[frames];
    int[] types = new int[frames];
    PageInfo info = m.info;
    for (long f = 0; f < frames; f++) {
      if (info.typeCount(f) == 0) {
        continue;
      }
      assertThat(info.isValidated(f)).as("%s: mfn %x typed but not validated", where, f).isTrue();
      PageType t = info.type(f);
      int n = switch (t) {
        case L1_PAGE_TABLE -> 512;
        case L2_PAGE_TABLE -> info.isPaeXenL2(f) ? PvPageTables.FIRST_XEN_L2_SLOT : 512;
        case L3_PAGE_TABLE -> 4;
        default -> 0;
      };
      for (int i = 0; i < n; i++) {
        long e = m.get(f, i);
        if ((e & P) == 0) {
          continue;
        }
        int target = (int) ((e & PvPageTables.ADDR) >>> 12);
        refs[target]++;
        if (t != PageType.L1_PAGE_TABLE || (e & RW) != 0) {
          types[target]++;
        }
      }
      if (info.isPinned(f)) {
        refs[(int) f]++;
        types[(int) f]++;
      }
    }
    refs[(int) mmu.baseMfn()]++;
    types[(int) mmu.baseMfn()]++;
    for (int i = 0; i < 16; i++) {
      long f = mmu.ldtFrame(i);
      if (f >= 0) {
        refs[(int) f]++;
        types[(int) f]++;
      }
    }
    for (long f = 0; f < frames; f++) {
      if (info.refCount(f) != refs[(int) f] || info.typeCount(f) != types[(int) f]) {
        assertThat(new int[] {info.refCount(f), info.typeCount(f)})
            .as("%s: mfn %x (type %s) references and type count", where, f, info.type(f))
            .isEqualTo(new int[] {refs[(int) f], types[(int) f]});
      }
    }
    for (long f : others) {
      assertThat(info.refCount(f) + info.typeCount(f)).as(where).isZero();
    }
  }
}
