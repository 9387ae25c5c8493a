package org.hospes.hv.hypercall;

import org.hospes.abi.Hypercall;
import org.hospes.abi.Multicall;
import org.hospes.abi.XenErrno;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.stats.Counters;

/**
 * multicall (hypercall 13: call_list, nr_calls): runs each multicall_entry in order through the
 * ordinary dispatcher and writes its result back into the entry. A multicall inside a multicall
 * gets -EINVAL in its result (Xen refuses re-entry). The batch stops early only when the domain
 * ends (shutdown, crash) or an entry cannot be read or written back (-EFAULT for the call).
 * Each entry is counted under its own hypercall number.
 */
final class MulticallHypercalls {
  /** Largest batch (Xen continues longer ones via continuations; we refuse them). */
  static final int MAX_CALLS = 256;

  private final Hypercalls hypercalls;

  MulticallHypercalls(Hypercalls hypercalls) {
    this.hypercalls = hypercalls;
  }

  int multicall(Vcpu v, int list, int nr) {
    if (nr < 0 || nr > MAX_CALLS) {
      return XenErrno.EINVAL.negated();
    }
    GuestAccess g = new GuestAccess(v);
    Counters c = v.counters();
    for (int i = 0; i < nr && !v.domain().state().isFinal(); i++) {
      int va = list + i * Multicall.ENTRY_SIZE;
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
          : hypercalls.dispatch(v, op, a[0], a[1], a[2], a[3], a[4]);
      if (result < 0) {
        c.hypercallErrors++;
      }
      if (!v.domain().state().isFinal() && !g.writeInt(va + Multicall.ENTRY_RESULT, result)) {
        return XenErrno.EFAULT.negated();
      }
    }
    return 0;
  }
}
