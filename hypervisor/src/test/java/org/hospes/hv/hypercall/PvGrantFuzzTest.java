package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.GrantTableOp.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.PvMmuAbi;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.pv.PageInfo;
import org.hospes.hv.pv.PageType;
import org.hospes.hv.pv.PvPageTables;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two hostile PV guests against the grant code and the PV MMU together: random grant entries
 * (their own data and table frames, each other's, free and hypervisor frames, pfns, any flags),
 * random map_grant_ref and unmap_grant_ref (linear addresses, PTE machine addresses, any
 * flags, stale and made-up handles), overwrites of grant entries by update_va_mapping, pins and
 * unpins of granted frames, and GNTTABOP_copy with any arguments. After every step each
 * domain's tables are walked as the processor would: every present L1 entry maps a frame the
 * domain owns or one a live grant mapping of it names, and no writable entry maps a frame in use
 * as a page table or descriptor page. When both die (in a random order), every type and
 * reference count is zero and every frame is back in the free pool. (The harness's own pages,
 * the hypercall argument page, the stack and the grant table's mapping, are left alone: the
 * guests play in VA 0x8000..0x1ffff.)
 */
class PvGrantFuzzTest {
  private static final int STEPS = 1500;
  private static final int UOP = 0x4000;
  private static final int LIST = 0x4800;
  private static final int TABLE_VA = 0x20000;
  private static final long P = 1, RW = 2, US = 4;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain[] doms;
  private PageInfo info;
  private Random rnd;
  private final List<int[]> handles = new ArrayList<>(); // {domain index, handle, hostAddr lo}
  private final List<Long> hostAddrs = new ArrayList<>();
  private final Map<String, Integer> outcomes = new TreeMap<>();

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {7, 0xC0FFEE, 20261202})
  void hostileGranteesAndGrantersNeverReachWhatTheyMustNot(long seed) {
    rnd = new Random(seed);
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    doms = new Domain[] {PvTestDomains.create(hv, "a"), PvTestDomains.create(hv, "b")};
    info = hv.pvPageInfo();
    for (Domain d : doms) {
      long table = setupTable(d);
      assertThat(uva(d, TABLE_VA, table << 12 | P | RW)).as("seed %s", seed).isZero();
    }
    for (int step = 0; step < STEPS; step++) {
      String where = "seed " + seed + " step " + step;
      int op = rnd.nextInt(10);
      switch (op) {
        case 0, 1, 2 -> grant();
        case 3, 4, 5 -> map();
        case 6, 7 -> unmap();
        case 8 -> overwrite();
        default -> pinOrCopy();
      }
      for (Domain d : doms) {
        checkWalk(d, where);
      }
    }
    System.out.println("PvGrantFuzzTest seed " + seed + ": " + outcomes);
    assertThat(outcomes.getOrDefault("map ok", 0)).as("seed %s: maps that worked", seed)
        .isGreaterThan(20);
    assertThat(outcomes.getOrDefault("unmap ok", 0)).as("seed %s: unmaps that worked", seed)
        .isGreaterThan(5);
    int first = rnd.nextInt(2);
    hv.destroy(doms[first], "fuzz");
    checkWalk(doms[1 - first], "seed " + seed + " after the first death");
    hv.destroy(doms[1 - first], "fuzz");
    for (long mfn = 0; mfn < hv.frames().frames(); mfn++) {
      assertThat(hv.frames().owner(mfn)).as("seed %s: owner of %s", seed, mfn)
          .isNotIn(doms[0].domid(), doms[1].domid());
      assertThat(info.typeCount(mfn)).as("seed %s: type count of %s", seed, mfn).isZero();
      assertThat(info.refCount(mfn)).as("seed %s: references on %s", seed, mfn).isZero();
    }
  }

  private void count(String op, int rc) {
    outcomes.merge(op + (rc == 0 ? " ok" : " " + rc), 1, Integer::sum);
  }

  private Domain pick() {
    return doms[rnd.nextInt(2)];
  }

  private Domain other(Domain d) {
    return d == doms[0] ? doms[1] : doms[0];
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private int call(Domain d, Hypercall h, int a1, int a2, int a3, int a4) {
    return hc.dispatch(d.vcpus().get(0), h.number(), a1, a2, a3, a4, 0);
  }

  private int uva(Domain d, int va, long pte) {
    return call(d, Hypercall.UPDATE_VA_MAPPING, va, (int) pte, (int) (pte >>> 32),
        PvMmuAbi.UVMF_INVLPG);
  }

  private void write(Domain d, int va, ByteBuffer b) {
    assertThat(d.pv().mmu().copyToGuest(va, b.array())).isTrue();
  }

  private long setupTable(Domain d) {
    write(d, UOP, le(SETUP_SIZE).putShort(SETUP_DOM, (short) EventChannelOp.DOMID_SELF)
        .putInt(SETUP_NR_FRAMES, 1).putInt(SETUP_FRAME_LIST, LIST));
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, SETUP_TABLE, UOP, 1, 0)).isZero();
    byte[] b = new byte[4];
    assertThat(d.pv().mmu().copyFromGuest(LIST, b)).isTrue();
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFF_FFFFL;
  }

  /** A frame number a hostile guest might name. */
  private long someFrame(Domain d) {
    Domain o = other(d);
    return switch (rnd.nextInt(8)) {
      case 0, 1, 2 -> PvTestDomains.mfn(d, 4 + rnd.nextInt(28)); // its own data pages
      case 3 -> PvTestDomains.mfn(d, rnd.nextInt(4)); // its own tables
      case 4 -> PvTestDomains.mfn(o, rnd.nextInt(32)); // the other domain's
      case 5 -> d.grantTables().frameMfn(0);
      case 6 -> rnd.nextInt(32); // a pfn, or one of the hypervisor's frames
      default -> rnd.nextInt(hv.frames().frames() + 16); // anything, free frames included
    };
  }

  private void grant() {
    Domain d = pick();
    int ref = rnd.nextInt(16);
    int[] flagChoices = {GTF_PERMIT_ACCESS, GTF_PERMIT_ACCESS | GTF_READONLY, 0,
        GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING, rnd.nextInt(0x10000)};
    int flags = flagChoices[rnd.nextInt(flagChoices.length)];
    int domid = rnd.nextInt(4) == 0 ? rnd.nextInt(8) : other(d).domid();
    write(d, TABLE_VA + ref * ENTRY_SIZE, le(8).putShort(ENTRY_FLAGS, (short) flags)
        .putShort(ENTRY_DOMID, (short) domid).putInt(ENTRY_FRAME, (int) someFrame(d)));
  }

  /** A host address: a linear address (mapped or not, even in the hole), or a PTE address. */
  private long someHostAddr(Domain d, boolean pte) {
    long l1 = PvTestDomains.mfn(d, 3);
    if (pte) {
      return switch (rnd.nextInt(4)) {
        case 0, 1 -> (l1 << 12) + 8L * (8 + rnd.nextInt(24));
        case 2 -> (l1 << 12) + rnd.nextInt(4096);
        default -> (someFrame(d) << 12) + 8L * rnd.nextInt(512);
      };
    }
    return switch (rnd.nextInt(5)) {
      case 0, 1, 2 -> 0x8000L + 0x1000L * rnd.nextInt(24);
      case 3 -> rnd.nextInt() & 0xFFFF_FFFFL;
      default -> rnd.nextLong();
    };
  }

  private void map() {
    Domain d = pick();
    int flags = GNTMAP_HOST_MAP;
    if (rnd.nextInt(3) == 0) {
      flags |= GNTMAP_READONLY;
    }
    if (rnd.nextInt(5) == 0) {
      flags |= GNTMAP_CONTAINS_PTE;
    }
    if (rnd.nextInt(8) == 0) {
      flags = rnd.nextInt(64) | rnd.nextInt(8) << 16;
    }
    long host = someHostAddr(d, (flags & GNTMAP_CONTAINS_PTE) != 0);
    int dom = rnd.nextInt(6) == 0 ? rnd.nextInt(8) : other(d).domid();
    write(d, UOP, le(MAP_SIZE).putLong(MAP_HOST_ADDR, host).putInt(MAP_FLAGS, flags)
        .putInt(MAP_REF, rnd.nextInt(18)).putShort(MAP_DOM, (short) dom));
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, MAP_GRANT_REF, UOP, 1, 0)).isZero();
    byte[] b = new byte[MAP_SIZE];
    assertThat(d.pv().mmu().copyFromGuest(UOP, b)).isTrue();
    ByteBuffer r = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    int status = r.getShort(MAP_STATUS);
    count("map", status);
    if (status == GNTST_OKAY) {
      handles.add(new int[] {d == doms[0] ? 0 : 1, r.getInt(MAP_HANDLE)});
      hostAddrs.add(host);
    }
  }

  private void unmap() {
    Domain d;
    int handle;
    long host;
    if (!handles.isEmpty() && rnd.nextInt(4) != 0) {
      int i = rnd.nextInt(handles.size());
      d = doms[handles.get(i)[0]];
      handle = handles.get(i)[1];
      host = rnd.nextInt(5) == 0 ? someHostAddr(d, rnd.nextBoolean()) : hostAddrs.get(i);
      if (rnd.nextBoolean()) {
        handles.remove(i);
        hostAddrs.remove(i);
      }
    } else {
      d = pick();
      handle = rnd.nextInt(8);
      host = someHostAddr(d, rnd.nextBoolean());
    }
    write(d, UOP, le(UNMAP_SIZE).putLong(UNMAP_HOST_ADDR, host).putInt(UNMAP_HANDLE, handle));
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, UNMAP_GRANT_REF, UOP, 1, 0)).isZero();
    byte[] b = new byte[2];
    assertThat(d.pv().mmu().copyFromGuest(UOP + UNMAP_STATUS, b)).isTrue();
    count("unmap", (short) ((b[0] & 0xFF) | b[1] << 8));
  }

  /** The guest rewrites an L1 entry of its own, grant entries included (implicit unmaps). */
  private void overwrite() {
    Domain d = pick();
    int va = 0x8000 + 0x1000 * rnd.nextInt(24);
    long[] flags = {0, P, P | RW, P | RW | US};
    long pte = flags[rnd.nextInt(4)] == 0 ? 0 : someFrame(d) << 12 | flags[rnd.nextInt(4)];
    count("uva", uva(d, va, pte));
  }

  private void pinOrCopy() {
    Domain d = pick();
    if (rnd.nextBoolean()) {
      int cmd = rnd.nextBoolean() ? PvMmuAbi.MMUEXT_PIN_L1_TABLE : PvMmuAbi.MMUEXT_UNPIN_TABLE;
      count(cmd == PvMmuAbi.MMUEXT_UNPIN_TABLE ? "unpin" : "pin",
          d.pv().mmu().extOp(cmd, (int) someFrame(d), 0));
      return;
    }
    int self = EventChannelOp.DOMID_SELF;
    int srcDom = rnd.nextBoolean() ? self : other(d).domid();
    int dstDom = rnd.nextBoolean() ? self : other(d).domid();
    int flags = rnd.nextInt(4);
    int src = (flags & GNTCOPY_SOURCE_GREF) != 0 ? rnd.nextInt(18) : (int) someFrame(d);
    int dst = (flags & GNTCOPY_DEST_GREF) != 0 ? rnd.nextInt(18) : (int) someFrame(d);
    count("copy", d.grantTables().copy(src, srcDom, rnd.nextInt(4096), dst, dstDom,
        rnd.nextInt(4096), rnd.nextInt(64), flags));
  }

  /** Walks {@code d}'s current tables as the processor does and checks every L1 entry. */
  private void checkWalk(Domain d, String where) {
    if (d.state().isFinal()) {
      return;
    }
    var m = hv.machineMemory();
    long base = d.pv().mmu().baseMfn();
    assertThat(base).as(where).isNotNegative();
    for (int i3 = 0; i3 < 4; i3++) {
      long l3e = m.read64((base << 12) + 8L * i3);
      if ((l3e & P) == 0) {
        continue;
      }
      long l2 = (l3e & 0xF_FFFF_F000L) >>> 12;
      int n2 = i3 == 3 ? PvPageTables.FIRST_XEN_L2_SLOT : 512;
      for (int i2 = 0; i2 < n2; i2++) {
        long l2e = m.read64((l2 << 12) + 8L * i2);
        if ((l2e & P) == 0) {
          continue;
        }
        long l1 = (l2e & 0xF_FFFF_F000L) >>> 12;
        assertThat(info.type(l1)).as("%s: L2 entry names an L1", where)
            .isEqualTo(PageType.L1_PAGE_TABLE);
        for (int i1 = 0; i1 < 512; i1++) {
          long e = m.read64((l1 << 12) + 8L * i1);
          if ((e & P) == 0) {
            continue;
          }
          long f = (e & 0xF_FFFF_F000L) >>> 12;
          boolean own = hv.frames().owner(f) == d.domid();
          assertThat(own || d.grantTables().mapsFrame(f))
              .as("%s: d%s maps frame %s (owner %s) with no grant", where, d.domid(), f,
                  hv.frames().owner(f))
              .isTrue();
          if ((e & RW) != 0) {
            assertThat(info.type(f)).as("%s: writable mapping of frame %s", where, f)
                .isEqualTo(PageType.WRITABLE_PAGE);
            assertThat(info.typeCount(f)).as("%s: writable count of %s", where, f).isPositive();
          }
        }
      }
    }
  }
}
