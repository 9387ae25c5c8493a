package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.GrantTableOp.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.MemoryOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Grant tables v1 between PVH domains, through the hypercall handlers: the granter writes its
 * entries into its grant frame (mapped with add_to_physmap), the mapper maps, unmaps and copies.
 * Guests run with paging off, so argument pointers are guest-physical addresses.
 */
class GrantTableHypercallsTest {
  private static final int GRANT_GFN = 0x1F0;
  private static final int PAGE_GFN = 0x100;
  private static final int MAP_GFN = 0x150;
  private static final int UOP = 0x8000;
  private static final int PATTERN = 0x5A5A_1234;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain a;
  private Domain b;
  private Domain c;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    a = hv.createHvmDomain("a", DomainMode.PVH, 2);
    b = hv.createHvmDomain("b", DomainMode.PVH, 2);
    c = hv.createHvmDomain("c", DomainMode.PVH, 2);
    // a maps its grant frame 0 and puts a pattern in the page it will grant.
    assertThat(addToPhysmap(a, MemoryOp.SPACE_GRANT_TABLE, 0, GRANT_GFN)).isZero();
    a.memory().write32((long) PAGE_GFN << 12, PATTERN);
    b.memory().write32((long) MAP_GFN << 12, 0xB0B0_B0B0);
  }

  private static Vcpu v(Domain d) {
    return d.vcpus().get(0);
  }

  private int call(Domain d, Hypercall h, int a1, int a2, int a3) {
    return hc.dispatch(v(d), h.number(), a1, a2, a3, 0, 0);
  }

  private int addToPhysmap(Domain d, int space, int idx, int gpfn) {
    ByteBuffer s = le(MemoryOp.ATP_SIZE);
    s.putShort(MemoryOp.ATP_DOMID, (short) EventChannelOp.DOMID_SELF)
        .putInt(MemoryOp.ATP_SPACE, space).putInt(MemoryOp.ATP_IDX, idx)
        .putInt(MemoryOp.ATP_GPFN, gpfn);
    put(d, UOP, s);
    return call(d, Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, UOP, 0);
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static void put(Domain d, int gpa, ByteBuffer b) {
    d.memory().write(gpa, b.array(), 0, b.capacity());
  }

  /** a's guest writes entry {@code ref} through its own mapping of its grant frame. */
  private void grant(int ref, int flags, int domid, int gfn) {
    long e = ((long) GRANT_GFN << 12) + (long) ref * ENTRY_SIZE;
    a.memory().write32(e + ENTRY_FRAME, gfn);
    a.memory().write16(e + ENTRY_DOMID, domid);
    a.memory().write16(e + ENTRY_FLAGS, flags);
  }

  private int flags(int ref) {
    return a.memory().read16(((long) GRANT_GFN << 12) + (long) ref * ENTRY_SIZE);
  }

  /** Maps with one GNTTABOP_map_grant_ref from {@code d}; returns {status, handle}. */
  private int[] map(Domain d, int ref, int dom, int gfn, int flags) {
    ByteBuffer s = le(MAP_SIZE);
    s.putLong(MAP_HOST_ADDR, (long) gfn << 12).putInt(MAP_FLAGS, flags).putInt(MAP_REF, ref)
        .putShort(MAP_DOM, (short) dom);
    put(d, UOP, s);
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, MAP_GRANT_REF, UOP, 1)).isZero();
    return new int[] {(short) d.memory().read16(UOP + MAP_STATUS),
        d.memory().read32(UOP + MAP_HANDLE)};
  }

  private int unmap(Domain d, int gfn, int handle) {
    ByteBuffer s = le(UNMAP_SIZE);
    s.putLong(UNMAP_HOST_ADDR, (long) gfn << 12).putInt(UNMAP_HANDLE, handle);
    put(d, UOP, s);
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, UNMAP_GRANT_REF, UOP, 1)).isZero();
    return (short) d.memory().read16(UOP + UNMAP_STATUS);
  }

  private int copy(Domain d, int srcU, int srcDom, int srcOff, int dstU, int dstDom, int dstOff,
      int len, int flags) {
    ByteBuffer s = le(COPY_SIZE);
    s.putInt(COPY_SOURCE + COPY_PTR_U, srcU).putShort(COPY_SOURCE + COPY_PTR_DOMID, (short) srcDom)
        .putShort(COPY_SOURCE + COPY_PTR_OFFSET, (short) srcOff)
        .putInt(COPY_DEST + COPY_PTR_U, dstU).putShort(COPY_DEST + COPY_PTR_DOMID, (short) dstDom)
        .putShort(COPY_DEST + COPY_PTR_OFFSET, (short) dstOff)
        .putShort(COPY_LEN, (short) len).putShort(COPY_FLAGS, (short) flags);
    put(d, UOP, s);
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, COPY, UOP, 1)).isZero();
    return (short) d.memory().read16(UOP + COPY_STATUS);
  }

  @Test
  void aGrantedPageIsMappedSharedAndUnmappedWithTheOriginalFrameRestored() {
    long original = b.p2m().lookup(MAP_GFN);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    int[] r = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    assertThat(b.memory().read32((long) MAP_GFN << 12)).isEqualTo(PATTERN);
    b.memory().write32(((long) MAP_GFN << 12) + 4, 0x77);
    assertThat(a.memory().read32(((long) PAGE_GFN << 12) + 4)).isEqualTo(0x77);
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
    assertThat(a.grantTables().framePinned(a.p2m().lookup(PAGE_GFN))).isTrue();
    assertThat(b.grantTables().isGrantMapped(MAP_GFN)).isTrue();

    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(a.grantTables().framePinned(a.p2m().lookup(PAGE_GFN))).isFalse();
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS);
    assertThat(b.p2m().lookup(MAP_GFN)).isEqualTo(original);
    assertThat(b.memory().read32((long) MAP_GFN << 12)).isEqualTo(0xB0B0_B0B0);
    assertThat(b.totals().grantMaps).isEqualTo(1);
    assertThat(b.totals().grantUnmaps).isEqualTo(1);
    assertThat(b.totals().grantCycles).isEqualTo(2 * hv.costModel().grantMap());
    // The handle is gone: a second unmap is refused.
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_BAD_HANDLE);
  }

  @Test
  void aReadOnlyMapRefusesWritesFromTheGuestAndFromHypercalls() {
    grant(9, GTF_PERMIT_ACCESS | GTF_READONLY, b.domid(), PAGE_GFN);
    // Writable maps of a read-only grant are refused.
    assertThat(map(b, 9, a.domid(), MAP_GFN, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    int[] r = map(b, 9, a.domid(), MAP_GFN, GNTMAP_HOST_MAP | GNTMAP_READONLY);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    assertThat(flags(9)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READONLY | GTF_READING);
    long page = (long) MAP_GFN << 12;
    // The hypervisor's copy_to_guest into the page faults.
    assertThat(call(b, Hypercall.XEN_VERSION, 1, (int) page, 0))
        .isEqualTo(XenErrno.EFAULT.negated());
    // The guest's own store goes through EPT, which maps the frame read-only: it is dropped.
    // mov dword [page+8], 0xdeadbeef ; mov eax, [page] ; cli ; hlt
    byte[] code = HexFormat.of().parseHex("c705" + le32(page + 8) + "efbeadde" + "a1"
        + le32(page) + "fa" + "f4");
    b.memory().write(0x1000, code, 0, code.length);
    Cpu cpu = v(b).cpu();
    cpu.setEip(0x1000);
    cpu.setReg(Cpu.ESP, 0x8000);
    hv.unpause(b);
    hv.run(1_000_000);
    assertThat(b.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(PATTERN);
    assertThat(a.memory().read32(((long) PAGE_GFN << 12) + 8)).isZero();
    assertThat(b.totals().eptViolations).isEqualTo(1);
  }

  private static String le32(long v) {
    return String.format("%02x%02x%02x%02x", v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF,
        (v >> 24) & 0xFF);
  }

  @Test
  void aDomainGuessingAnotherDomainsGrantReferencesGetsErrorsOnly() {
    // a's table grows to 4 frames, mapped; every entry grants something to b.
    for (int f = 1; f < 4; f++) {
      assertThat(addToPhysmap(a, MemoryOp.SPACE_GRANT_TABLE, f, GRANT_GFN + f)).isZero();
    }
    int entries = 4 * ENTRIES_PER_FRAME;
    for (int ref = 0; ref < entries; ref++) {
      long e = ((long) GRANT_GFN << 12) + (long) ref * ENTRY_SIZE;
      a.memory().write32(e + ENTRY_FRAME, PAGE_GFN + (ref % 64));
      a.memory().write16(e + ENTRY_DOMID, b.domid());
      a.memory().write16(e + ENTRY_FLAGS, GTF_PERMIT_ACCESS | (ref % 2 == 0 ? GTF_READONLY : 0));
    }
    // b has one live mapping, so an active entry exists too.
    assertThat(map(b, 1, a.domid(), MAP_GFN, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_OKAY);
    long[] p2mBefore = new long[c.p2m().size()];
    for (int g = 0; g < p2mBefore.length; g++) {
      p2mBefore[g] = c.p2m().lookup(g);
    }
    c.memory().write32(0x20000, 0x11111111);
    for (int ref = 0; ref < entries + 600; ref++) {
      int[] r = map(c, ref, a.domid(), 0x180, GNTMAP_HOST_MAP | (ref % 3 == 0 ? GNTMAP_READONLY : 0));
      assertThat(r[0]).as("map ref %d", ref).isNegative();
      assertThat(copy(c, ref, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 0, 64,
          GNTCOPY_SOURCE_GREF)).as("copy from ref %d", ref).isNegative();
      assertThat(copy(c, 0x20, EventChannelOp.DOMID_SELF, 0, ref, a.domid(), 0, 64,
          GNTCOPY_DEST_GREF)).as("copy to ref %d", ref).isNegative();
      // Also pretending to be b, or naming a's frames directly, does not help.
      assertThat(copy(c, PAGE_GFN, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 0, 64, 0))
          .isEqualTo(GNTST_PERMISSION_DENIED);
    }
    for (int g = 0; g < p2mBefore.length; g++) {
      assertThat(c.p2m().lookup(g)).isEqualTo(p2mBefore[g]);
    }
    assertThat(c.memory().read32(0x20000)).isEqualTo(0x11111111);
    assertThat(a.memory().read32((long) PAGE_GFN << 12)).isEqualTo(PATTERN);
    assertThat(c.totals().grantMaps + c.totals().grantCopies).isZero();
    assertThat(c.totals().grantErrors).isEqualTo(4L * (entries + 600));
    // Only b's own mapping pinned anything.
    assertThat(flags(1) & (GTF_READING | GTF_WRITING)).isEqualTo(GTF_READING | GTF_WRITING);
    assertThat(flags(3) & (GTF_READING | GTF_WRITING)).isZero();
  }

  @Test
  void aRevokedButMappedEntryStaysBusyAdmitsNothingNewAndStillUnmaps() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    int[] r = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    // a revokes the entry while it is mapped (type back to invalid; busy bits are Xen's).
    long e = ((long) GRANT_GFN << 12) + 8 * ENTRY_SIZE;
    a.memory().write16(e, a.memory().read16(e) & ~GTF_TYPE_MASK);
    assertThat(flags(8) & (GTF_READING | GTF_WRITING)).isEqualTo(GTF_READING | GTF_WRITING);
    assertThat(map(b, 8, a.domid(), 0x151, GNTMAP_HOST_MAP | GNTMAP_READONLY)[0])
        .isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(copy(b, 8, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 0, 16,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_GENERAL_ERROR);
    // Re-pointing the entry at another frame while it is pinned is refused too.
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN + 1);
    assertThat(map(b, 8, a.domid(), 0x151, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    a.memory().write16(e, GTF_READING | GTF_WRITING);
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(flags(8)).isZero();
  }

  @Test
  void badHandlesAndMismatchedAddressesAreRefused() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    int[] r = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    assertThat(unmap(b, MAP_GFN, 12345)).isEqualTo(GNTST_BAD_HANDLE);
    assertThat(unmap(b, MAP_GFN, -1)).isEqualTo(GNTST_BAD_HANDLE);
    assertThat(unmap(b, MAP_GFN + 1, r[1])).isEqualTo(GNTST_GENERAL_ERROR);
    // Another domain cannot use b's handle.
    assertThat(unmap(c, MAP_GFN, r[1])).isEqualTo(GNTST_BAD_HANDLE);
    // A second grant map onto a GFN that already holds one is refused.
    grant(9, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN + 1);
    assertThat(map(b, 9, a.domid(), MAP_GFN, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    // Flags without host_map, unknown domains, refs past the table.
    assertThat(map(b, 9, a.domid(), 0x151, 0)[0]).isEqualTo(GNTST_BAD_GNTREF);
    assertThat(map(b, 9, 999, 0x151, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_BAD_DOMAIN);
    assertThat(map(b, 9, EventChannelOp.DOMID_SELF, 0x151, GNTMAP_HOST_MAP)[0])
        .isEqualTo(GNTST_BAD_DOMAIN);
    assertThat(map(b, 512, a.domid(), 0x151, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_BAD_GNTREF);
    assertThat(map(b, -5, a.domid(), 0x151, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_BAD_GNTREF);
    // An entry naming a frame the granter does not have is a bad page.
    grant(10, GTF_PERMIT_ACCESS, b.domid(), 0x7FFFF);
    assertThat(map(b, 10, a.domid(), 0x151, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_BAD_PAGE);
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_OKAY);
  }

  @Test
  void copiesMoveBytesBetweenGrantsAndOwnFramesWithinBounds() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    grant(9, GTF_PERMIT_ACCESS | GTF_READONLY, b.domid(), PAGE_GFN + 1);
    a.memory().write32(((long) PAGE_GFN << 12) + 100, 0xABCD_EF01);
    assertThat(copy(b, 8, a.domid(), 100, 0x20, EventChannelOp.DOMID_SELF, 200, 4,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_OKAY);
    assertThat(b.memory().read32(0x20000 + 200)).isEqualTo(0xABCD_EF01);
    b.memory().write32(0x20000 + 300, 0x1357_9BDF);
    assertThat(copy(b, 0x20, b.domid(), 300, 8, a.domid(), 4000, 4, GNTCOPY_DEST_GREF))
        .isEqualTo(GNTST_OKAY);
    assertThat(a.memory().read32(((long) PAGE_GFN << 12) + 4000)).isEqualTo(0x1357_9BDF);
    // Bounds: the copy must stay within each page.
    assertThat(copy(b, 8, a.domid(), 4000, 0x20, EventChannelOp.DOMID_SELF, 0, 200,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_BAD_COPY_ARG);
    assertThat(copy(b, 8, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 3900, 200,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_BAD_COPY_ARG);
    assertThat(copy(b, 8, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 0, 4, 0x80))
        .isEqualTo(GNTST_BAD_COPY_ARG);
    // A read-only grant is not a destination; it is a source.
    assertThat(copy(b, 0x20, b.domid(), 0, 9, a.domid(), 0, 4, GNTCOPY_DEST_GREF))
        .isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(copy(b, 9, a.domid(), 0, 0x20, b.domid(), 0, 4, GNTCOPY_SOURCE_GREF))
        .isEqualTo(GNTST_OKAY);
    // Own frames only on a non-grant side; unpopulated own frames are bad pages.
    assertThat(copy(b, 0x20, a.domid(), 0, 0x21, b.domid(), 0, 4, 0))
        .isEqualTo(GNTST_PERMISSION_DENIED);
    assertThat(copy(b, 0x7FFFF, b.domid(), 0, 0x21, b.domid(), 0, 4, 0)).isEqualTo(GNTST_BAD_PAGE);
    assertThat(copy(b, 8, 999, 0, 0x21, b.domid(), 0, 4, GNTCOPY_SOURCE_GREF))
        .isEqualTo(GNTST_BAD_DOMAIN);
    assertThat(b.totals().grantCopies).isEqualTo(3);
    assertThat(b.totals().grantCopyBytes).isEqualTo(12);
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS);
  }

  @Test
  void badPointersCountsAndUnofferedOpsAreErrnos() {
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, MAP_GRANT_REF, 0x7FF000, 1))
        .isEqualTo(XenErrno.EFAULT.negated());
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, COPY, UOP, 5000))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, QUERY_SIZE, UOP, 2))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, TRANSFER, UOP, 1))
        .isEqualTo(XenErrno.ENOSYS.negated());
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, COPY, UOP, 0)).isZero();
    assertThat(addToPhysmap(b, MemoryOp.SPACE_GRANT_TABLE, 64, 0x100))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(addToPhysmap(b, MemoryOp.SPACE_GRANT_TABLE, 0x8000_0000, 0x100))
        .isEqualTo(XenErrno.EINVAL.negated());
  }

  @Test
  void queryAndSetupReportTheTableAndVersionIsOne() {
    ByteBuffer q = le(QUERY_SIZE_BYTES).putShort(QUERY_DOM, (short) EventChannelOp.DOMID_SELF);
    put(a, UOP, q);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, QUERY_SIZE, UOP, 1)).isZero();
    assertThat(a.memory().read32(UOP + QUERY_NR_FRAMES)).isEqualTo(1);
    assertThat(a.memory().read32(UOP + QUERY_MAX_NR_FRAMES)).isEqualTo(DEFAULT_MAX_FRAMES);
    ByteBuffer s = le(SETUP_SIZE).putShort(SETUP_DOM, (short) EventChannelOp.DOMID_SELF)
        .putInt(SETUP_NR_FRAMES, 3).putInt(SETUP_FRAME_LIST, UOP + 0x100);
    put(a, UOP, s);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SETUP_TABLE, UOP, 1)).isZero();
    assertThat(a.memory().read16(UOP + SETUP_STATUS)).isZero();
    assertThat(a.memory().read32(UOP + 0x100)).isEqualTo(GRANT_GFN);
    assertThat(a.memory().read32(UOP + 0x104)).isEqualTo(INVALID_GFN);
    assertThat(a.grantTables().nrFrames()).isEqualTo(3);
    s.putInt(SETUP_NR_FRAMES, 65);
    put(a, UOP, s);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SETUP_TABLE, UOP, 1)).isZero();
    assertThat((short) a.memory().read16(UOP + SETUP_STATUS)).isEqualTo((short) GNTST_GENERAL_ERROR);
    a.memory().write32(UOP, 2);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SET_VERSION, UOP, 1))
        .isEqualTo(XenErrno.EINVAL.negated());
    a.memory().write32(UOP, 1);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SET_VERSION, UOP, 1)).isZero();
    put(a, UOP, le(8).putShort(0, (short) EventChannelOp.DOMID_SELF));
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, GET_VERSION, UOP, 1)).isZero();
    assertThat(a.memory().read32(UOP + GET_VERSION_VERSION)).isEqualTo(1);
  }

  @Test
  void aDyingGranterTakesItsFramesBackFromEveryMapper() {
    long original = b.p2m().lookup(MAP_GFN);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    int[] r = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    hv.destroy(a, "test");
    assertThat(b.p2m().lookup(MAP_GFN)).isEqualTo(original);
    assertThat(b.memory().read32((long) MAP_GFN << 12)).isEqualTo(0xB0B0_B0B0);
    // The handle still unmaps cleanly once.
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_BAD_HANDLE);
    assertThat(b.grantTables().activeMappings()).isZero();
  }

  @Test
  void aDyingMapperReleasesItsPins() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    assertThat(map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_OKAY);
    hv.destroy(b, "test");
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS);
  }
}
