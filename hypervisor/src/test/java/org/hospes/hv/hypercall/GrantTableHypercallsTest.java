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
import org.hospes.hv.memory.FrameTable;
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

  /**
   * Found by HypercallFuzzTest (host memory held down): a grant map or add_to_physmap at a GFN
   * whose EPT tables did not exist yet, with no free machine frame for them, threw
   * IllegalStateException out of the hypercall path. As Xen when its P2M pool is empty: the
   * guest gets GNTST_general_error or -ENOMEM, and nothing changes.
   */
  @Test
  void aMappingWhoseTablesFindNoMemoryFailsForTheGuestNotTheHypervisor() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    // a's physmap reaches far up (shared_info may only go below its top): a map up there.
    grant(9, GTF_PERMIT_ACCESS, a.domid(), PAGE_GFN);
    assertThat(map(a, 9, a.domid(), 0xC0000, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_OKAY);
    java.util.List<Long> held = new java.util.ArrayList<>();
    while (hv.frames().freeFrames() > 0) {
      held.add(hv.frames().allocate(0x7FE0));
    }
    int far = 0x80000;
    int[] r = map(b, 8, a.domid(), far, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(b.p2m().lookup(far)).isEqualTo(org.hospes.hv.memory.P2m.INVALID);
    assertThat(b.grantTables().activeMappings()).isZero();
    assertThat(flags(8)).as("not pinned").isEqualTo(GTF_PERMIT_ACCESS);
    long gfn0 = a.grantTables().frameGfn(0);
    assertThat(addToPhysmap(a, MemoryOp.SPACE_GRANT_TABLE, 0, 0x90000))
        .isEqualTo(XenErrno.ENOMEM.negated());
    assertThat(a.grantTables().frameGfn(0)).as("the frame stays where it was").isEqualTo(gfn0);
    assertThat(a.p2m().lookup(gfn0)).isEqualTo(a.grantTables().frameMfn(0));
    assertThat(addToPhysmap(a, MemoryOp.SPACE_SHARED_INFO, 0, 0xA0000))
        .isEqualTo(XenErrno.ENOMEM.negated());
    // Within RAM the tables are there: no memory is needed, and it works.
    assertThat(map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_OKAY);
    // With memory back, the far mappings work too.
    hv.frames().free(held.remove(held.size() - 1));
    hv.frames().free(held.remove(held.size() - 1));
    assertThat(map(b, 8, a.domid(), far, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_OKAY);
    assertThat(b.memory().read32((long) far << 12)).isEqualTo(PATTERN);
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
    assertThat(copy(b, 0x20, EventChannelOp.DOMID_SELF, 300, 8, a.domid(), 4000, 4,
        GNTCOPY_DEST_GREF)).isEqualTo(GNTST_OKAY);
    // A frame side must say DOMID_SELF: Xen 4.17 refuses the caller's own numeric id there.
    assertThat(copy(b, 0x20, b.domid(), 300, 8, a.domid(), 4000, 4, GNTCOPY_DEST_GREF))
        .isEqualTo(GNTST_PERMISSION_DENIED);
    assertThat(a.memory().read32(((long) PAGE_GFN << 12) + 4000)).isEqualTo(0x1357_9BDF);
    // Bounds: the copy must stay within each page.
    assertThat(copy(b, 8, a.domid(), 4000, 0x20, EventChannelOp.DOMID_SELF, 0, 200,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_BAD_COPY_ARG);
    assertThat(copy(b, 8, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 3900, 200,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_BAD_COPY_ARG);
    // Flag bits other than the two gref bits are ignored, as on Xen: this is a frame copy.
    assertThat(copy(b, 0x20, EventChannelOp.DOMID_SELF, 0, 0x21, EventChannelOp.DOMID_SELF, 0,
        4, 0x80)).isEqualTo(GNTST_OKAY);
    // A read-only grant is not a destination; it is a source.
    assertThat(copy(b, 0x20, EventChannelOp.DOMID_SELF, 0, 9, a.domid(), 0, 4,
        GNTCOPY_DEST_GREF)).isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(copy(b, 9, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 0, 4,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_OKAY);
    // Own frames only on a non-grant side; unpopulated own frames are bad pages.
    assertThat(copy(b, 0x20, a.domid(), 0, 0x21, b.domid(), 0, 4, 0))
        .isEqualTo(GNTST_PERMISSION_DENIED);
    assertThat(copy(b, 0x7FFFF, EventChannelOp.DOMID_SELF, 0, 0x21, EventChannelOp.DOMID_SELF,
        0, 4, 0)).isEqualTo(GNTST_BAD_PAGE);
    assertThat(copy(b, 8, 999, 0, 0x21, EventChannelOp.DOMID_SELF, 0, 4, GNTCOPY_SOURCE_GREF))
        .isEqualTo(GNTST_BAD_DOMAIN);
    assertThat(b.totals().grantCopies).isEqualTo(4);
    assertThat(b.totals().grantCopyBytes).isEqualTo(16);
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
    // As a Xen built with opt_gnttab_max_version = 1: v2 is -ENOSYS, other versions -EINVAL,
    // and the version in force (1) is written back either way; count is not looked at.
    a.memory().write32(UOP, 2);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SET_VERSION, UOP, 1))
        .isEqualTo(XenErrno.ENOSYS.negated());
    assertThat(a.memory().read32(UOP)).isEqualTo(1);
    a.memory().write32(UOP, 3);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SET_VERSION, UOP, 7))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(a.memory().read32(UOP)).isEqualTo(1);
    a.memory().write32(UOP, 0);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SET_VERSION, UOP, 1))
        .isEqualTo(XenErrno.EINVAL.negated());
    a.memory().write32(UOP, 1);
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SET_VERSION, UOP, 1)).isZero();
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, SET_VERSION, 0x7FF000, 1))
        .isEqualTo(XenErrno.EFAULT.negated());
    put(a, UOP, le(8).putShort(0, (short) EventChannelOp.DOMID_SELF));
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, GET_VERSION, UOP, 1)).isZero();
    assertThat(a.memory().read32(UOP + GET_VERSION_VERSION)).isEqualTo(1);
    put(a, UOP, le(8).putShort(0, (short) a.domid()));
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, GET_VERSION, UOP, 0)).isZero();
    put(a, UOP, le(8).putShort(0, (short) b.domid()));
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, GET_VERSION, UOP, 1))
        .isEqualTo(XenErrno.EPERM.negated());
    put(a, UOP, le(8).putShort(0, (short) 999));
    assertThat(call(a, Hypercall.GRANT_TABLE_OP, GET_VERSION, UOP, 1))
        .isEqualTo(XenErrno.ESRCH.negated());
  }

  /**
   * A granter that crashed keeps its memory until destroyed, as in Xen: the mapper still sees
   * and writes the granted page, and its destroy leaves the page the granter's (listed,
   * crashed) until the mapper unmaps it. Before, the crash took the page back at once.
   */
  @Test
  void aCrashedGranterKeepsItsMappedFramesUntilDestroyedAndUnmapped() {
    long page = a.p2m().lookup(PAGE_GFN);
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    int[] r = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    hv.crash(a, "test");
    assertThat(b.p2m().lookup(MAP_GFN)).isEqualTo(page);
    assertThat(b.memory().read32((long) MAP_GFN << 12)).isEqualTo(PATTERN);
    b.memory().write32((long) MAP_GFN << 12, 0x600D);
    assertThat(a.memory().read32((long) PAGE_GFN << 12)).isEqualTo(0x600D);
    // Nobody maps anything new from a domain that ended.
    assertThat(map(b, 8, a.domid(), MAP_GFN + 1, GNTMAP_HOST_MAP)[0])
        .isEqualTo(GNTST_BAD_DOMAIN);
    hv.destroy(a, "xl destroy");
    assertThat(a.state()).isEqualTo(DomainState.CRASHED);
    assertThat(hv.isHeld(a)).isTrue();
    assertThat(hv.frames().owner(page)).isEqualTo(a.domid());
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_BAD_HANDLE);
    assertThat(b.memory().read32((long) MAP_GFN << 12)).isEqualTo(0xB0B0_B0B0);
    assertThat(hv.domain(a.domid())).isNull();
    assertThat(hv.frames().owner(page)).isEqualTo(FrameTable.FREE);
    assertThat(b.grantTables().activeMappings()).isZero();
  }

  @Test
  void aDestroyedGranterStaysDyingUntilItsLastMappedFrameIsUnmapped() {
    int free = hv.frames().freeFrames();
    long page = a.p2m().lookup(PAGE_GFN);
    int aFrames = 0;
    for (long m = 0; m < hv.frames().frames(); m++) {
      aFrames += hv.frames().owner(m) == a.domid() ? 1 : 0;
    }
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    grant(9, GTF_PERMIT_ACCESS | GTF_READONLY, c.domid(), PAGE_GFN);
    int[] rb = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    int[] rc = map(c, 9, a.domid(), MAP_GFN, GNTMAP_HOST_MAP | GNTMAP_READONLY);
    assertThat(rb[0]).isEqualTo(GNTST_OKAY);
    assertThat(rc[0]).isEqualTo(GNTST_OKAY);
    int aTables = a.ept().tableFrameNumbers().size();
    hv.destroy(a, "test");
    // Xen: each mapping holds a reference on the page, so the page, and the domain with it,
    // outlive domain_kill. Everything else a owned is free already.
    assertThat(a.state()).isEqualTo(DomainState.DYING);
    assertThat(hv.domain(a.domid())).isSameAs(a);
    assertThat(hv.domains()).contains(a);
    assertThat(hv.isHeld(a)).isTrue();
    assertThat(hv.frames().owner(page)).isEqualTo(a.domid());
    assertThat(hv.frames().freeFrames()).isEqualTo(free + aFrames + aTables - 1);
    // The mappers still see the page, and b still writes it.
    assertThat(b.memory().read32((long) MAP_GFN << 12)).isEqualTo(PATTERN);
    b.memory().write32((long) MAP_GFN << 12, 0x600D);
    assertThat(c.memory().read32((long) MAP_GFN << 12)).isEqualTo(0x600D);
    // Nobody maps anything new from a dying domain.
    assertThat(map(b, 8, a.domid(), MAP_GFN + 1, GNTMAP_HOST_MAP)[0])
        .isEqualTo(GNTST_BAD_DOMAIN);
    // Its domid is not handed out while it is dying.
    assertThat(hv.createHvmDomain("d", DomainMode.PVH, 1).domid()).isNotEqualTo(a.domid());
    assertThat(unmap(b, MAP_GFN, rb[1])).isEqualTo(GNTST_OKAY);
    assertThat(hv.isHeld(a)).as("c still maps the page").isTrue();
    assertThat(hv.frames().owner(page)).isEqualTo(a.domid());
    assertThat(unmap(c, MAP_GFN, rc[1])).isEqualTo(GNTST_OKAY);
    // The last reference gone: the page is free and the domain gone from every lookup.
    assertThat(hv.isHeld(a)).isFalse();
    assertThat(hv.domain(a.domid())).isNull();
    assertThat(hv.domains()).doesNotContain(a);
    assertThat(hv.frames().owner(page)).isEqualTo(FrameTable.FREE);
    put(b, UOP, le(8).putShort(0, (short) a.domid()));
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, GET_VERSION, UOP, 1))
        .isEqualTo(XenErrno.ESRCH.negated());
    assertThat(b.grantTables().activeMappings()).isZero();
    assertThat(c.grantTables().activeMappings()).isZero();
  }

  @Test
  void aDestroyedGranterHeldByAMapperGoesWhenTheMapperIsDestroyedToo() {
    int free = hv.frames().freeFrames();
    int bFrames = 0;
    int aFrames = 0;
    for (long m = 0; m < hv.frames().frames(); m++) {
      aFrames += hv.frames().owner(m) == a.domid() ? 1 : 0;
      bFrames += hv.frames().owner(m) == b.domid() ? 1 : 0;
    }
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    assertThat(map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_OKAY);
    int tables = a.ept().tableFrameNumbers().size() + b.ept().tableFrameNumbers().size();
    hv.destroy(a, "test");
    assertThat(hv.isHeld(a)).isTrue();
    // The mapper's own destruction drops its mappings (gnttab_release_mappings): a goes too.
    hv.destroy(b, "test");
    assertThat(hv.domain(a.domid())).isNull();
    assertThat(hv.domain(b.domid())).isNull();
    assertThat(hv.frames().freeFrames()).isEqualTo(free + aFrames + bFrames + tables);
  }

  @Test
  void aDyingMapperReleasesItsPins() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    assertThat(map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_OKAY);
    hv.destroy(b, "test");
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS);
  }

  @Test
  void aCopyOneBytePastThePageFailsWithBadCopyArgAsSourceAndAsDestination() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    b.memory().write32(0x20000 + 300, 0x2468_ACE0);
    // Source: offset 4000 + 97 bytes ends one byte past the page; 96 bytes fit exactly.
    assertThat(copy(b, 8, a.domid(), 4000, 0x20, EventChannelOp.DOMID_SELF, 0, 97,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_BAD_COPY_ARG);
    assertThat(copy(b, 8, a.domid(), 4000, 0x20, EventChannelOp.DOMID_SELF, 0, 96,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_OKAY);
    // Destination: the same, into the granted page.
    assertThat(copy(b, 0x20, EventChannelOp.DOMID_SELF, 300, 8, a.domid(), 4000, 97,
        GNTCOPY_DEST_GREF)).isEqualTo(GNTST_BAD_COPY_ARG);
    assertThat(a.memory().read32(((long) PAGE_GFN << 12) + 4000)).isZero();
    assertThat(copy(b, 0x20, EventChannelOp.DOMID_SELF, 300, 8, a.domid(), 4000, 96,
        GNTCOPY_DEST_GREF)).isEqualTo(GNTST_OKAY);
    assertThat(a.memory().read32(((long) PAGE_GFN << 12) + 4000)).isEqualTo(0x2468_ACE0);
    // Both sides frames of the caller: the same bound on each side.
    assertThat(copy(b, 0x20, EventChannelOp.DOMID_SELF, 4000, 0x21, EventChannelOp.DOMID_SELF,
        0, 97, 0)).isEqualTo(GNTST_BAD_COPY_ARG);
    assertThat(copy(b, 0x20, EventChannelOp.DOMID_SELF, 0, 0x21, EventChannelOp.DOMID_SELF,
        4000, 97, 0)).isEqualTo(GNTST_BAD_COPY_ARG);
    assertThat(b.totals().grantCopies).isEqualTo(2);
  }

  @Test
  void unmappingTheWritableOfTwoMapsLeavesTheReadOnlyOnePinned() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    int[] rw = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    int[] ro = map(b, 8, a.domid(), MAP_GFN + 1, GNTMAP_HOST_MAP | GNTMAP_READONLY);
    assertThat(rw[0]).isEqualTo(GNTST_OKAY);
    assertThat(ro[0]).isEqualTo(GNTST_OKAY);
    long frame = a.p2m().lookup(PAGE_GFN);
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
    assertThat(unmap(b, MAP_GFN, rw[1])).isEqualTo(GNTST_OKAY);
    // The writer is gone, the reader stays: GTF_reading only, the frame still pinned and mapped.
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING);
    assertThat(a.grantTables().framePinned(frame)).isTrue();
    assertThat(b.p2m().lookup(MAP_GFN + 1)).isEqualTo(frame);
    assertThat(b.memory().read32((long) (MAP_GFN + 1) << 12)).isEqualTo(PATTERN);
    // So ballooning the granted page out is still refused.
    assertThat(decreaseReservation(a, EventChannelOp.DOMID_SELF, PAGE_GFN)).isZero();
    assertThat(a.p2m().lookup(PAGE_GFN)).isEqualTo(frame);
    assertThat(unmap(b, MAP_GFN + 1, ro[1])).isEqualTo(GNTST_OKAY);
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS);
    assertThat(a.grantTables().framePinned(frame)).isFalse();
    // The other order: unmapping the reader leaves the writer's GTF_writing set.
    rw = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    ro = map(b, 8, a.domid(), MAP_GFN + 1, GNTMAP_HOST_MAP | GNTMAP_READONLY);
    assertThat(unmap(b, MAP_GFN + 1, ro[1])).isEqualTo(GNTST_OKAY);
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
    assertThat(unmap(b, MAP_GFN, rw[1])).isEqualTo(GNTST_OKAY);
    assertThat(flags(8)).isEqualTo(GTF_PERMIT_ACCESS);
  }

  @Test
  void anEntryRewrittenForAnotherDomainWhileMappedAdmitsNeither() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    int[] r = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    // a points the busy entry at c: c may not join b's pin, b may not map it again.
    long e = ((long) GRANT_GFN << 12) + 8L * ENTRY_SIZE;
    a.memory().write16(e + ENTRY_DOMID, c.domid());
    assertThat(map(c, 8, a.domid(), 0x150, GNTMAP_HOST_MAP | GNTMAP_READONLY)[0])
        .isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(copy(c, 8, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 0, 4,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(map(b, 8, a.domid(), 0x151, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_GENERAL_ERROR);
    assertThat(c.memory().read32(0x20000)).isNotEqualTo(PATTERN);
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_OKAY);
  }

  @Test
  void aCopyNamingDomidSelfWithAGrantRefUsesTheCallersOwnTable() {
    // a grants a page to itself and copies out of it through its own table (Xen resolves
    // DOMID_SELF with rcu_lock_domain_by_any_id on a grant side).
    grant(8, GTF_PERMIT_ACCESS, a.domid(), PAGE_GFN);
    assertThat(copy(a, 8, EventChannelOp.DOMID_SELF, 0, 0x30, EventChannelOp.DOMID_SELF, 8, 4,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_OKAY);
    assertThat(a.memory().read32(0x30000 + 8)).isEqualTo(PATTERN);
    a.memory().write32(0x30000 + 16, 0x0BAD_F00D);
    assertThat(copy(a, 0x30, EventChannelOp.DOMID_SELF, 16, 8, EventChannelOp.DOMID_SELF, 32, 4,
        GNTCOPY_DEST_GREF)).isEqualTo(GNTST_OKAY);
    assertThat(a.memory().read32(((long) PAGE_GFN << 12) + 32)).isEqualTo(0x0BAD_F00D);
    // The entry still has to name the caller: one granted to b is not a's to use.
    grant(9, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    assertThat(copy(a, 9, EventChannelOp.DOMID_SELF, 0, 0x30, EventChannelOp.DOMID_SELF, 0, 4,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_GENERAL_ERROR);
    // b naming DOMID_SELF reaches b's own table, whose entry 8 is empty, not a's.
    assertThat(copy(b, 8, EventChannelOp.DOMID_SELF, 0, 0x30, EventChannelOp.DOMID_SELF, 0, 4,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_GENERAL_ERROR);
    // Domains are checked before frames, source before destination (gnttab_copy_lock_domains).
    assertThat(copy(b, 8, 999, 0, 0x30, a.domid(), 0, 4, GNTCOPY_SOURCE_GREF))
        .isEqualTo(GNTST_BAD_DOMAIN);
    assertThat(copy(b, 0x7FFFF, EventChannelOp.DOMID_SELF, 0, 0x30, a.domid(), 0, 4, 0))
        .isEqualTo(GNTST_PERMISSION_DENIED);
    assertThat(copy(b, 0x7FFFF, EventChannelOp.DOMID_SELF, 0, 8, 999, 0, 4, GNTCOPY_DEST_GREF))
        .isEqualTo(GNTST_BAD_DOMAIN);
  }

  @Test
  void querySizeAndSetupTableNameOnlyTheCallersTable() {
    ByteBuffer q = le(QUERY_SIZE_BYTES).putShort(QUERY_DOM, (short) 999);
    put(b, UOP, q);
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, QUERY_SIZE, UOP, 1)).isZero();
    assertThat((short) b.memory().read16(UOP + QUERY_STATUS)).isEqualTo((short) GNTST_BAD_DOMAIN);
    q.putShort(QUERY_DOM, (short) a.domid());
    put(b, UOP, q);
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, QUERY_SIZE, UOP, 1)).isZero();
    assertThat((short) b.memory().read16(UOP + QUERY_STATUS))
        .isEqualTo((short) GNTST_PERMISSION_DENIED);
    assertThat(b.memory().read32(UOP + QUERY_NR_FRAMES)).isZero();
    q.putShort(QUERY_DOM, (short) b.domid());
    put(b, UOP, q);
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, QUERY_SIZE, UOP, 1)).isZero();
    assertThat(b.memory().read16(UOP + QUERY_STATUS)).isZero();
    ByteBuffer s = le(SETUP_SIZE).putShort(SETUP_DOM, (short) a.domid())
        .putInt(SETUP_NR_FRAMES, 4).putInt(SETUP_FRAME_LIST, UOP + 0x100);
    put(b, UOP, s);
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, SETUP_TABLE, UOP, 1)).isZero();
    assertThat((short) b.memory().read16(UOP + SETUP_STATUS))
        .isEqualTo((short) GNTST_PERMISSION_DENIED);
    assertThat(a.grantTables().nrFrames()).isEqualTo(1);
    s.putShort(SETUP_DOM, (short) 999);
    put(b, UOP, s);
    assertThat(call(b, Hypercall.GRANT_TABLE_OP, SETUP_TABLE, UOP, 1)).isZero();
    assertThat((short) b.memory().read16(UOP + SETUP_STATUS)).isEqualTo((short) GNTST_BAD_DOMAIN);
  }

  /** One-extent XENMEM_decrease_reservation of {@code gfn} from {@code d}; returns the result. */
  private int decreaseReservation(Domain d, int domid, int gfn) {
    ByteBuffer r = le(MemoryOp.RES_SIZE).putInt(MemoryOp.RES_EXTENT_START, UOP + 0x40)
        .putInt(MemoryOp.RES_NR_EXTENTS, 1).putShort(MemoryOp.RES_DOMID, (short) domid);
    put(d, UOP, r);
    d.memory().write32(UOP + 0x40, gfn);
    return call(d, Hypercall.MEMORY_OP, MemoryOp.DECREASE_RESERVATION, UOP, 0);
  }

  @Test
  void decreaseReservationNeverGivesBackAFrameOfTheGrantTableItself() {
    // The table frame is mapped at GRANT_GFN (setUp): released, the hypervisor would go on
    // writing GTF_reading/writing into a frame another domain may get next.
    long frame = a.grantTables().frameMfn(0);
    assertThat(a.p2m().lookup(GRANT_GFN)).isEqualTo(frame);
    assertThat(decreaseReservation(a, EventChannelOp.DOMID_SELF, GRANT_GFN)).isZero();
    assertThat(a.p2m().lookup(GRANT_GFN)).isEqualTo(frame);
    assertThat(hv.frames().owner(frame)).isEqualTo(a.domid());
  }

  @Test
  void decreaseReservationLeavesAFrameAnotherDomainMappedAlone() {
    grant(8, GTF_PERMIT_ACCESS, b.domid(), PAGE_GFN);
    int[] r = map(b, 8, a.domid(), MAP_GFN, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    long frame = a.p2m().lookup(PAGE_GFN);
    long free = hv.frames().freeFrames();
    assertThat(decreaseReservation(a, EventChannelOp.DOMID_SELF, PAGE_GFN)).isZero();
    assertThat(a.p2m().lookup(PAGE_GFN)).isEqualTo(frame);
    assertThat(hv.frames().owner(frame)).isEqualTo(a.domid());
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
    b.memory().write32(((long) MAP_GFN << 12) + 4, 0x99);
    assertThat(a.memory().read32(((long) PAGE_GFN << 12) + 4)).isEqualTo(0x99);
    // Once unmapped, the same call gives the frame back.
    assertThat(unmap(b, MAP_GFN, r[1])).isEqualTo(GNTST_OKAY);
    assertThat(decreaseReservation(a, EventChannelOp.DOMID_SELF, PAGE_GFN)).isEqualTo(1);
    assertThat(a.p2m().lookup(PAGE_GFN)).isEqualTo(org.hospes.hv.memory.P2m.INVALID);
    assertThat(hv.frames().freeFrames()).isEqualTo(free + 1);
  }

  @Test
  void decreaseReservationNamingAnotherDomainDoesNothing() {
    long frame = b.p2m().lookup(0x120);
    b.memory().write32(0x120L << 12, 0x4321);
    long free = hv.frames().freeFrames();
    // Xen 4.17 (do_memory_op) answers a refused domain with the start extent, 0: no errno.
    assertThat(decreaseReservation(a, b.domid(), 0x120)).isZero();
    assertThat(decreaseReservation(a, 999, 0x120)).isZero();
    assertThat(b.p2m().lookup(0x120)).isEqualTo(frame);
    assertThat(a.p2m().lookup(0x120)).isNotEqualTo(org.hospes.hv.memory.P2m.INVALID);
    assertThat(b.memory().read32(0x120L << 12)).isEqualTo(0x4321);
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
    // The caller's own numeric id is the caller.
    assertThat(decreaseReservation(a, a.domid(), 0x120)).isEqualTo(1);
  }

  @Test
  void aGranterCannotPassOnAFrameItMappedFromAnotherDomain() {
    // c grants a page to a; a maps it and then offers that GFN to b in its own table.
    assertThat(addToPhysmap(c, MemoryOp.SPACE_GRANT_TABLE, 0, GRANT_GFN)).isZero();
    c.memory().write32(0x40000, 0xC0C0_C0C0);
    long ce = ((long) GRANT_GFN << 12) + 8L * ENTRY_SIZE;
    c.memory().write32(ce + ENTRY_FRAME, 0x40);
    c.memory().write16(ce + ENTRY_DOMID, a.domid());
    c.memory().write16(ce + ENTRY_FLAGS, GTF_PERMIT_ACCESS);
    int[] r = map(a, 8, c.domid(), 0x160, GNTMAP_HOST_MAP);
    assertThat(r[0]).isEqualTo(GNTST_OKAY);
    assertThat(a.memory().read32(0x160L << 12)).isEqualTo(0xC0C0_C0C0);
    grant(9, GTF_PERMIT_ACCESS, b.domid(), 0x160);
    // The frame is c's, not a's: a cannot grant it on, by map or by copy.
    assertThat(map(b, 9, a.domid(), MAP_GFN, GNTMAP_HOST_MAP)[0]).isEqualTo(GNTST_BAD_PAGE);
    assertThat(copy(b, 9, a.domid(), 0, 0x20, EventChannelOp.DOMID_SELF, 0, 4,
        GNTCOPY_SOURCE_GREF)).isEqualTo(GNTST_BAD_PAGE);
    assertThat(b.memory().read32(0x20000)).isNotEqualTo(0xC0C0_C0C0);
    assertThat(flags(9)).isEqualTo(GTF_PERMIT_ACCESS);
    assertThat(unmap(a, 0x160, r[1])).isEqualTo(GNTST_OKAY);
  }
}
