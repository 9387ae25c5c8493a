package org.hospes.hv.pv;

import static org.hospes.abi.PvMmuAbi.*;

import java.util.function.IntPredicate;
import org.hospes.abi.XenErrno;
import org.hospes.x86.PhysicalMemory;

/**
 * The PV MMU hypercalls of one PAE PV32 domain with one vCPU, as Xen 4.17's do_mmu_update,
 * do_update_va_mapping and do_mmuext_op answer them: batches copied in from guest virtual
 * addresses through the domain's own current tables, each request checked by {@link
 * PvPageTables}, the count of requests done written back. The vCPU's base pointer (the L3 its
 * CR3 names), its LDT and its TLB are held here; the processor is reached through {@link Tlb}.
 */
public final class PvMmu {
  /** The vCPU's translation hardware as the hypervisor drives it. */
  public interface Tlb {
    void flushAll();

    void invlpg(int va);

    /** Loads CR3 with the machine address of a validated L3 (PDPTEs and TLB reloaded). */
    void loadBase(long l3MachineAddress);
  }

  /** Where the processor sees the LDT (Xen's per-vCPU shadow LDT mapping and LDTR). */
  public interface LdtShadow {
    /** MMUEXT_SET_LDT took effect with {@code entries} descriptors (0: no LDT). */
    void loaded(int entries);

    /** The LDT pages mapped so far were dropped (pv_destroy_ldt). */
    void dropped();
  }

  private LdtShadow ldtShadow = new LdtShadow() {
    @Override
    public void loaded(int entries) {}

    @Override
    public void dropped() {}
  };

  /** MMU_UPDATE_PREEMPTED: the continuation bit of the count. */
  private static final int PREEMPTED = 0x8000_0000;
  /** An LDT of 8192 descriptors spans 16 pages. */
  private static final int LDT_MAX_PAGES = 16;

  private final PvPageTables tables;
  private final PageInfo info;
  private final MachToPhys m2p;
  private final PhysicalMemory machine;
  private final Tlb tlb;
  private final IntPredicate domainExists;
  private long baseMfn = -1;
  private int ldtBase;
  private int ldtEnts;
  /** Frames of the LDT mapped so far (Xen's shadow LDT, filled on first use), or -1. */
  private final long[] ldtFrames = new long[LDT_MAX_PAGES];

  public PvMmu(PvPageTables tables, MachToPhys m2p, PhysicalMemory machine, Tlb tlb,
      IntPredicate domainExists) {
    this.tables = tables;
    this.info = tables.info();
    this.m2p = m2p;
    this.machine = machine;
    this.tlb = tlb;
    this.domainExists = domainExists;
    java.util.Arrays.fill(ldtFrames, -1);
    tables.onSegDescUnmapped(this::destroyLdt);
    tables.onTypeChangeFlush(tlb::flushAll);
    long[] m2pSlots = m2p.l2Entries();
    for (int i = 0; i < m2pSlots.length; i++) {
      tables.setXenL2Slot(PvPageTables.FIRST_XEN_L2_SLOT + i, m2pSlots[i]);
    }
  }

  public PvPageTables tables() {
    return tables;
  }

  /** Machine frame of the current base (L3), or -1. */
  public long baseMfn() {
    return baseMfn;
  }

  public void setLdtShadow(LdtShadow shadow) {
    ldtShadow = shadow;
  }

  public int ldtBase() {
    return ldtBase;
  }

  public int ldtEntries() {
    return ldtEnts;
  }

  /** The frame mapped for LDT page {@code page} so far, or -1 (for checks of the counts). */
  long ldtFrame(int page) {
    return ldtFrames[page];
  }

  // ---- guest virtual memory through the current tables -------------------------------------

  /**
   * The machine address of guest linear {@code va} through the current base, as a ring-0 copy
   * sees it (present at every level; for a write, RW in the L2 and L1 entries), or -1.
   */
  public long translate(int va, boolean write) {
    if (baseMfn < 0) {
      return -1;
    }
    long l3e = machine.read64((baseMfn << 12) + 8L * (va >>> 30));
    if ((l3e & PvPageTables.P) == 0) {
      return -1;
    }
    long l2e = machine.read64((l3e & PvPageTables.ADDR) + 8L * ((va >>> 21) & 511));
    if ((l2e & PvPageTables.P) == 0 || (l2e & PvPageTables.PS) != 0
        || (write && (l2e & PvPageTables.RW) == 0)) {
      return -1;
    }
    long l1e = machine.read64((l2e & PvPageTables.ADDR) + 8L * ((va >>> 12) & 511));
    if ((l1e & PvPageTables.P) == 0 || (write && (l1e & PvPageTables.RW) == 0)) {
      return -1;
    }
    return (l1e & PvPageTables.ADDR) | (va & 0xFFF);
  }

  /** copy_from_guest: false (EFAULT) if any byte is unmapped. */
  public boolean copyFromGuest(int va, byte[] dst) {
    for (int i = 0; i < dst.length; i++) {
      long ma = translate(va + i, false);
      if (ma < 0) {
        return false;
      }
      dst[i] = (byte) machine.read8(ma);
    }
    return true;
  }

  /** copy_to_guest: false (EFAULT) if any byte is not mapped writable. */
  public boolean copyToGuest(int va, byte[] src) {
    for (int i = 0; i < src.length; i++) {
      if (translate(va + i, true) < 0) {
        return false;
      }
    }
    for (int i = 0; i < src.length; i++) {
      machine.write8(translate(va + i, true), src[i]);
    }
    return true;
  }

  private static long le64(byte[] b, int off) {
    long v = 0;
    for (int i = 7; i >= 0; i--) {
      v = v << 8 | (b[off + i] & 0xFF);
    }
    return v;
  }

  static int le32(byte[] b, int off) {
    return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16
        | (b[off + 3] & 0xFF) << 24;
  }

  private void writeDone(int pdone, int done) {
    if (pdone != 0) {
      copyToGuest(pdone, new byte[] {(byte) done, (byte) (done >>> 8), (byte) (done >>> 16),
          (byte) (done >>> 24)});
    }
  }

  /**
   * guest_handle_okay for a PV32 guest: the array of {@code count} items of {@code size} bytes
   * at {@code va} lies wholly below the hypervisor hole.
   */
  public static boolean rangeOkay(int va, long count, int size) {
    return (va & 0xFFFF_FFFFL) + count * size <= (HYPERVISOR_VIRT_START & 0xFFFF_FFFFL);
  }

  /** get_pg_owner and the XSM check for a domU: 0 for itself, else the errno. */
  private int foreignCheck(int dom) {
    if (dom == DOMID_SELF) {
      return 0;
    }
    if (dom == tables.domid()) {
      return XenErrno.ESRCH.negated(); // "Cannot specify itself as foreign domain"
    }
    if (dom == DOMID_IO || dom == DOMID_XEN || domainExists.test(dom)) {
      return XenErrno.EPERM.negated(); // XSM: a domU has no privilege over another
    }
    return XenErrno.ESRCH.negated();
  }

  // ---- mmu_update ----------------------------------------------------------------------------

  /** HYPERVISOR_mmu_update(reqs, count, success_count, foreigndom), never preempted. */
  public int mmuUpdate(int reqs, int count, int pdone, int foreigndom) {
    return mmuUpdate(reqs, count, pdone, foreigndom, i -> false);
  }

  /**
   * HYPERVISOR_mmu_update as Xen 4.17's do_mmu_update answers a PV32 guest (its compat table
   * calls do_mmu_update itself), in its order: count MMU_UPDATE_PREEMPTED with no requests is a
   * continuation's last leg and returns foreigndom as it is; on a count carrying the PREEMPTED
   * bit the bit is taken off and pdone's value read (the earlier legs' work); the whole array
   * must lie below the hypervisor hole (-EFAULT); the page-table owner in foreigndom's upper half
   * (no such domain -ESRCH); the page owner (-ESRCH, pdone written). Then the requests run in
   * order, stopping at the first error; another owner is refused (XSM, -EPERM) by the first
   * request that names a command. Before every request but the first, {@code preempt} (given the
   * requests done so far in this leg) may stop the call: it then leaves a {@link Continuation}
   * for the requests not done, the count marked PREEMPTED, and returns 0. pdone, if given, gets
   * what it held on a PREEMPTED leg (else 0) plus the requests done in this leg: after the last
   * leg the total, after an error the index of the failing request.
   */
  public int mmuUpdate(int reqs, int count, int pdone, int foreigndom, IntPredicate preempt) {
    continuation = null;
    if (count == PREEMPTED && reqs == 0) {
      return foreigndom;
    }
    int done = 0;
    if ((count & PREEMPTED) != 0) {
      count &= ~PREEMPTED;
      byte[] word = new byte[4];
      if (pdone != 0 && copyFromGuest(pdone, word)) {
        done = le32(word, 0);
      }
    }
    if (!rangeOkay(reqs, count, MMU_SIZE)) {
      return XenErrno.EFAULT.negated();
    }
    int ptDom = foreigndom >>> 16;
    int refusal = 0; // xsm_mmu_update's answer for another domain's tables or pages
    if (ptDom != 0 && ptDom - 1 != tables.domid()) {
      if (!domainExists.test(ptDom - 1)) {
        return XenErrno.ESRCH.negated();
      }
      refusal = XenErrno.EPERM.negated();
    }
    // DOMID_IO is a page owner get_pg_owner finds (dom_io), and xsm_mmu_update does not check
    // it: the requests run, and their own checks (get_page_from_l1e, get_page_from_mfn) find
    // that dom_io owns none of the caller's frames.
    boolean io = (foreigndom & 0xFFFF) == DOMID_IO;
    int foreign = io ? 0 : foreignCheck(foreigndom & 0xFFFF);
    if (foreign == XenErrno.ESRCH.negated()) {
      writeDone(pdone, done); // get_pg_owner failed: "goto out" still adds this leg's none
      return foreign;
    }
    if (foreign != 0) {
      refusal = foreign;
    }
    int rc = 0;
    byte[] req = new byte[MMU_SIZE];
    int i = 0;
    for (; i < count; i++) {
      if (i > 0 && preempt.test(i)) {
        continuation = new Continuation(reqs + i * MMU_SIZE, (count - i) | PREEMPTED);
        break;
      }
      if (!copyFromGuest(reqs + i * MMU_SIZE, req)) {
        rc = XenErrno.EFAULT.negated();
        break;
      }
      long ptr = le64(req, MMU_PTR);
      long val = le64(req, MMU_VAL);
      int cmd = (int) (ptr & 7);
      rc = switch (cmd) {
        case MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_PRESERVE_AD, MMU_PT_UPDATE_NO_TRANSLATE ->
            refusal != 0 ? refusal : normalUpdate(ptr - cmd, val,
                cmd == MMU_PT_UPDATE_PRESERVE_AD, io);
        case MMU_MACHPHYS_UPDATE -> refusal != 0 ? refusal
            : io ? XenErrno.EINVAL.negated() // get_page_from_mfn(mfn, dom_io) fails
            : machphysUpdate(ptr >>> 12, val);
        default -> XenErrno.ENOSYS.negated();
      };
      if (rc != 0) {
        break;
      }
    }
    writeDone(pdone, done + i);
    return rc;
  }

  /** MMU_NORMAL_PT_UPDATE: {@code *ptr = val} checked by the type of the frame at {@code ptr}. */
  public int normalUpdate(long ptr, long val, boolean preserveAd) {
    return normalUpdate(ptr, val, preserveAd, false);
  }

  /**
   * As {@link #normalUpdate(long, long, boolean)}; {@code pgOwnerIo}: the page owner named is
   * DOMID_IO, which only an L1 entry's new mapping consults (mod_l1_entry's pg_dom).
   */
  private int normalUpdate(long ptr, long val, boolean preserveAd, boolean pgOwnerIo) {
    long mfn = ptr >>> 12;
    if (!tables.getPage(mfn)) {
      return XenErrno.EINVAL.negated(); // "Could not get page for normal update"
    }
    int slot = (int) ((ptr & 0xFFF) >>> 3);
    int rc = XenErrno.EINVAL.negated();
    if (info.typeCount(mfn) > 0 && info.isValidated(mfn)) {
      switch (info.type(mfn)) {
        case L1_PAGE_TABLE -> rc = tables.modL1(mfn, slot, val, preserveAd, pgOwnerIo);
        case L2_PAGE_TABLE -> rc = tables.modL2(mfn, slot, val, preserveAd);
        case L3_PAGE_TABLE -> {
          rc = tables.modL3(mfn, slot, val, preserveAd);
          if (rc == 0 && mfn == baseMfn) {
            tlb.loadBase(baseMfn << 12); // a PAE processor caches the PDPTEs
          }
        }
        case WRITABLE_PAGE -> {
          machine.write64(ptr, val);
          rc = 0;
        }
        default -> { } // a descriptor page: -EINVAL
      }
    } else if (tables.getType(mfn, PageType.WRITABLE_PAGE, false) == 0) {
      machine.write64(ptr, val);
      tables.putType(mfn);
      rc = 0;
    }
    tables.putPage(mfn);
    return rc;
  }

  /** MMU_MACHPHYS_UPDATE: the M2P entry of a frame the domain owns. */
  public int machphysUpdate(long mfn, long gpfn) {
    if (!tables.getPage(mfn)) {
      return XenErrno.EINVAL.negated(); // "Could not get page for mach->phys update"
    }
    m2p.set(mfn, (int) gpfn);
    tables.putPage(mfn);
    return 0;
  }

  // ---- update_va_mapping ---------------------------------------------------------------------

  /** HYPERVISOR_update_va_mapping(va, val, flags): the L1 entry of {@code va} becomes {@code val}. */
  public int updateVaMapping(int va, long val, int flags) {
    int rc = XenErrno.EINVAL.negated();
    long l1mfn = l1Of(va);
    if (l1mfn >= 0 && tables.getPage(l1mfn)) {
      if (info.typeCount(l1mfn) > 0 && info.isValidated(l1mfn)
          && info.type(l1mfn) == PageType.L1_PAGE_TABLE) {
        rc = tables.modL1(l1mfn, (va >>> 12) & 511, val, false);
      }
      tables.putPage(l1mfn);
    }
    // The flush is done whatever the update's outcome, as in Xen.
    int type = flags & UVMF_FLUSHTYPE_MASK;
    if (type == UVMF_TLB_FLUSH || type == UVMF_INVLPG) {
      int target = flags & ~UVMF_FLUSHTYPE_MASK;
      boolean flush = true;
      if (target != UVMF_LOCAL && target != UVMF_ALL) {
        int mask = readVcpuMask(target);
        if (mask == Integer.MIN_VALUE) {
          return XenErrno.EFAULT.negated();
        }
        flush = (mask & 1) != 0;
      }
      if (flush) {
        if (type == UVMF_TLB_FLUSH) {
          tlb.flushAll();
        } else {
          tlb.invlpg(va);
        }
      }
    }
    return rc;
  }

  /**
   * HYPERVISOR_update_va_mapping_otherdomain(va, val, flags, domid): update_va_mapping of the
   * caller's own L1 entry, with the frames a present entry names to be owned by {@code domid}.
   * get_pg_owner first (-ESRCH for no such domain, or the caller's own id); then XSM lets a domU
   * name another owner only for an entry that is not present, which names no frame at all
   * (-EPERM otherwise). DOMID_SELF is plain update_va_mapping.
   */
  public int updateVaMappingOtherdomain(int va, long val, int flags, int domid) {
    int foreign = foreignCheck(domid);
    if (foreign == XenErrno.ESRCH.negated()) {
      return foreign;
    }
    if (foreign != 0 && (val & PvPageTables.P) != 0) {
      return foreign;
    }
    return updateVaMapping(va, val, flags);
  }

  /** map_guest_l1e: the L1 frame that maps {@code va} in the current tables, or -1. */
  long l1FrameOf(int va) {
    return l1Of(va);
  }

  /** Flushes the vCPU's TLB (after the grant code rewrote an L1 entry). */
  public void flushTlb() {
    tlb.flushAll();
  }

  private long l1Of(int va) {
    if (baseMfn < 0 || Integer.compareUnsigned(va, HYPERVISOR_VIRT_START) >= 0) {
      return -1;
    }
    long l3e = machine.read64((baseMfn << 12) + 8L * (va >>> 30));
    if ((l3e & PvPageTables.P) == 0) {
      return -1;
    }
    long l2e = machine.read64((l3e & PvPageTables.ADDR) + 8L * ((va >>> 21) & 511));
    if ((l2e & PvPageTables.P) == 0 || (l2e & PvPageTables.PS) != 0) {
      return -1;
    }
    return (l2e & PvPageTables.ADDR) >>> 12;
  }

  /** The first word of a vCPU bitmap (one vCPU), or MIN_VALUE if it cannot be read. */
  private int readVcpuMask(int va) {
    byte[] w = new byte[4];
    return copyFromGuest(va, w) ? le32(w, 0) & 0x7FFF_FFFF : Integer.MIN_VALUE;
  }

  // ---- mmuext_op -----------------------------------------------------------------------------

  /**
   * A preempted call's continuation: the guest makes the same hypercall again (its EIP moved back
   * onto the {@code int 0x82}, EAX the hypercall's number) with these as its first two
   * arguments, the rest unchanged (hypercall_create_continuation).
   */
  public record Continuation(int arg1, int arg2) {}

  private Continuation continuation;

  /**
   * Another PV call of this vCPU (set_trap_table) stopped and leaves {@code k}: the one slot
   * the hypercall entry and the multicall already take continuations from.
   */
  void continueWith(Continuation k) {
    continuation = k;
  }

  /** The continuation the last call left (and forgets it), or null if it completed. */
  public Continuation takeContinuation() {
    Continuation k = continuation;
    continuation = null;
    return k;
  }

  /** HYPERVISOR_mmuext_op(ops, count, success_count, foreigndom), never preempted. */
  public int mmuextOp(int ops, int count, int pdone, int foreigndom) {
    return mmuextOp(ops, count, pdone, foreigndom, i -> false);
  }

  /**
   * HYPERVISOR_mmuext_op as Xen 4.17's compat_mmuext_op and do_mmuext_op answer a PV32 guest,
   * in their order: count MMU_UPDATE_PREEMPTED with no ops is a continuation's last leg and
   * returns foreigndom as it is; the PREEMPTED bit is taken off the count; the whole array must
   * lie below the hypervisor hole (-EFAULT); no ops is 0 at once (no owner check, pdone left
   * alone); the page owner is checked; then the ops run in order, stopping at the first error.
   * Before every op but the first, {@code preempt} (given the ops done so far in this leg) may
   * stop the call: it then leaves a {@link Continuation} for the ops not done, with the count
   * marked PREEMPTED, and returns 0. pdone, if given, gets the ops done: on a leg whose count
   * carried the PREEMPTED bit, added to what pdone held (the earlier legs' work), so when the
   * last leg returns it holds the total, and after an error the index of the failing op.
   */
  public int mmuextOp(int ops, int count, int pdone, int foreigndom, IntPredicate preempt) {
    continuation = null;
    if (count == PREEMPTED && ops == 0) {
      return foreigndom;
    }
    boolean resumed = (count & PREEMPTED) != 0;
    count &= ~PREEMPTED;
    if (!rangeOkay(ops, count, EXT_SIZE)) {
      return XenErrno.EFAULT.negated();
    }
    if (count == 0) {
      return 0;
    }
    int foreign = foreignCheck(foreigndom & 0xFFFF);
    if (foreign != 0) {
      return foreign;
    }
    int done = 0;
    byte[] word = new byte[4];
    if (resumed && pdone != 0 && copyFromGuest(pdone, word)) {
      done = le32(word, 0);
    }
    byte[] op = new byte[EXT_SIZE];
    int rc = 0;
    int i = 0;
    for (; i < count; i++) {
      if (i > 0 && preempt.test(i)) {
        continuation = new Continuation(ops + i * EXT_SIZE, (count - i) | PREEMPTED);
        break;
      }
      if (!copyFromGuest(ops + i * EXT_SIZE, op)) {
        rc = XenErrno.EFAULT.negated();
        break;
      }
      rc = extOp(le32(op, EXT_CMD), le32(op, EXT_ARG1), le32(op, EXT_ARG2));
      if (rc != 0) {
        break;
      }
    }
    writeDone(pdone, done + i);
    return rc;
  }

  /** One mmuext_op for the domain itself. */
  public int extOp(int cmd, int arg1, int arg2) {
    long mfn = arg1 & 0xFFFF_FFFFL;
    return switch (cmd) {
      case MMUEXT_PIN_L1_TABLE -> pin(mfn, PageType.L1_PAGE_TABLE);
      case MMUEXT_PIN_L2_TABLE -> pin(mfn, PageType.L2_PAGE_TABLE);
      case MMUEXT_PIN_L3_TABLE -> pin(mfn, PageType.L3_PAGE_TABLE);
      case MMUEXT_PIN_L4_TABLE -> 0; // ignored for a PV32 guest, as Xen does
      case MMUEXT_UNPIN_TABLE -> unpin(mfn);
      case MMUEXT_NEW_BASEPTR -> newBaseptr(mfn);
      case MMUEXT_NEW_USER_BASEPTR -> XenErrno.EINVAL.negated(); // x86-64 only
      case MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_TLB_FLUSH_ALL -> {
        tlb.flushAll();
        yield 0;
      }
      case MMUEXT_INVLPG_LOCAL, MMUEXT_INVLPG_ALL -> {
        tlb.invlpg(arg1);
        yield 0;
      }
      case MMUEXT_TLB_FLUSH_MULTI, MMUEXT_INVLPG_MULTI -> {
        int mask = readVcpuMask(arg2);
        if (mask == Integer.MIN_VALUE) {
          yield XenErrno.EINVAL.negated();
        }
        if ((mask & 1) != 0) {
          if (cmd == MMUEXT_TLB_FLUSH_MULTI) {
            tlb.flushAll();
          } else {
            tlb.invlpg(arg1);
          }
        }
        yield 0;
      }
      // Cache flushes need an I/O-capable domain.
      case MMUEXT_FLUSH_CACHE -> XenErrno.EACCES.negated();
      case MMUEXT_FLUSH_CACHE_GLOBAL -> XenErrno.EINVAL.negated();
      case MMUEXT_SET_LDT -> setLdt(arg1, arg2);
      case MMUEXT_CLEAR_PAGE -> clearPage(mfn);
      case MMUEXT_COPY_PAGE -> copyPage(mfn, arg2 & 0xFFFF_FFFFL);
      default -> XenErrno.ENOSYS.negated();
    };
  }

  /**
   * MMUEXT_CLEAR_PAGE (what XENFEAT_highmem_assist advertises): the frame must be the domain's
   * (get_page_from_gfn: a PV guest's number is the machine frame) and take the writable type,
   * so no page table or descriptor page in use can be wiped; -EINVAL otherwise, as Xen.
   */
  private int clearPage(long mfn) {
    if (tables.getPageAndType(mfn, PageType.WRITABLE_PAGE, false) != 0) {
      return XenErrno.EINVAL.negated();
    }
    machine.write(mfn << 12, new byte[4096], 0, 4096);
    tables.putPageAndType(mfn);
    return 0;
  }

  /**
   * MMUEXT_COPY_PAGE: copies frame {@code src} over frame {@code dst}. Xen's order: the source
   * must be the domain's (a general reference only: any type may be read), then the destination
   * must be the domain's and take the writable type; either failing is -EINVAL.
   */
  private int copyPage(long dst, long src) {
    if (!tables.getPage(src)) {
      return XenErrno.EINVAL.negated();
    }
    if (tables.getPageAndType(dst, PageType.WRITABLE_PAGE, false) != 0) {
      tables.putPage(src);
      return XenErrno.EINVAL.negated();
    }
    byte[] page = new byte[4096];
    machine.read(src << 12, page, 0, page.length);
    machine.write(dst << 12, page, 0, page.length);
    tables.putPageAndType(dst);
    tables.putPage(src);
    return 0;
  }

  private int pin(long mfn, PageType type) {
    if (!tables.getPage(mfn)) {
      return XenErrno.EINVAL.negated();
    }
    int rc = tables.getType(mfn, type, false);
    if (rc != 0) {
      tables.putPage(mfn);
      return rc;
    }
    if (info.isPinned(mfn)) {
      tables.putPageAndType(mfn); // "already pinned"
      return XenErrno.EINVAL.negated();
    }
    info.setFlag(mfn, PageInfo.PINNED, true);
    return 0;
  }

  private int unpin(long mfn) {
    if (!tables.getPage(mfn)) {
      return XenErrno.EINVAL.negated();
    }
    if (!info.isPinned(mfn)) {
      tables.putPage(mfn);
      return XenErrno.EINVAL.negated(); // "not pinned"
    }
    info.setFlag(mfn, PageInfo.PINNED, false);
    tables.putPageAndType(mfn);
    tables.putPage(mfn);
    return 0;
  }

  /** new_guest_cr3 for a PV32 guest: the new L3 is taken as a validated L3 before the old goes. */
  public int newBaseptr(long mfn) {
    if (mfn == baseMfn) {
      destroyLdt();
      tlb.loadBase(mfn << 12);
      return 0;
    }
    int rc = tables.getPageAndType(mfn, PageType.L3_PAGE_TABLE, false);
    if (rc != 0) {
      return rc;
    }
    long old = baseMfn;
    baseMfn = mfn;
    if (old >= 0) {
      tables.putPageAndType(old);
    }
    destroyLdt();
    tlb.loadBase(mfn << 12);
    return 0;
  }

  private int setLdt(int ptr, int ents) {
    if (ents == 0) {
      ptr = 0;
    }
    if ((ptr & 0xFFF) != 0 || Integer.compareUnsigned(ptr, HYPERVISOR_VIRT_START) >= 0
        || Integer.compareUnsigned(ents, 8192) > 0) {
      return XenErrno.EINVAL.negated(); // "Bad args to SET_LDT"
    }
    if (ents != ldtEnts || ptr != ldtBase) {
      if (destroyLdt()) {
        tlb.flushAll();
      }
      ldtBase = ptr;
      ldtEnts = ents;
      ldtShadow.loaded(ents);
    }
    return 0;
  }

  /**
   * The machine frame holding LDT page {@code page}, mapped on first use as Xen's
   * pv_map_ldt_shadow_page does: the guest page must be mapped and pass as a descriptor page.
   * Returns -1 when it does not (the guest then takes the fault).
   */
  public long ldtPage(int page) {
    if (page < 0 || (long) page * 512 >= ldtEnts) {
      return -1;
    }
    if (ldtFrames[page] >= 0) {
      return ldtFrames[page];
    }
    long ma = translate(ldtBase + page * 4096, false);
    if (ma < 0 || tables.getPageAndType(ma >>> 12, PageType.SEG_DESC_PAGE, false) != 0) {
      return -1;
    }
    ldtFrames[page] = ma >>> 12;
    return ldtFrames[page];
  }

  /** pv_destroy_ldt: drops the mapped LDT pages; true if there were any. */
  private boolean destroyLdt() {
    boolean any = false;
    for (int i = 0; i < LDT_MAX_PAGES; i++) {
      long f = ldtFrames[i];
      if (f >= 0) {
        ldtFrames[i] = -1;
        tables.putPageAndType(f);
        any = true;
      }
    }
    if (any) {
      ldtShadow.dropped();
    }
    return any;
  }

  /**
   * domain_relinquish_resources: the LDT, the base pointer and every pin are dropped, which
   * releases every table's entries in turn. Afterwards no frame of the domain holds a type or a
   * reference, and the frames can go back to the free pool.
   */
  public void relinquish(org.hospes.hv.memory.FrameTable owners) {
    destroyLdt();
    if (baseMfn >= 0) {
      long old = baseMfn;
      baseMfn = -1;
      tables.putPageAndType(old);
    }
    for (long mfn = 0; mfn < info.frames(); mfn++) {
      if (owners.owner(mfn) == tables.domid() && info.isPinned(mfn)) {
        info.setFlag(mfn, PageInfo.PINNED, false);
        tables.putPageAndType(mfn);
      }
    }
  }
}
