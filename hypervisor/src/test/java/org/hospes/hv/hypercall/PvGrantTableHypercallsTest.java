package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.GrantTableOp.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.MemoryOp;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.pv.PageInfo;
import org.hospes.hv.pv.PageType;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Grant tables v1 with classic PV domains, through the hypercall handlers: a PV guest's frame
 * numbers are machine frames (grant entries, setup_table's list, GNTTABOP_copy's local frames),
 * and a PV mapper's host_addr is a linear address whose L1 entry the grant replaces (or, with
 * GNTMAP_contains_pte, the L1 entry's machine address). Errors in Xen 4.17's order. Each domain
 * gets a minimal address space: pfns 0..3 are its L3, L2, Xen's L2 and one L1, mapped read-only
 * at VA 0..0x3fff; pfns 4..31 are mapped writable at VA pfn << 12.
 */
class PvGrantTableHypercallsTest {
  private static final long P = 1, RW = 2, US = 4, A = 32, D = 64;
  private static final int UOP = 0x4000;
  private static final int LIST = 0x4800;
  private static final int TABLE_VA = 0x20000;
  private static final int DATA_PFN = 8;
  private static final int MAP_VA = 0x9000;
  private static final int PATTERN = 0x5A5A_1234;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain a;
  private Domain b;
  private PageInfo info;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    a = pvDomain("a");
    b = pvDomain("b");
    info = hv.pvPageInfo();
    // a learns its grant frame's MFN and maps it at TABLE_VA; its data page holds a pattern.
    long tableMfn = setupTable(a);
    assertThat(tableMfn).isEqualTo(a.grantTables().frameMfn(0));
    assertThat(uva(a, TABLE_VA, tableMfn << 12 | P | RW | A | D)).isZero();
    write32(a, DATA_PFN << 12, PATTERN);
    write32(b, MAP_VA, 0xB0B0_B0B0);
  }

  private Domain pvDomain(String name) {
    return PvTestDomains.create(hv, name);
  }

  private static long mfn(Domain d, int pfn) {
    return d.p2m().lookup(pfn);
  }

  private long l1(Domain d) {
    return mfn(d, 3);
  }

  private void write(Domain d, int va, ByteBuffer b) {
    assertThat(d.pv().mmu().copyToGuest(va, b.array())).isTrue();
  }

  private void write32(Domain d, int va, int value) {
    write(d, va, le(4).putInt(0, value));
  }

  private int read32(Domain d, int va) {
    byte[] out = new byte[4];
    assertThat(d.pv().mmu().copyFromGuest(va, out)).isTrue();
    return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).getInt();
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

  private long setupTable(Domain d) {
    ByteBuffer s = le(SETUP_SIZE);
    s.putShort(SETUP_DOM, (short) EventChannelOp.DOMID_SELF).putInt(SETUP_NR_FRAMES, 1)
        .putInt(SETUP_FRAME_LIST, LIST);
    write(d, UOP, s);
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, SETUP_TABLE, UOP, 1, 0)).isZero();
    assertThat((short) read32(d, UOP + SETUP_STATUS)).isEqualTo((short) GNTST_OKAY);
    return read32(d, LIST) & 0xFFFF_FFFFL;
  }

  /** a's guest writes entry {@code ref} through its mapping of its grant frame. */
  private void grant(int ref, int flags, int domid, long frame) {
    int e = TABLE_VA + ref * ENTRY_SIZE;
    write(a, e, le(8).putShort(ENTRY_FLAGS, (short) flags).putShort(ENTRY_DOMID, (short) domid)
        .putInt(ENTRY_FRAME, (int) frame));
  }

  private int entryFlags(int ref) {
    return read32(a, TABLE_VA + ref * ENTRY_SIZE) & 0xFFFF;
  }

  /** One GNTTABOP_map_grant_ref from {@code d}; returns {status, handle}. */
  private int[] map(Domain d, int ref, int dom, long hostAddr, int flags) {
    ByteBuffer s = le(MAP_SIZE);
    s.putLong(MAP_HOST_ADDR, hostAddr).putInt(MAP_FLAGS, flags).putInt(MAP_REF, ref)
        .putShort(MAP_DOM, (short) dom);
    write(d, UOP, s);
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, MAP_GRANT_REF, UOP, 1, 0)).isZero();
    return new int[] {(short) read32(d, UOP + MAP_STATUS), read32(d, UOP + MAP_HANDLE)};
  }

  private int unmap(Domain d, long hostAddr, int handle) {
    ByteBuffer s = le(UNMAP_SIZE);
    s.putLong(UNMAP_HOST_ADDR, hostAddr).putInt(UNMAP_HANDLE, handle);
    write(d, UOP, s);
    assertThat(call(d, Hypercall.GRANT_TABLE_OP, UNMAP_GRANT_REF, UOP, 1, 0)).isZero();
    return (short) read32(d, UOP + UNMAP_STATUS);
  }

  private long l1e(Domain d, int va) {
    return hv.machineMemory().read64((l1(d) << 12) + 8L * ((va >>> 12) & 511));
  }

  @Test
  void setupTableGivesAPvGuestMachineFramesWhichItMapsItself() {
    // Done in setUp: the entry written through TABLE_VA is in the table frame.
    grant(9, GTF_PERMIT_ACCESS, b.domid(), 1234);
    assertThat(a.grantTables().entryFlags(9)).isEqualTo(GTF_PERMIT_ACCESS);
  }

  @Test
  void aPvMapperMapsAPvGrantAtALinearAddressAndUnmapsIt() {
    long page = mfn(a, DATA_PFN);
    long old = mfn(b, MAP_VA >>> 12);
    int oldRefs = info.refCount(old);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), page);
    int[] r = map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    assertThat(l1e(b, MAP_VA)).as("NX too, as Xen's grant_to_pte_flags")
        .isEqualTo(page << 12 | P | RW | A | D | 1L << 63);
    assertThat(read32(b, MAP_VA)).isEqualTo(PATTERN);
    write32(b, MAP_VA + 4, 77);
    assertThat(read32(a, (DATA_PFN << 12) + 4)).isEqualTo(77);
    // The grant holds a reference and the writable type; b's own page lost its mapping.
    assertThat(info.type(page)).isEqualTo(PageType.WRITABLE_PAGE);
    assertThat(info.typeCount(page)).isEqualTo(2);
    assertThat(info.refCount(old)).isEqualTo(oldRefs - 1);
    assertThat(entryFlags(8)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);

    assertThat(unmap(b, MAP_VA, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(l1e(b, MAP_VA)).isZero();
    assertThat(info.typeCount(page)).isEqualTo(1);
    assertThat(entryFlags(8)).isEqualTo(GTF_PERMIT_ACCESS);
    assertThat(b.grantTables().activeMappings()).isZero();
  }

  @Test
  void aReadOnlyMapIsNotWritableAndTakesNoType() {
    long page = mfn(a, DATA_PFN);
    grant(8, GTF_PERMIT_ACCESS | GTF_READONLY, b.domid(), page);
    assertThat(map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    int[] r = map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP | GNTMAP_READONLY);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    assertThat(l1e(b, MAP_VA)).isEqualTo(page << 12 | P | A | D | 1L << 63);
    assertThat(b.pv().mmu().translate(MAP_VA, true)).isEqualTo(-1);
    assertThat(info.typeCount(page)).isEqualTo(1);
    assertThat(unmap(b, MAP_VA, r[1])).isEqualTo(GNTST_OKAY);
  }

  @Test
  void grantEntriesNameMachineFramesNotPseudoPhysicalOnes() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), DATA_PFN); // a pfn: machine frame 8 is Xen's
    assertThat(map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_BAD_PAGE);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), mfn(b, DATA_PFN)); // b's own frame, not a's
    assertThat(map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_BAD_PAGE);
    assertThat(l1e(b, MAP_VA) >>> 12).isEqualTo(mfn(b, MAP_VA >>> 12));
  }

  @Test
  void aPageTableCannotBeGrantedWritableButMayBeReadOnly() {
    long l1 = l1(a);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), l1);
    // map_grant_ref's "could not pin": an L1 in use never takes the writable type.
    assertThat(map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(info.type(l1)).isEqualTo(PageType.L1_PAGE_TABLE);
    assertThat(entryFlags(8)).isEqualTo(GTF_PERMIT_ACCESS);
    int[] r = map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP | GNTMAP_READONLY);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    assertThat(b.pv().mmu().translate(MAP_VA, true)).isEqualTo(-1);
  }

  @Test
  void aFrameMappedWritableByAGrantCannotBecomeAPageTable() {
    long page = mfn(a, DATA_PFN);
    // a drops its own writable mapping, so only the grant holds the writable type.
    assertThat(uva(a, DATA_PFN << 12, page << 12 | P | A)).isZero();
    grant(8, GTF_PERMIT_ACCESS, b.domid(), page);
    int[] r = map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    assertThat(a.pv().mmu().extOp(PvMmuAbi.MMUEXT_PIN_L1_TABLE, (int) page, 0))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(unmap(b, MAP_VA, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(a.pv().mmu().extOp(PvMmuAbi.MMUEXT_PIN_L1_TABLE, (int) page, 0)).isZero();
  }

  @Test
  void theMapperCannotCopyTheGrantEntryElsewhere() {
    long page = mfn(a, DATA_PFN);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), page);
    assertThat(map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_OKAY);
    // mmu_update-style: b asks for a second mapping of a's frame at another address.
    assertThat(uva(b, 0xA000, page << 12 | P | RW)).isEqualTo(XenErrno.EBUSY.negated());
    assertThat(uva(b, 0xA000, page << 12 | P)).isEqualTo(XenErrno.EBUSY.negated());
  }

  @Test
  void unmapChecksTheEntryAndAnImplicitUnmapLeavesTheGrantUntilDeath() {
    long page = mfn(a, DATA_PFN);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), page);
    int[] r = map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP);
    assertThat(unmap(b, 0xA000, r[1])).isEqualTo(GNTST_GENERAL_ERROR); // maps b's own page
    assertThat(unmap(b, 0xF580_0000L, r[1])).isEqualTo(GNTST_GENERAL_ERROR); // no L1 there
    assertThat(unmap(b, MAP_VA, r[1] + 1)).isEqualTo(GNTST_BAD_HANDLE);
    // host_addr 0: no host mapping is undone, and the handle stays.
    assertThat(unmap(b, 0, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(b.grantTables().activeMappings()).isEqualTo(1);
    // b overwrites the grant's entry itself: the grant stays with its references.
    assertThat(uva(b, MAP_VA, 0)).isZero();
    assertThat(unmap(b, MAP_VA, r[1])).isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(info.typeCount(page)).isEqualTo(2);
    assertThat(entryFlags(8) & GTF_WRITING).isNotZero();
    hv.destroy(b, "test");
    assertThat(info.typeCount(page)).isEqualTo(1);
    assertThat(entryFlags(8)).isEqualTo(GTF_PERMIT_ACCESS);
  }

  @Test
  void containsPteNamesTheL1EntryByMachineAddress() {
    long page = mfn(a, DATA_PFN);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), page);
    long entry = (l1(b) << 12) + 8L * (MAP_VA >>> 12);
    int flags = GNTMAP_HOST_MAP | GNTMAP_CONTAINS_PTE;
    assertThat(map(b, 8, a.domid(), entry + 4, flags)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    // A frame b owns that is not an L1 page table.
    long data = (mfn(b, 12) << 12) + 8;
    assertThat(map(b, 8, a.domid(), data, flags)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    // a's L1: not b's frame.
    assertThat(map(b, 8, a.domid(), l1(a) << 12, flags)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    int[] r = map(b, 8, a.domid(), entry, flags);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    assertThat(read32(b, MAP_VA)).isEqualTo(PATTERN);
    assertThat(unmap(b, entry, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(l1e(b, MAP_VA)).isZero();
  }

  @Test
  void aTranslatedMapperIsRefusedPteAndApplicationMaps() {
    Domain pvh = hv.createHvmDomain("pvh", DomainMode.PVH, 2);
    grant(8, GTF_PERMIT_ACCESS, pvh.domid(), mfn(a, DATA_PFN));
    assertThat(pvh.grantTables().map(0x150000, GNTMAP_HOST_MAP | GNTMAP_CONTAINS_PTE, 8,
        a.domid())).isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(pvh.grantTables().map(0x150000, GNTMAP_HOST_MAP | GNTMAP_APPLICATION_MAP, 8,
        a.domid())).isEqualTo(GNTST_GENERAL_ERROR);
    // A plain host map of a PV frame into a translated physmap holds the writable type.
    int h = pvh.grantTables().map(0x150000, GNTMAP_HOST_MAP, 8, a.domid());
    assertThat(h).isNotNegative();
    assertThat(pvh.memory().read32(0x150000)).isEqualTo(PATTERN);
    assertThat(info.typeCount(mfn(a, DATA_PFN))).isEqualTo(2);
    assertThat(pvh.grantTables().unmap(0x150000, h)).isEqualTo(GNTST_OKAY);
    assertThat(info.typeCount(mfn(a, DATA_PFN))).isEqualTo(1);
  }

  @Test
  void aCopyNeverWritesAPvPageTable() {
    Domain pvh = hv.createHvmDomain("pvh", DomainMode.PVH, 2);
    byte[] buf = {1, 2, 3, 4};
    grant(8, GTF_PERMIT_ACCESS, pvh.domid(), l1(a));
    assertThat(pvh.grantTables().copyWithBuffer(8, a.domid(), 0, buf, 0, 4, true))
        .isEqualTo(GNTST_GENERAL_ERROR);
    byte[] in = new byte[4];
    assertThat(pvh.grantTables().copyWithBuffer(8, a.domid(), 0, in, 0, 4, false))
        .isEqualTo(GNTST_OKAY);
    grant(9, GTF_PERMIT_ACCESS, pvh.domid(), mfn(a, DATA_PFN));
    assertThat(pvh.grantTables().copyWithBuffer(9, a.domid(), 0, buf, 0, 4, true))
        .isEqualTo(GNTST_OKAY);
    assertThat(read32(a, DATA_PFN << 12)).isEqualTo(0x0403_0201);
    // A PV caller's local frames are machine frames; its own L1 is not a copy destination.
    int self = EventChannelOp.DOMID_SELF;
    assertThat(a.grantTables().copy((int) mfn(a, DATA_PFN), self, 0, (int) mfn(a, 9), self, 0,
        4, 0)).isEqualTo(GNTST_OKAY);
    assertThat(read32(a, 9 << 12)).isEqualTo(0x0403_0201);
    assertThat(a.grantTables().copy((int) mfn(a, DATA_PFN), self, 0, (int) l1(a), self, 0, 4,
        0)).isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(a.grantTables().copy(DATA_PFN, self, 0, 9, self, 0, 4, 0))
        .isEqualTo(GNTST_BAD_PAGE);
  }

  @Test
  void theGranterCrashingKeepsThePvMappersEntryUntilUnmappedAndEveryCountGoesToZero() {
    long page = mfn(a, DATA_PFN);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), page);
    int[] r = map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    long entry = l1e(b, MAP_VA);
    // As in Xen, a crashed granter keeps its memory until destroyed: the mapping stays, and
    // its destroy leaves the page its own until the mapper unmaps it.
    hv.crash(a, "test");
    assertThat(l1e(b, MAP_VA)).isEqualTo(entry);
    hv.destroy(a, "test");
    assertThat(hv.isHeld(a)).isTrue();
    assertThat(hv.frames().owner(page)).isEqualTo(a.domid());
    assertThat(unmap(b, MAP_VA, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(l1e(b, MAP_VA)).isZero();
    assertThat(hv.domain(a.domid())).isNull();
    hv.destroy(b, "test");
    FrameTable frames = hv.frames();
    for (long mfn = 0; mfn < frames.frames(); mfn++) {
      assertThat(frames.owner(mfn)).as("owner of %d", mfn).isNotIn(a.domid(), b.domid());
      assertThat(info.typeCount(mfn)).as("type count of %d", mfn).isZero();
      assertThat(info.refCount(mfn)).as("references on %d", mfn).isZero();
    }
  }

  @Test
  void aDestroyedPvGranterKeepsTheMappedFrameUntilThePvMapperUnmapsIt() {
    long page = mfn(a, DATA_PFN);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), page);
    int[] r = map(b, 8, a.domid(), MAP_VA, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    hv.destroy(a, "test");
    // The mapping holds its page reference and writable type: the frame stays a's, and so
    // does a, dying, while b's L1 entry still reaches it.
    assertThat(hv.isHeld(a)).isTrue();
    assertThat(hv.frames().owner(page)).isEqualTo(a.domid());
    assertThat(info.refCount(page)).isEqualTo(1);
    assertThat(read32(b, MAP_VA)).isEqualTo(PATTERN);
    assertThat(unmap(b, MAP_VA, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(l1e(b, MAP_VA)).isZero();
    assertThat(hv.domain(a.domid())).isNull();
    hv.destroy(b, "test");
    FrameTable frames = hv.frames();
    for (long mfn = 0; mfn < frames.frames(); mfn++) {
      assertThat(frames.owner(mfn)).as("owner of %d", mfn).isNotIn(a.domid(), b.domid());
      assertThat(info.typeCount(mfn)).as("type count of %d", mfn).isZero();
      assertThat(info.refCount(mfn)).as("references on %d", mfn).isZero();
    }
  }

  @Test
  void aPvGuestHasNoPhysmapToAddTo() {
    ByteBuffer s = le(MemoryOp.ATP_SIZE);
    s.putShort(MemoryOp.ATP_DOMID, (short) EventChannelOp.DOMID_SELF)
        .putInt(MemoryOp.ATP_SPACE, MemoryOp.SPACE_GRANT_TABLE).putInt(MemoryOp.ATP_IDX, 0)
        .putInt(MemoryOp.ATP_GPFN, 12);
    write(b, UOP, s);
    assertThat(call(b, Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, UOP, 0, 0))
        .isEqualTo(XenErrno.EACCES.negated());
    assertThat(b.p2m().lookup(12)).isEqualTo(mfn(b, 12));
  }

  @Test
  void aPvGuestGetsNothingFromDecreaseReservation() {
    ByteBuffer s = le(MemoryOp.RES_SIZE);
    write32(b, LIST, (int) l1(b));
    s.putInt(MemoryOp.RES_EXTENT_START, LIST).putInt(MemoryOp.RES_NR_EXTENTS, 1)
        .putShort(MemoryOp.RES_DOMID, (short) EventChannelOp.DOMID_SELF);
    write(b, UOP, s);
    assertThat(call(b, Hypercall.MEMORY_OP, MemoryOp.DECREASE_RESERVATION, UOP, 0, 0)).isZero();
    assertThat(hv.frames().owner(l1(b))).isEqualTo(b.domid());
  }
}
