package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.HvmOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.MemoryOp;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Calls that name a domain, between a classic PV guest and a translated one, found answered
 * out of Xen's order by HypercallFuzzTest: hvm_op from a PV guest (Xen has it in the pv32
 * column; only the target's kind decides), add_to_physmap naming a PV domain (Xen's
 * xatp_permission_check looks at the target's translation before the permission), and
 * update_va_mapping_otherdomain, which was not offered at all.
 */
class PvSharedHypercallsTest {
  private static final int ARG = 0x9000;
  private static final int NOBODY = 999;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain pv;
  private Domain pvh;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    pv = PvTestDomains.create(hv, "pv");
    pvh = hv.createHvmDomain("pvh", DomainMode.PVH, 2);
  }

  private int pvCall(Hypercall h, int... args) {
    int[] a = java.util.Arrays.copyOf(args, 5);
    return hc.dispatch(pv.vcpus().get(0), h.number(), a[0], a[1], a[2], a[3], a[4]);
  }

  private void put(ByteBuffer b) {
    assertThat(pv.pv().mmu().copyToGuest(ARG, b.array())).isTrue();
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private int param(int cmd, int dom) {
    put(le(HvmOp.PARAM_SIZE).putShort(HvmOp.PARAM_DOMID, (short) dom)
        .putInt(HvmOp.PARAM_INDEX, HvmOp.PARAM_CALLBACK_IRQ).putLong(HvmOp.PARAM_VALUE, 1));
    return pvCall(Hypercall.HVM_OP, cmd, ARG);
  }

  @Test
  void hvmOpFromAPvGuestAnswersByTheTargetsKind() {
    // hvmop_get_param and _set_param: the struct, the domain, then "is it HVM", then XSM.
    assertThat(pvCall(Hypercall.HVM_OP, HvmOp.GET_PARAM, 0x7FFF_F000))
        .isEqualTo(XenErrno.EFAULT.negated());
    assertThat(param(HvmOp.GET_PARAM, NOBODY)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(param(HvmOp.GET_PARAM, EventChannelOp.DOMID_SELF))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(param(HvmOp.SET_PARAM, pv.domid())).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(param(HvmOp.SET_PARAM, pvh.domid())).isEqualTo(XenErrno.EPERM.negated());
    assertThat(param(HvmOp.GET_PARAM, pvh.domid())).isEqualTo(XenErrno.EPERM.negated());
    assertThat(pvh.hvmParam(HvmOp.PARAM_CALLBACK_IRQ)).isZero();
    // Sub-ops it does not know: -ENOSYS, as for any caller.
    assertThat(pvCall(Hypercall.HVM_OP, HvmOp.PAGETABLE_DYING, ARG))
        .isEqualTo(XenErrno.ENOSYS.negated());
  }

  @Test
  void addToPhysmapNamingAPvDomainIsEaccesWhoeverAsks() {
    ByteBuffer atp = le(MemoryOp.ATP_SIZE).putShort(MemoryOp.ATP_DOMID, (short) pvh.domid())
        .putInt(MemoryOp.ATP_SPACE, MemoryOp.SPACE_SHARED_INFO).putInt(MemoryOp.ATP_GPFN, 0x40);
    put(atp);
    assertThat(pvCall(Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, ARG))
        .as("a PV guest naming a translated domain").isEqualTo(XenErrno.EPERM.negated());
    atp.putShort(MemoryOp.ATP_DOMID, (short) EventChannelOp.DOMID_SELF);
    put(atp);
    assertThat(pvCall(Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, ARG))
        .isEqualTo(XenErrno.EACCES.negated());
    // A translated guest naming the PV domain: not translated comes before not permitted.
    atp.putShort(MemoryOp.ATP_DOMID, (short) pv.domid());
    pvh.memory().write(ARG, atp.array(), 0, atp.capacity());
    assertThat(hc.dispatch(pvh.vcpus().get(0), Hypercall.MEMORY_OP.number(),
        MemoryOp.ADD_TO_PHYSMAP, ARG, 0, 0, 0)).isEqualTo(XenErrno.EACCES.negated());
  }

  @Test
  void updateVaMappingOtherdomainNamesTheOwnerOfWhatThePteMaps() {
    int va = 0x14000;
    long own = pv.p2m().lookup(40);
    long pte = own << 12 | 7;
    long theirs = pvh.p2m().lookup(0x10) << 12 | 7;
    int flush = PvMmuAbi.UVMF_INVLPG;
    // get_pg_owner: no such domain, or itself named as foreign.
    assertThat(pvCall(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, va, (int) pte, 0, flush, NOBODY))
        .isEqualTo(XenErrno.ESRCH.negated());
    assertThat(pvCall(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, va, (int) pte, 0, flush,
        pv.domid())).isEqualTo(XenErrno.ESRCH.negated());
    // XSM: a present entry with another owner is refused, whichever frame it names.
    for (long e : new long[] {pte, theirs}) {
      for (int dom : new int[] {pvh.domid(), 0, PvMmuAbi.DOMID_IO}) {
        assertThat(pvCall(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, va, (int) e, 0, flush, dom))
            .as("as %s", dom).isEqualTo(XenErrno.EPERM.negated());
      }
    }
    long before = pv.p2m().lookup(va >>> 12) << 12;
    assertThat(pv.pv().mmu().translate(va, false)).isEqualTo(before);
    // DOMID_SELF is update_va_mapping; the upper bits of the domid argument are not looked at.
    assertThat(pvCall(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, va, (int) pte, 0, flush,
        0x10000 | EventChannelOp.DOMID_SELF)).isZero();
    assertThat(pv.pv().mmu().translate(va, false)).isEqualTo(own << 12);
    // A non-present entry names no frame: allowed whatever the owner, and it is its own L1.
    assertThat(pvCall(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, va, 0, 0, flush, pvh.domid()))
        .isZero();
    assertThat(pv.pv().mmu().translate(va, false)).isEqualTo(-1);
  }
}
