package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.hospes.abi.Hypercall;
import org.hospes.abi.Multicall;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.hospes.x86.vmx.VmcsField;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An HVM or PVH guest's multicall (its VMCALL) as Xen 4.17 continues it: do_multicall is common
 * code, so between entries (never before a leg's first) hypercall_preempt_check may stop the
 * batch, and hvm_hypercall then leaves the VMCALL unretired with EBX the first entry not done
 * and ECX the entries left, so the guest re-executes it. Every completed entry's result is
 * written, none runs twice, none is skipped, and the count is not limited. Before, an HVM
 * guest's batch ran in one go and more than 256 entries were -EINVAL.
 */
class HvmMulticallContinuationTest {
  private static final int LIST = 0x10000;
  private static final int TEXT = 0x20000;
  /** Where the guest's VMCALL is (3 bytes). */
  private static final int AT = 0x1000;
  private static final int UNTOUCHED = 0x5555;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain d;
  private Vcpu v;
  private Cpu cpu;
  private final ByteArrayOutputStream console = new ByteArrayOutputStream();

  private void setUp(DomainMode mode) {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    d = hv.createHvmDomain("hvm", mode, 2);
    d.setConsole(console);
    v = d.vcpus().get(0);
    cpu = v.cpu();
    v.vmcs().write(VmcsField.VM_EXIT_INSTRUCTION_LEN, 3);
  }

  private static int entry(int i) {
    return LIST + i * Multicall.ENTRY_SIZE;
  }

  /** Entries 0..n-1: console_io writes of one character each, entry i the text's i-th. */
  private String consoleEntries(int n) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < n; i++) {
      char ch = (char) ('a' + i % 26);
      text.append(ch);
      d.memory().write8(TEXT + i, ch);
      d.memory().write32(entry(i) + Multicall.ENTRY_OP, Hypercall.CONSOLE_IO.number());
      d.memory().write32(entry(i) + Multicall.ENTRY_RESULT, UNTOUCHED);
      d.memory().write32(entry(i) + Multicall.ENTRY_ARGS, 0); // CONSOLEIO_write
      d.memory().write32(entry(i) + Multicall.ENTRY_ARGS + 4, 1);
      d.memory().write32(entry(i) + Multicall.ENTRY_ARGS + 8, TEXT + i);
    }
    return text.toString();
  }

  private int result(int i) {
    return d.memory().read32(entry(i) + Multicall.ENTRY_RESULT);
  }

  private String written() {
    return console.toString(StandardCharsets.ISO_8859_1);
  }

  /** The guest's VMCALL with the registers as they are. */
  private void vmcall() {
    cpu.setEip(AT);
    hc.handle(v);
  }

  private void multicall(int list, int count) {
    cpu.setReg(Cpu.EAX, Hypercall.MULTICALL.number());
    cpu.setReg(Cpu.EBX, list);
    cpu.setReg(Cpu.ECX, count);
    vmcall();
  }

  /** Re-executes the VMCALL while it is continued; returns the legs, this one included. */
  private int legs() {
    int legs = 1;
    while (cpu.eip() == AT) {
      assertThat(legs).as("legs of a call that should end").isLessThan(10_000);
      assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.MULTICALL.number());
      vmcall();
      legs++;
    }
    return legs;
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"PVH", "HVM_EPT", "HVM_SHADOW"})
  void aLongMulticallIsContinuedBetweenEntriesAndRunsEachOnce(DomainMode mode) {
    setUp(mode);
    String text = consoleEntries(300);
    multicall(LIST, 300);
    int leg = Hypercalls.PV_PREEMPT_OPS;
    // HVM_HCALL_preempted: the VMCALL is not retired; the continuation is in the registers.
    assertThat(cpu.eip()).isEqualTo(AT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.MULTICALL.number());
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(entry(leg));
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(300 - leg);
    assertThat(result(leg - 1)).isZero();
    assertThat(result(leg)).isEqualTo(UNTOUCHED);
    assertThat(written()).isEqualTo(text.substring(0, leg));
    assertThat(legs()).isEqualTo(300 / leg + 1);
    assertThat(cpu.eip()).isEqualTo(AT + 3);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    for (int i = 0; i < 300; i++) {
      assertThat(result(i)).as("result %d", i).isZero();
    }
    assertThat(written()).isEqualTo(text);
    assertThat(v.counters().multicallEntries).as("entries run").isEqualTo(300);
    assertThat(v.counters().hypercallCount[Hypercall.MULTICALL.number()]).isEqualTo(3);
    assertThat(v.counters().hypercallErrors).isZero();
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"PVH", "HVM_EPT"})
  void anInterruptTheGuestCanTakePreemptsAfterTheCurrentEntry(DomainMode mode) {
    setUp(mode);
    String text = consoleEntries(3);
    // The guest's local APIC, software-enabled, has vector 0x40 pending (its timer, say).
    org.hospes.hv.platform.LocalApic lapic = hv.platform(d).lapic(0);
    lapic.write(org.hospes.hv.platform.LocalApic.SVR, 4,
        org.hospes.hv.platform.LocalApic.SVR_ENABLE | 0xFF);
    lapic.acceptFixed(0x40);
    // EFLAGS.IF clear: hvm_interrupt_blocked, so the interrupt does not preempt.
    cpu.setEflags(cpu.eflags() & ~org.hospes.x86.Flags.IF);
    multicall(LIST, 3);
    assertThat(cpu.eip()).isEqualTo(AT + 3);
    assertThat(written()).isEqualTo(text);
    // IF set: a leg's first entry always runs; the interrupt stops the batch before the next.
    console.reset();
    consoleEntries(3);
    cpu.setEflags(cpu.eflags() | org.hospes.x86.Flags.IF);
    assertThat(hv.platform(d).eventsNeedDelivery(v)).isTrue();
    multicall(LIST, 3);
    assertThat(cpu.eip()).isEqualTo(AT);
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(entry(1));
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(2);
    assertThat(result(0)).isZero();
    assertThat(result(1)).isEqualTo(UNTOUCHED);
    assertThat(written()).isEqualTo(text.substring(0, 1));
    // Each leg runs one entry while the interrupt waits; the batch still ends, each once.
    assertThat(legs()).isEqualTo(3);
    assertThat(written()).isEqualTo(text);
    assertThat(result(2)).isZero();
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"PVH", "HVM_EPT"})
  void theCountIsUnsignedAndAnEntryThatCannotBeReadIsAFault(DomainMode mode) {
    setUp(mode);
    consoleEntries(1);
    // No range check for a translated caller (guest_handle_okay); the entries past the end of
    // guest memory cannot be read: -EFAULT once the leg reaches one, after the readable ones.
    int last = (int) (d.p2m().ramFrames() << 12) - Multicall.ENTRY_SIZE;
    d.memory().write32(last + Multicall.ENTRY_OP, Hypercall.CONSOLE_IO.number());
    d.memory().write32(last + Multicall.ENTRY_ARGS, 0);
    d.memory().write32(last + Multicall.ENTRY_ARGS + 4, 1);
    d.memory().write32(last + Multicall.ENTRY_ARGS + 8, TEXT);
    multicall(last, -1);
    assertThat(cpu.eip()).isEqualTo(AT + 3);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(d.memory().read32(last + Multicall.ENTRY_RESULT)).isZero();
    assertThat(written()).isEqualTo("a");
    multicall(LIST, 0);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
  }

  /**
   * The guest's own code makes the multicall and runs on: its processor re-executes the
   * unretired VMCALL, leg after leg, and the instruction after it sees 0 in EAX.
   */
  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"PVH", "HVM_EPT", "HVM_SHADOW"})
  void aRunningGuestReexecutesItsVmcallUntilTheBatchIsDone(DomainMode mode) {
    setUp(mode);
    String text = consoleEntries(300);
    // mov eax, 13 ; mov ebx, LIST ; mov ecx, 300 ; vmcall ; mov [0x6000], eax ; jmp $
    byte[] code = java.util.HexFormat.of().parseHex(
        "b80d000000" + "bb00000100" + "b92c010000" + "0f01c1" + "a300600000" + "ebfe");
    d.memory().write(AT, code, 0, code.length);
    d.memory().write32(0x6000, 0xEEEE);
    cpu.setEip(AT);
    cpu.setReg(Cpu.ESP, 0x7000);
    hv.unpause(d);
    hv.run(50_000_000L);
    assertThat(d.memory().read32(0x6000)).as(d.endReason()).isZero();
    assertThat(written()).isEqualTo(text);
    assertThat(v.counters().multicallEntries).isEqualTo(300);
    assertThat(v.counters().hypercallCount[Hypercall.MULTICALL.number()]).isEqualTo(3);
  }
}
