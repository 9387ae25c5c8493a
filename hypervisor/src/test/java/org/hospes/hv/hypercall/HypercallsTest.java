package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.HvmOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.MemoryOp;
import org.hospes.abi.SchedOp;
import org.hospes.abi.VcpuOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Xen ABI corners of the dispatcher: every op that names a domain answers as Xen 4.17 does
 * (DOMID_SELF and the caller's own id are the caller; no such domain, then another domain,
 * each with Xen's error and in its order of checks), and the FIFO event-channel ops a Xen
 * without FIFO in use answers. Guests run with paging off: pointers are guest-physical.
 */
class HypercallsTest {
  private static final int UOP = 0x8000;
  private static final int SELF = EventChannelOp.DOMID_SELF;
  private static final int NOBODY = 999;
  private static final int BAD_PTR = 0x7FF000;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain a;
  private Domain b;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    a = hv.createHvmDomain("a", DomainMode.PVH, 2);
    b = hv.createHvmDomain("b", DomainMode.PVH, 2);
  }

  private int call(Domain d, Hypercall h, int a1, int a2) {
    return hc.dispatch(d.vcpus().get(0), h.number(), a1, a2, 0, 0, 0);
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private void put(Domain d, ByteBuffer b) {
    d.memory().write(UOP, b.array(), 0, b.capacity());
  }

  private int evtchn(Domain d, int cmd, ByteBuffer arg) {
    put(d, arg);
    return call(d, Hypercall.EVENT_CHANNEL_OP, cmd, UOP);
  }

  private int status(Domain d, int dom, int port) {
    return evtchn(d, EventChannelOp.STATUS, le(EventChannelOp.STATUS_SIZE)
        .putShort(EventChannelOp.STATUS_DOM, (short) dom).putInt(EventChannelOp.STATUS_PORT, port));
  }

  @Test
  void evtchnStatusChecksTheDomainThenThePortThenThePermission() {
    int p = a.eventChannels().bindIpi(0);
    assertThat(status(a, SELF, p)).isZero();
    assertThat(a.memory().read32(UOP + EventChannelOp.STATUS_STATUS))
        .isEqualTo(EventChannelOp.STATUS_IPI);
    assertThat(status(a, a.domid(), p)).isZero();
    assertThat(status(a, NOBODY, p)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(status(a, b.domid(), 5000)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(status(a, b.domid(), 1)).isEqualTo(XenErrno.EPERM.negated());
    assertThat(status(a, SELF, -1)).isEqualTo(XenErrno.EINVAL.negated());
  }

  @Test
  void evtchnAllocUnboundAndResetNameDomainsAsXenDoes() {
    ByteBuffer alloc = le(EventChannelOp.ALLOC_UNBOUND_SIZE)
        .putShort(EventChannelOp.ALLOC_UNBOUND_DOM, (short) SELF)
        .putShort(EventChannelOp.ALLOC_UNBOUND_REMOTE_DOM, (short) NOBODY);
    assertThat(evtchn(a, EventChannelOp.ALLOC_UNBOUND, alloc)).isZero();
    int port = a.memory().read32(UOP + EventChannelOp.ALLOC_UNBOUND_PORT);
    assertThat(a.eventChannels().status(port)[2]).isEqualTo(NOBODY);
    alloc.putShort(EventChannelOp.ALLOC_UNBOUND_DOM, (short) NOBODY);
    assertThat(evtchn(a, EventChannelOp.ALLOC_UNBOUND, alloc)).isEqualTo(XenErrno.ESRCH.negated());
    alloc.putShort(EventChannelOp.ALLOC_UNBOUND_DOM, (short) b.domid());
    assertThat(evtchn(a, EventChannelOp.ALLOC_UNBOUND, alloc)).isEqualTo(XenErrno.EPERM.negated());

    // EVTCHNOP_reset: only the caller's own ports; they are all closed.
    int bp = b.eventChannels().allocUnbound(SELF, a.domid());
    int ap = a.eventChannels().bindInterdomain(b.domid(), bp);
    ByteBuffer reset = le(2).putShort(EventChannelOp.RESET_DOM, (short) b.domid());
    assertThat(evtchn(a, EventChannelOp.RESET, reset)).isEqualTo(XenErrno.EPERM.negated());
    reset.putShort(0, (short) NOBODY);
    assertThat(evtchn(a, EventChannelOp.RESET, reset)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(a.eventChannels().status(ap)[0]).isEqualTo(EventChannelOp.STATUS_INTERDOMAIN);
    reset.putShort(0, (short) SELF);
    assertThat(evtchn(a, EventChannelOp.RESET, reset)).isZero();
    assertThat(a.eventChannels().status(ap)[0]).isEqualTo(EventChannelOp.STATUS_CLOSED);
    assertThat(a.eventChannels().status(port)[0]).isEqualTo(EventChannelOp.STATUS_CLOSED);
    assertThat(b.eventChannels().status(bp)[0]).isEqualTo(EventChannelOp.STATUS_UNBOUND);
    assertThat(call(a, Hypercall.EVENT_CHANNEL_OP, EventChannelOp.RESET, BAD_PTR))
        .isEqualTo(XenErrno.EFAULT.negated());
  }

  private int initControl(long gfn, int offset, int vcpu) {
    return evtchn(a, EventChannelOp.INIT_CONTROL, le(EventChannelOp.INIT_CONTROL_SIZE)
        .putLong(EventChannelOp.INIT_CONTROL_GFN, gfn)
        .putInt(EventChannelOp.INIT_CONTROL_OFFSET, offset)
        .putInt(EventChannelOp.INIT_CONTROL_VCPU, vcpu)
        .put(EventChannelOp.INIT_CONTROL_LINK_BITS, (byte) 0x5A));
  }

  @Test
  void initControlRunsXensChecksInOrderThenAnswersEnosys() {
    long ram = 0x100;
    long hole = 0xFFFFF;
    // vCPU first: it wins over a bad offset and a bad gfn.
    assertThat(initControl(hole, 3, 1)).isEqualTo(XenErrno.ENOENT.negated());
    assertThat(initControl(ram, 0, -1)).isEqualTo(XenErrno.ENOENT.negated());
    // Then the offset: the 72-byte control block must not cross the page...
    assertThat(initControl(hole, 4096 - 72 + 8, 0)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(initControl(ram, -8, 0)).isEqualTo(XenErrno.EINVAL.negated());
    // ...and must be 8-byte aligned.
    assertThat(initControl(ram, 4, 0)).isEqualTo(XenErrno.EINVAL.negated());
    // Then the frame: a RAM page of the domain.
    assertThat(initControl(hole, 0, 0)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(initControl(1L << 40, 0, 0)).isEqualTo(XenErrno.EINVAL.negated());
    // All good: FIFO is not offered, -ENOSYS, and link_bits is left alone.
    assertThat(initControl(ram, 4096 - 72, 0)).isEqualTo(XenErrno.ENOSYS.negated());
    assertThat(a.memory().read8(UOP + EventChannelOp.INIT_CONTROL_LINK_BITS)).isEqualTo(0x5A);
    assertThat(call(a, Hypercall.EVENT_CHANNEL_OP, EventChannelOp.INIT_CONTROL, BAD_PTR))
        .isEqualTo(XenErrno.EFAULT.negated());
  }

  @Test
  void expandArrayAndSetPriorityAnswerAsXenWithoutFifo() {
    assertThat(evtchn(a, EventChannelOp.EXPAND_ARRAY, le(8).putLong(0, 0x100)))
        .isEqualTo(XenErrno.EOPNOTSUPP.negated());
    assertThat(call(a, Hypercall.EVENT_CHANNEL_OP, EventChannelOp.EXPAND_ARRAY, BAD_PTR))
        .isEqualTo(XenErrno.EFAULT.negated());
    int p = a.eventChannels().bindIpi(0);
    assertThat(evtchn(a, EventChannelOp.SET_PRIORITY, le(8).putInt(0, p).putInt(4, 7)))
        .isEqualTo(XenErrno.ENOSYS.negated());
    assertThat(evtchn(a, EventChannelOp.SET_PRIORITY, le(8).putInt(0, 5000).putInt(4, 7)))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(call(a, Hypercall.EVENT_CHANNEL_OP, EventChannelOp.SET_PRIORITY, BAD_PTR))
        .isEqualTo(XenErrno.EFAULT.negated());
  }

  private int param(Domain d, int cmd, int dom, int index, long value) {
    put(d, le(HvmOp.PARAM_SIZE).putShort(HvmOp.PARAM_DOMID, (short) dom)
        .putInt(HvmOp.PARAM_INDEX, index).putLong(HvmOp.PARAM_VALUE, value));
    return call(d, Hypercall.HVM_OP, cmd, UOP);
  }

  @Test
  void hvmParamsCheckTheDomainThenTheIndexThenThePermission() {
    long cb = 2L << 56 | 0xF3;
    assertThat(param(a, HvmOp.SET_PARAM, SELF, HvmOp.PARAM_CALLBACK_IRQ, cb)).isZero();
    assertThat(param(a, HvmOp.GET_PARAM, a.domid(), HvmOp.PARAM_CALLBACK_IRQ, 0)).isZero();
    assertThat(a.memory().read32(UOP + HvmOp.PARAM_VALUE + 4)).isEqualTo(2 << 24);
    assertThat(param(a, HvmOp.GET_PARAM, NOBODY, 0, 0)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(param(a, HvmOp.SET_PARAM, NOBODY, 99, 0)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(param(a, HvmOp.GET_PARAM, b.domid(), 99, 0)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(param(a, HvmOp.GET_PARAM, b.domid(), HvmOp.PARAM_STORE_PFN, 0))
        .isEqualTo(XenErrno.EPERM.negated());
    assertThat(param(a, HvmOp.SET_PARAM, b.domid(), HvmOp.PARAM_CALLBACK_IRQ, cb))
        .isEqualTo(XenErrno.EPERM.negated());
    assertThat(b.hvmParam(HvmOp.PARAM_CALLBACK_IRQ)).isZero();
  }

  @Test
  void getVnumainfoChecksItsArgumentThenSaysNoTopology() {
    ByteBuffer t = le(MemoryOp.VNUMA_SIZE).putShort(MemoryOp.VNUMA_DOMID, (short) SELF);
    put(a, t);
    int op = MemoryOp.GET_VNUMAINFO;
    // Xen's order: the copy, the start extent, the pad, the domain, XSM_TARGET, the topology.
    assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isEqualTo(XenErrno.EOPNOTSUPP.negated());
    t.putShort(MemoryOp.VNUMA_DOMID, (short) a.domid());
    put(a, t);
    assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isEqualTo(XenErrno.EOPNOTSUPP.negated());
    assertThat(call(a, Hypercall.MEMORY_OP, op | 1 << MemoryOp.EXTENT_SHIFT, UOP))
        .isEqualTo(XenErrno.EINVAL.negated());
    t.putShort(MemoryOp.VNUMA_DOMID, (short) b.domid());
    put(a, t);
    assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isEqualTo(XenErrno.EPERM.negated());
    t.putShort(MemoryOp.VNUMA_DOMID, (short) NOBODY);
    put(a, t);
    assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isEqualTo(XenErrno.ESRCH.negated());
    t.putShort(MemoryOp.VNUMA_PAD, (short) 1);
    put(a, t);
    assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isEqualTo(XenErrno.EINVAL.negated());
    // The 40-byte struct must be readable: its last byte past the guest's memory is -EFAULT
    // (before the start extent is looked at).
    int end = (int) a.p2m().ramFrames() << 12;
    assertThat(call(a, Hypercall.MEMORY_OP, op | 1 << MemoryOp.EXTENT_SHIFT,
        end - MemoryOp.VNUMA_SIZE + 1)).isEqualTo(XenErrno.EFAULT.negated());
  }

  @Test
  void memoryOpsNamingADomainCheckItAsXenDoes() {
    for (int op : new int[] {MemoryOp.CURRENT_RESERVATION, MemoryOp.MAXIMUM_RESERVATION}) {
      a.memory().write16(UOP, SELF);
      assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isPositive();
      a.memory().write16(UOP, a.domid());
      assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isPositive();
      a.memory().write16(UOP, NOBODY);
      assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isEqualTo(XenErrno.ESRCH.negated());
      a.memory().write16(UOP, b.domid());
      assertThat(call(a, Hypercall.MEMORY_OP, op, UOP)).isEqualTo(XenErrno.EPERM.negated());
    }
    ByteBuffer atp = le(MemoryOp.ATP_SIZE).putShort(MemoryOp.ATP_DOMID, (short) NOBODY)
        .putInt(MemoryOp.ATP_SPACE, MemoryOp.SPACE_SHARED_INFO).putInt(MemoryOp.ATP_GPFN, 0x1F0);
    put(a, atp);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, UOP))
        .isEqualTo(XenErrno.ESRCH.negated());
    atp.putShort(MemoryOp.ATP_DOMID, (short) b.domid());
    put(a, atp);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, UOP))
        .isEqualTo(XenErrno.EPERM.negated());
    // gmfn_foreign is refused before the domain is looked at.
    atp.putShort(MemoryOp.ATP_DOMID, (short) NOBODY).putInt(MemoryOp.ATP_SPACE,
        MemoryOp.SPACE_GMFN_FOREIGN);
    put(a, atp);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, UOP))
        .isEqualTo(XenErrno.ENOSYS.negated());
    atp.putShort(MemoryOp.ATP_DOMID, (short) a.domid()).putInt(MemoryOp.ATP_SPACE,
        MemoryOp.SPACE_SHARED_INFO);
    put(a, atp);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, UOP)).isZero();
    assertThat(a.p2m().lookup(0x1F0)).isEqualTo(a.sharedInfoMfn());
  }

  @Test
  void reservationOpsAnswerRefusalsWithTheStartExtentNotAnErrno() {
    long frame = a.p2m().lookup(0x120);
    ByteBuffer r = le(MemoryOp.RES_SIZE).putInt(MemoryOp.RES_EXTENT_START, UOP + 0x40)
        .putInt(MemoryOp.RES_NR_EXTENTS, 1).putShort(MemoryOp.RES_DOMID, (short) SELF);
    a.memory().write32(UOP + 0x40, 0x120);
    // Order past the domU limit (9), a count too large to continue, an unreadable list.
    r.putInt(MemoryOp.RES_EXTENT_ORDER, 10);
    put(a, r);
    a.memory().write32(UOP + 0x40, 0x120);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.DECREASE_RESERVATION, UOP)).isZero();
    r.putInt(MemoryOp.RES_EXTENT_ORDER, 0).putInt(MemoryOp.RES_NR_EXTENTS, 1 << 27);
    put(a, r);
    a.memory().write32(UOP + 0x40, 0x120);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.DECREASE_RESERVATION, UOP)).isZero();
    r.putInt(MemoryOp.RES_NR_EXTENTS, 1).putInt(MemoryOp.RES_EXTENT_START, BAD_PTR);
    put(a, r);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.DECREASE_RESERVATION, UOP)).isZero();
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.POPULATE_PHYSMAP, BAD_PTR)).isZero();
    assertThat(a.p2m().lookup(0x120)).isEqualTo(frame);
  }

  @Test
  void remoteShutdownIsForDeviceModelsAndTheControlDomainOnly() {
    ByteBuffer rs = le(8).putShort(SchedOp.REMOTE_SHUTDOWN_DOMID, (short) b.domid())
        .putInt(SchedOp.REMOTE_SHUTDOWN_REASON, SchedOp.SHUTDOWN_POWEROFF);
    put(a, rs);
    assertThat(call(a, Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, UOP))
        .isEqualTo(XenErrno.EPERM.negated());
    rs.putShort(0, (short) a.domid());
    put(a, rs);
    assertThat(call(a, Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, UOP))
        .isEqualTo(XenErrno.EPERM.negated());
    // rcu_lock_domain_by_id: DOMID_SELF names no domain here.
    rs.putShort(0, (short) SELF);
    put(a, rs);
    assertThat(call(a, Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, UOP))
        .isEqualTo(XenErrno.ESRCH.negated());
    assertThat(call(a, Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, BAD_PTR))
        .isEqualTo(XenErrno.EFAULT.negated());
    assertThat(b.state()).isNotEqualTo(DomainState.SHUTDOWN);
  }

  private int reservation(Domain d, int op, int gfn) {
    ByteBuffer r = le(MemoryOp.RES_SIZE).putInt(MemoryOp.RES_EXTENT_START, UOP + 0x40)
        .putInt(MemoryOp.RES_NR_EXTENTS, 1).putShort(MemoryOp.RES_DOMID, (short) SELF);
    put(d, r);
    d.memory().write32(UOP + 0x40, gfn);
    return call(d, Hypercall.MEMORY_OP, op, UOP);
  }

  private int reservations(Domain d, int op, int order, int... gfns) {
    ByteBuffer r = le(MemoryOp.RES_SIZE).putInt(MemoryOp.RES_EXTENT_START, UOP + 0x40)
        .putInt(MemoryOp.RES_NR_EXTENTS, gfns.length).putInt(MemoryOp.RES_EXTENT_ORDER, order)
        .putShort(MemoryOp.RES_DOMID, (short) SELF);
    put(d, r);
    for (int i = 0; i < gfns.length; i++) {
      d.memory().write32(UOP + 0x40 + 4 * i, gfns[i]);
    }
    return call(d, Hypercall.MEMORY_OP, op, UOP);
  }

  /**
   * Found by HypercallFuzzTest: every extent populate_physmap completes is a new allocation of
   * its whole size, refused past the maximum reservation, even where the frames are already
   * there. Counting such extents as free successes let a list of zeros (millions of them, each
   * an order-9 walk) keep the hypervisor busy for as long as the guest liked.
   */
  @Test
  void populatePhysmapCannotGoPastTheMaximumReservationOverFramesAlreadyThere() {
    assertThat(reservations(a, MemoryOp.POPULATE_PHYSMAP, 0, 0x10, 0x10, 0x11)).isZero();
    assertThat(reservations(a, MemoryOp.POPULATE_PHYSMAP, 9, 0, 0)).isZero();
    // One frame given back is room for one order-0 extent, whatever else the list names.
    assertThat(reservations(a, MemoryOp.DECREASE_RESERVATION, 0, 0x1C0)).isEqualTo(1);
    assertThat(reservations(a, MemoryOp.POPULATE_PHYSMAP, 9, 0x1C0)).as("no room for 512")
        .isZero();
    assertThat(reservations(a, MemoryOp.POPULATE_PHYSMAP, 0, 0x1C0, 0x10, 0x1C0)).isEqualTo(1);
    assertThat(a.p2m().lookup(0x1C0)).isNotEqualTo(org.hospes.hv.memory.P2m.INVALID);
    // Two given back, two extents: an extent over a populated frame still takes its room.
    assertThat(reservations(a, MemoryOp.DECREASE_RESERVATION, 0, 0x1C0, 0x1C1)).isEqualTo(2);
    assertThat(reservations(a, MemoryOp.POPULATE_PHYSMAP, 0, 0x10, 0x1C0, 0x1C1)).isEqualTo(2);
    assertThat(a.p2m().lookup(0x1C1)).isEqualTo(org.hospes.hv.memory.P2m.INVALID);
  }

  @Test
  void ballooningKeepsFramesTheHypervisorStillUsesAndRefillsWithZeroes() {
    // shared_info mapped at 0x1F0, a vcpu_info registered in the frame at 0x1E0.
    ByteBuffer atp = le(MemoryOp.ATP_SIZE).putShort(MemoryOp.ATP_DOMID, (short) SELF)
        .putInt(MemoryOp.ATP_SPACE, MemoryOp.SPACE_SHARED_INFO).putInt(MemoryOp.ATP_GPFN, 0x1F0);
    put(a, atp);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, UOP)).isZero();
    put(a, le(VcpuOp.REGISTER_VCPU_INFO_SIZE).putLong(VcpuOp.REGISTER_VCPU_INFO_MFN, 0x1E0)
        .putInt(VcpuOp.REGISTER_VCPU_INFO_OFFSET, 64));
    assertThat(hc.dispatch(a.vcpus().get(0), Hypercall.VCPU_OP.number(),
        VcpuOp.REGISTER_VCPU_INFO, 0, UOP, 0, 0)).isZero();
    long info = a.p2m().lookup(0x1E0);
    assertThat(reservation(a, MemoryOp.DECREASE_RESERVATION, 0x1F0)).isZero();
    assertThat(a.p2m().lookup(0x1F0)).isEqualTo(a.sharedInfoMfn());
    assertThat(reservation(a, MemoryOp.DECREASE_RESERVATION, 0x1E0)).isZero();
    assertThat(a.p2m().lookup(0x1E0)).isEqualTo(info);
    // An ordinary page goes, and comes back zeroed even though its old frame held data.
    a.memory().write32(0x1D0L << 12, 0x5EC2_E7);
    assertThat(reservation(a, MemoryOp.DECREASE_RESERVATION, 0x1D0)).isEqualTo(1);
    b.memory().write32(0x1D1L << 12, 0);
    // Another domain's populate must not see the secret either.
    assertThat(reservation(b, MemoryOp.DECREASE_RESERVATION, 0x1D1)).isEqualTo(1);
    assertThat(reservation(b, MemoryOp.POPULATE_PHYSMAP, 0x1D1)).isEqualTo(1);
    assertThat(reservation(a, MemoryOp.POPULATE_PHYSMAP, 0x1D0)).isEqualTo(1);
    for (int off = 0; off < 4096; off += 4) {
      assertThat(a.memory().read32((0x1D0L << 12) + off)).isZero();
      assertThat(b.memory().read32((0x1D1L << 12) + off)).isZero();
    }
  }

  @Test
  void framesGivenUpGoBackToTheHeapAndCostNothingUntilWrittenAgain() {
    MemoryBus machine = hv.machineMemory();
    // Two pages of a written: a balloon decrease returns the storage of the one it gives up.
    a.memory().write32(0x1C0L << 12, 0x1234);
    a.memory().write32(0x1C1L << 12, 0x5678);
    long frame = a.p2m().lookup(0x1C0);
    assertThat(machine.isBacked(frame)).isTrue();
    assertThat(reservation(a, MemoryOp.DECREASE_RESERVATION, 0x1C0)).isEqualTo(1);
    assertThat(machine.isBacked(frame)).isFalse();
    assertThat(a.memory().read32(0x1C1L << 12)).isEqualTo(0x5678);
    // Destroying b gives back the storage of every frame it touched: RAM and the rest.
    for (long gfn = 0x100; gfn < 0x140; gfn++) {
      b.memory().write32(gfn << 12, (int) gfn);
    }
    java.util.List<Long> bFrames = new java.util.ArrayList<>();
    for (long mfn = 0; mfn < machine.ramSize() >>> 12; mfn++) {
      if (hv.frames().owner(mfn) == b.domid() && machine.isBacked(mfn)) {
        bFrames.add(mfn);
      }
    }
    assertThat(bFrames).hasSizeGreaterThanOrEqualTo(0x40);
    long backed = machine.backedFrames();
    hv.destroy(b, "test");
    assertThat(bFrames).noneMatch(machine::isBacked);
    assertThat(machine.backedFrames()).isLessThanOrEqualTo(backed - bFrames.size());
    assertThat(a.memory().read32(0x1C1L << 12)).isEqualTo(0x5678);
    // A frame given back and handed out again reads as zeros and is backed again by a write.
    assertThat(reservation(a, MemoryOp.POPULATE_PHYSMAP, 0x1C0)).isEqualTo(1);
    assertThat(a.memory().read32(0x1C0L << 12)).isZero();
    a.memory().write32(0x1C0L << 12, 7);
    assertThat(a.memory().read32(0x1C0L << 12)).isEqualTo(7);
    assertThat(machine.isBacked(a.p2m().lookup(0x1C0))).isTrue();
  }

  @Test
  void grantFramesMappedAboveRamDoNotLetTheGuestBalloonUpThere() {
    // Where a PVHVM guest puts its grant table: the platform device's BAR1 at 0xF0000000.
    ByteBuffer atp = le(MemoryOp.ATP_SIZE).putShort(MemoryOp.ATP_DOMID, (short) SELF)
        .putInt(MemoryOp.ATP_SPACE, MemoryOp.SPACE_GRANT_TABLE).putInt(MemoryOp.ATP_IDX, 0)
        .putInt(MemoryOp.ATP_GPFN, 0xF0000);
    put(a, atp);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, UOP)).isZero();
    assertThat(a.p2m().lookup(0xF0000)).isNotEqualTo(org.hospes.hv.memory.P2m.INVALID);
    // The hole between RAM and the BAR stays a hole, the grant frame stays, and the maximum
    // reservation is still the RAM.
    long free = hv.frames().freeFrames();
    assertThat(reservation(a, MemoryOp.POPULATE_PHYSMAP, 0x300)).isZero();
    assertThat(reservation(a, MemoryOp.DECREASE_RESERVATION, 0xF0000)).isZero();
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
    a.memory().write16(UOP, SELF);
    assertThat(call(a, Hypercall.MEMORY_OP, MemoryOp.MAXIMUM_RESERVATION, UOP))
        .isEqualTo(0x200);
  }
  @Test
  void aFrameGivenBackWhileForeignMappedStaysItsOwnersUntilTheLastUnmap() {
    // dom0 maps a's page 0x1D0 twice (a device model's map cache and a backend's ring, say).
    long mfn = a.p2m().lookup(0x1D0);
    org.hospes.hv.control.ForeignPage first = hv.control().mapForeign(a.domid(), 0x1D0);
    org.hospes.hv.control.ForeignPage second = hv.control().mapForeign(a.domid(), 0x1D0);
    int free = hv.frames().freeFrames();
    // guest_remove_page: the balloon works, the frame leaves a's P2M ...
    assertThat(reservation(a, MemoryOp.DECREASE_RESERVATION, 0x1D0)).isEqualTo(1);
    assertThat(a.p2m().lookup(0x1D0)).isEqualTo(org.hospes.hv.memory.P2m.INVALID);
    // ... but the mappings' references keep it a's: no populate can be handed it.
    assertThat(hv.frames().owner(mfn)).isEqualTo(a.domid());
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
    assertThat(reservation(b, MemoryOp.DECREASE_RESERVATION, 0x1D1)).isEqualTo(1);
    assertThat(reservation(b, MemoryOp.POPULATE_PHYSMAP, 0x1D1)).isEqualTo(1);
    assertThat(b.p2m().lookup(0x1D1)).isNotEqualTo(mfn);
    first.write32(0, 0xBAD);
    for (long gfn = 0; gfn < b.p2m().ramFrames(); gfn++) {
      assertThat(b.p2m().lookup(gfn)).isNotEqualTo(mfn);
    }
    assertThat(b.memory().read32(0x1D1L << 12)).isZero();
    first.unmap();
    assertThat(hv.frames().owner(mfn)).isEqualTo(a.domid());
    // The last unmap frees it.
    second.unmap();
    assertThat(hv.frames().owner(mfn)).isEqualTo(org.hospes.hv.memory.FrameTable.FREE);
  }
}
