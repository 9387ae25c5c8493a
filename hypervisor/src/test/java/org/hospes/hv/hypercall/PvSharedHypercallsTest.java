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

  private int pvhCall(Hypercall h, int... args) {
    int[] a = java.util.Arrays.copyOf(args, 5);
    return hc.dispatch(pvh.vcpus().get(0), h.number(), a[0], a[1], a[2], a[3], a[4]);
  }

  /**
   * mmuext_op is in the hvm32 column of Xen's hypercall table (compat_mmuext_op, for a device
   * model in a translated domain pinning a PV guest's tables): a PVH or HVM guest gets
   * do_mmuext_op's refusals in its order, not -ENOSYS. -ENOSYS stays for the PV-only MMU calls.
   */
  @Test
  void mmuextOpFromATranslatedGuestIsRefusedAsXenRefusesIt() {
    Domain hvm = hv.createHvmDomain("hvm", DomainMode.HVM_EPT, 2);
    // One well-formed op (pin an L1 of the PV domain) and a pdone word to watch.
    ByteBuffer op = le(PvMmuAbi.EXT_SIZE).putInt(PvMmuAbi.EXT_CMD, PvMmuAbi.MMUEXT_PIN_L1_TABLE)
        .putInt(PvMmuAbi.EXT_ARG1, (int) PvTestDomains.mfn(pv, 3));
    int pdone = ARG + 0x100;
    for (Domain t : new Domain[] {pvh, hvm}) {
      t.memory().write(ARG, op.array(), 0, op.capacity());
      t.memory().write32(pdone, 0xEEEE_EEEE);
      int[][] rows = {
          // foreigndom, expected
          {EventChannelOp.DOMID_SELF, XenErrno.EINVAL.negated()}, // itself: not a PV owner
          {t.domid(), XenErrno.ESRCH.negated()},                 // "cannot specify itself"
          {NOBODY, XenErrno.ESRCH.negated()},
          {PvMmuAbi.DOMID_IO, XenErrno.EPERM.negated()},         // XSM_TARGET
          {PvMmuAbi.DOMID_XEN, XenErrno.EPERM.negated()},
          {pv.domid(), XenErrno.EPERM.negated()},
          {0x10000 | pv.domid(), XenErrno.EPERM.negated()},      // only the low 16 bits count
          {(t == pvh ? hvm : pvh).domid(), XenErrno.EINVAL.negated()}};
      for (int[] r : rows) {
        int dom = r[0];
        int rc = hc.dispatch(t.vcpus().get(0), Hypercall.MMUEXT_OP.number(), ARG, 1, pdone, dom,
            0);
        assertThat(rc).as("%s naming %x", t.name(), dom).isEqualTo(r[1]);
        // The same answer for ops it cannot even read, or a preempted call's remainder.
        assertThat(hc.dispatch(t.vcpus().get(0), Hypercall.MMUEXT_OP.number(), 0x7FF000, 3,
            pdone, dom, 0)).as("%s naming %x, bad list", t.name(), dom).isEqualTo(r[1]);
        assertThat(hc.dispatch(t.vcpus().get(0), Hypercall.MMUEXT_OP.number(), ARG,
            0x8000_0001, pdone, dom, 0)).as("%s naming %x, continued", t.name(), dom)
            .isEqualTo(r[1]);
      }
      // No ops: 0 at once. A NULL list with only the continuation bit: foreigndom back.
      assertThat(hc.dispatch(t.vcpus().get(0), Hypercall.MMUEXT_OP.number(), ARG, 0, pdone,
          pv.domid(), 0)).isZero();
      assertThat(hc.dispatch(t.vcpus().get(0), Hypercall.MMUEXT_OP.number(), ARG, 0x8000_0000,
          pdone, pv.domid(), 0)).isZero();
      assertThat(hc.dispatch(t.vcpus().get(0), Hypercall.MMUEXT_OP.number(), 0, 0x8000_0000,
          pdone, 0x1234_5678, 0)).isEqualTo(0x1234_5678);
      // Nothing was done and pdone was never written.
      assertThat(t.memory().read32(pdone)).isEqualTo(0xEEEE_EEEE);
    }
    assertThat(pv.pv().mmu().tables().info().isPinned(PvTestDomains.mfn(pv, 3))).isFalse();
    // The calls only the PV columns have stay -ENOSYS.
    assertThat(pvhCall(Hypercall.MMU_UPDATE, ARG, 1, 0, EventChannelOp.DOMID_SELF))
        .isEqualTo(XenErrno.ENOSYS.negated());
    assertThat(pvhCall(Hypercall.UPDATE_VA_MAPPING, 0x1000, 0, 0, 0))
        .isEqualTo(XenErrno.ENOSYS.negated());
  }

  /**
   * vm_assist is in the hvm32 column too, with HVM_VM_ASSIST_MASK: runstate_update_flag is the
   * one type a translated guest may enable or disable; every other type, known or not, is
   * -EINVAL before the command is looked at; an unknown command on the allowed type -ENOSYS. It
   * answered -ENOSYS for everything. A PV guest keeps its wider mask.
   */
  @Test
  void vmAssistFromATranslatedGuestAllowsOnlyTheRunstateUpdateFlag() {
    for (DomainMode mode : new DomainMode[] {DomainMode.PVH, DomainMode.HVM_EPT,
        DomainMode.HVM_SHADOW}) {
      Domain t = mode == DomainMode.PVH ? pvh
          : hv.createHvmDomain("va-" + mode.cliName(), mode, 2);
      java.util.function.IntBinaryOperator call = (cmd, type) -> hc.dispatch(t.vcpus().get(0),
          Hypercall.VM_ASSIST.number(), cmd, type, 0, 0, 0);
      assertThat(call.applyAsInt(0, 5)).as(mode.cliName()).isZero();
      assertThat(t.vmAssist()).isEqualTo(1 << 5);
      assertThat(call.applyAsInt(1, 5)).isZero();
      assertThat(t.vmAssist()).isZero();
      assertThat(call.applyAsInt(2, 5)).isEqualTo(XenErrno.ENOSYS.negated());
      for (int type : new int[] {0, 1, 2, 3, 4, 6, 31, 32, 63, 64, -1}) {
        for (int cmd : new int[] {0, 1, 2}) {
          assertThat(call.applyAsInt(cmd, type)).as("%s cmd %d type %d", mode.cliName(), cmd,
              type).isEqualTo(XenErrno.EINVAL.negated());
        }
      }
      assertThat(t.vmAssist()).isZero();
    }
    // The PV guest's mask is PV32's (less writable_pagetables here).
    assertThat(pvCall(Hypercall.VM_ASSIST, 0, 3)).isZero();
    assertThat(pvCall(Hypercall.VM_ASSIST, 0, 2)).isEqualTo(XenErrno.EINVAL.negated());
  }

  /**
   * kexec_op is in the PV columns only: a PV domU is refused by xsm_kexec(XSM_PRIV) before the
   * op or its argument is looked at (-EPERM); a PVH or HVM guest has no such hypercall.
   */
  @Test
  void kexecOpIsEpermForAPvDomUAndEnosysForATranslatedOne() {
    for (int op : new int[] {0, 1, 2, 3, 4, 5, 99, -1}) {
      for (int arg : new int[] {ARG, 0, 0x7FFF_F000}) {
        assertThat(pvCall(Hypercall.KEXEC_OP, op, arg)).as("pv op %d arg %x", op, arg)
            .isEqualTo(XenErrno.EPERM.negated());
        assertThat(pvhCall(Hypercall.KEXEC_OP, op, arg)).as("pvh op %d arg %x", op, arg)
            .isEqualTo(XenErrno.ENOSYS.negated());
      }
    }
  }
}
