package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.abi.Hypercall;
import org.hospes.abi.Multicall;
import org.hospes.abi.SharedInfo;
import org.hospes.abi.XenErrno;
import org.hospes.hv.pv.PvTraps;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/**
 * set_trap_table as Xen's compat_set_trap_table continues it: after each entry taken,
 * hypercall_preempt_check may stop the call, which leaves hypercall_create_continuation
 * (set_trap_table, "h", the list past the entries taken): the guest re-executes its int 0x82
 * with EBX advanced and every other register as it was. The same inside a multicall, where the
 * entry's first argument is advanced and the batch goes on from it. Before, the whole table
 * was read in one call, however long.
 */
class PvSetTrapTableContinuationTest extends PvBatchCallHarness {
  private static final int TABLE = 0x10000;
  private static final int LIST = 0xC000;
  /** A value in ECX that the continuation must leave alone (Xen's "h" sets EBX only). */
  private static final int ECX = 0x1234_5678;

  PvSetTrapTableContinuationTest() {
    super(Hypercall.SET_TRAP_TABLE);
  }

  /** {@code n} entries at TABLE, entry i for vector i mod 256 to address 0xC0000000 + i, then 0. */
  private void table(int n) {
    for (int i = 0; i < n; i++) {
      write32(TABLE + 8 * i, (i & 0xFF) | 0xE019 << 16);
      write32(TABLE + 8 * i + 4, 0xC000_0000 + i);
    }
    write32(TABLE + 8 * n, 0);
    write32(TABLE + 8 * n + 4, 0);
  }

  private PvTraps traps() {
    return pv.traps();
  }

  @Test
  void aLongTableIsContinuedAfterEachLegsShareAndEndsWithEveryEntrySet() {
    table(300);
    call(TABLE, ECX, 0, 0);
    int leg = Hypercalls.PV_PREEMPT_OPS;
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.SET_TRAP_TABLE.number());
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(TABLE + 8 * leg);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(ECX);
    // The first leg's entries are set, the next one not yet.
    assertThat(traps().trap(leg - 1).address()).isEqualTo(0xC000_0000 + leg - 1);
    assertThat(traps().trap(leg)).isNull();
    assertThat(legs()).isEqualTo(300 / leg + 1);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(ECX);
    for (int v = 0; v < 256; v++) {
      int last = v < 300 - 256 ? v + 256 : v; // entries 256..299 set vectors 0..43 again
      assertThat(traps().trap(v).address()).as("vector %d", v).isEqualTo(0xC000_0000 + last);
    }
  }

  /**
   * With an event waiting for delivery Xen stops after every entry, the last one included: the
   * final leg reads only the terminator.
   */
  @Test
  void anEventWaitingForDeliveryStopsTheCallAfterEachEntry() {
    table(3);
    pv.setUpcallMask(0);
    hv.machineMemory().write8((d.sharedInfoMfn() << 12) + SharedInfo.VI_UPCALL_PENDING, 1);
    call(TABLE, ECX, 0, 0);
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(TABLE + 8);
    assertThat(traps().trap(0)).isNotNull();
    assertThat(traps().trap(1)).isNull();
    int82();
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(TABLE + 16);
    int82();
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(TABLE + 24);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(traps().trap(2)).isNotNull();
    int82();
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
  }

  /** A table that runs into unmapped memory is -EFAULT in a later leg; earlier entries stay. */
  @Test
  void aTableWithoutTerminatorEndsInEfaultInALaterLeg() {
    int start = 0x20000 - 8 * 200; // the last mapped page ends at 0x20000
    for (int i = 0; i < 200; i++) {
      write32(start + 8 * i, i | 0xE019 << 16);
      write32(start + 8 * i + 4, 0xC000_0000 + i);
    }
    call(start, ECX, 0, 0);
    assertThat(legs()).isEqualTo(2);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(traps().trap(199).address()).isEqualTo(0xC000_0000 + 199);
  }

  /**
   * Inside a multicall the preempted set_trap_table gets its result (its number) and its
   * continued argument written into its entry, the batch goes on from that entry, and the entry
   * after it runs once, after the table is done.
   */
  @Test
  void inAMulticallTheEntryIsContinuedBeforeTheEntriesAfterIt() {
    table(300);
    int e0 = LIST;
    int e1 = LIST + Multicall.ENTRY_SIZE;
    write32(e0 + Multicall.ENTRY_OP, Hypercall.SET_TRAP_TABLE.number());
    write32(e0 + Multicall.ENTRY_RESULT, 0x5555);
    write32(e0 + Multicall.ENTRY_ARGS, TABLE);
    write32(e0 + Multicall.ENTRY_ARGS + 4, ECX);
    // Entry 1: stack_switch(0xE021, 0x7000), run once the table is set.
    write32(e1 + Multicall.ENTRY_OP, Hypercall.STACK_SWITCH.number());
    write32(e1 + Multicall.ENTRY_RESULT, 0x5555);
    write32(e1 + Multicall.ENTRY_ARGS, 0xE021);
    write32(e1 + Multicall.ENTRY_ARGS + 4, 0x7000);
    cpu.setReg(Cpu.EAX, Hypercall.MULTICALL.number());
    cpu.setReg(Cpu.EBX, LIST);
    cpu.setReg(Cpu.ECX, 2);
    int82();
    int leg = Hypercalls.PV_PREEMPT_OPS;
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.MULTICALL.number());
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(e0);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(2);
    assertThat(read32(e0 + Multicall.ENTRY_RESULT)).isEqualTo(Hypercall.SET_TRAP_TABLE.number());
    assertThat(read32(e0 + Multicall.ENTRY_ARGS)).isEqualTo(TABLE + 8 * leg);
    assertThat(read32(e0 + Multicall.ENTRY_ARGS + 4)).isEqualTo(ECX);
    assertThat(read32(e1 + Multicall.ENTRY_RESULT)).isEqualTo(0x5555);
    assertThat(traps().kernelSp()).isNotEqualTo(0x7000);
    int legs = 1;
    while (cpu.eip() == AFTER_INT - 2) {
      assertThat(legs).isLessThan(100);
      assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.MULTICALL.number());
      int82();
      legs++;
    }
    assertThat(legs).isEqualTo(300 / leg + 1);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(e0 + Multicall.ENTRY_RESULT)).isZero();
    assertThat(read32(e1 + Multicall.ENTRY_RESULT)).isZero();
    assertThat(traps().kernelSp()).isEqualTo(0x7000);
    assertThat(traps().trap(43).address()).isEqualTo(0xC000_0000 + 299);
    assertThat(traps().trap(44).address()).isEqualTo(0xC000_0000 + 44);
    // Entry 0 once per leg, entry 1 once.
    assertThat(d.vcpus().get(0).counters().multicallEntries).as("entries run").isEqualTo(3 + 1);
  }
}
