package org.hospes.hv.hypercall;

import java.util.function.IntPredicate;
import org.hospes.abi.Hypercall;
import org.hospes.abi.Multicall;
import org.hospes.abi.XenErrno;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.pv.PvMmu;
import org.hospes.hv.stats.Counters;

/**
 * multicall (hypercall 13: call_list, nr_calls): runs each multicall_entry in order through the
 * ordinary dispatcher and writes its result back into the entry. A multicall inside a multicall
 * gets -EINVAL in its result (Xen refuses re-entry). The batch stops early when the domain ends
 * (shutdown, crash) or an entry cannot be read or written back (-EFAULT for the call). Each
 * entry is counted under its own hypercall number.
 *
 * <p>A classic PV guest's own multicall is preempted and continued as Xen 4.17's do_multicall
 * does (its compat wrapper for a PV32 guest has the same loop over the 32-bit entries): before
 * every entry but a leg's first, {@code preempt} may stop the batch, which is then continued
 * from that entry (the guest re-executes its int 0x82 with the list advanced past the entries
 * done and the count of those left). An entry may itself be preempted (a long mmu_update,
 * mmuext_op or set_trap_table): its result is written (the sub-call's number, what hypercall_create_continuation
 * returns), then the whole entry, its arguments now the sub-call's continuation, and the batch
 * is continued from that entry, so the next leg runs the rest of it first. Every completed
 * entry's result is written back; none runs twice and none is skipped. The count is then
 * unsigned, limited only by the list lying below the hypervisor hole (-EFAULT otherwise).
 *
 * <p>An HVM or PVH guest's own multicall (its VMCALL) is preempted and continued the same way
 * (do_multicall is common code; hvm_do_multicall_call runs each entry through the HVM table):
 * the guest re-executes its VMCALL, which hvm_hypercall left unretired, with EBX and ECX the
 * continuation's. Its list is guest-physical or paged guest memory, not below a hole, so the
 * count is unsigned and unchecked (guest_handle_okay passes for a translated domain); an entry
 * that cannot be read is -EFAULT. No HVM entry is itself continued here. Calls that are not a
 * guest's own (a nested dispatch) are not continued, and their batches are limited to
 * {@value #MAX_CALLS} entries.
 */
final class MulticallHypercalls {
  /** Largest batch of a caller whose multicall is not continued (a translated domain's). */
  static final int MAX_CALLS = 256;

  private final Hypercalls hypercalls;

  MulticallHypercalls(Hypercalls hypercalls) {
    this.hypercalls = hypercalls;
  }

  /**
   * The multicall of {@code v}; {@code preempt} (given the entries done in this leg) is the
   * guest's hypercall_preempt_check when it may be continued (its own call), else null.
   */
  int multicall(Vcpu v, int list, int nr, IntPredicate preempt) {
    boolean continued = preempt != null;
    boolean pv = v.domain().pv() != null;
    if (continued) {
      if (pv && !PvMmu.rangeOkay(list, nr & 0xFFFF_FFFFL, Multicall.ENTRY_SIZE)) {
        return XenErrno.EFAULT.negated(); // guest_handle_okay
      }
    } else if (nr < 0 || nr > MAX_CALLS) {
      return XenErrno.EINVAL.negated();
    }
    long count = nr & 0xFFFF_FFFFL;
    GuestAccess g = new GuestAccess(v);
    Counters c = v.counters();
    for (long i = 0; i < count && !v.domain().state().isFinal(); i++) {
      int va = (int) (list + i * Multicall.ENTRY_SIZE);
      if (continued && i > 0 && preempt.test((int) i)) {
        return continueFrom(va, count - i);
      }
      byte[] e = g.read(va, Multicall.ENTRY_SIZE);
      if (e == null) {
        return XenErrno.EFAULT.negated();
      }
      int op = VcpuHypercalls.le32(e, Multicall.ENTRY_OP);
      int[] a = new int[Multicall.NR_ARGS];
      for (int k = 0; k < a.length; k++) {
        a[k] = VcpuHypercalls.le32(e, Multicall.ENTRY_ARGS + 4 * k);
      }
      c.multicallEntries++;
      c.hypercallCount[op >= 0 && op < c.hypercallCount.length ? op : 63]++;
      int result = op == Hypercall.MULTICALL.number() ? XenErrno.EINVAL.negated()
          : hypercalls.dispatch(v, op, a[0], a[1], a[2], a[3], a[4], continued);
      PvMmu.Continuation sub = continued && pv ? v.domain().pv().mmu().takeContinuation()
          : null;
      if (sub != null) {
        result = op; // hypercall_create_continuation's return value
      } else if (result < 0) {
        c.hypercallErrors++;
      }
      if (v.domain().state().isFinal()) {
        break;
      }
      if (!g.writeInt(va + Multicall.ENTRY_RESULT, result)) {
        return XenErrno.EFAULT.negated();
      }
      if (sub != null) {
        // The sub-call's continuation into the entry, and the batch goes on from it.
        if (!g.writeInt(va + Multicall.ENTRY_ARGS, sub.arg1())
            || !g.writeInt(va + Multicall.ENTRY_ARGS + 4, sub.arg2())) {
          return XenErrno.EFAULT.negated();
        }
        return continueFrom(va, count - i);
      }
    }
    return 0;
  }

  /** hypercall_create_continuation(__HYPERVISOR_multicall, "hi", entry, left). */
  private int continueFrom(int entry, long left) {
    hypercalls.continueWith(entry, (int) left);
    return Hypercall.MULTICALL.number();
  }
}
