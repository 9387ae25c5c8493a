package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.Cpu;
import org.hospes.x86.Exceptions;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Xen's undo_nmis_unblocked_by_iret: the exit handler blocks NMIs again when the exit came from
 * an IRET that had unblocked them (bit 12) and the IRET will run again, and only then.
 */
class NmiUnblockedByIretTest {
  private Cpu cpu;
  private Vmcs vmcs;

  @BeforeEach
  void setUp() {
    cpu = new Cpu(new MemoryBus(1 << 20), new IoBus());
    vmcs = new Vmcs();
    cpu.setVmcs(vmcs);
  }

  private void exceptionExit(int vector, boolean bit12, int idtVectoring) {
    vmcs.write(VmcsField.VM_EXIT_INTR_INFO, VmxControls.intrInfo(vector,
        VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true)
        | (bit12 ? VmxControls.NMI_UNBLOCKED_BY_IRET : 0));
    vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, idtVectoring);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    HvmExitHandler.undoNmiUnblockedByIret(vmcs, ExitReason.EXCEPTION_NMI);
  }

  @Test
  void anExceptionExitOfAnIretThatUnblockedNmisBlocksThemAgain() {
    exceptionExit(Exceptions.PF, true, 0);
    assertThat(cpu.nmiBlocked()).isTrue();
    exceptionExit(Exceptions.PF, false, 0);
    assertThat(cpu.nmiBlocked()).isFalse();
    // An exit while delivering an event, or of a #DF, is not the IRET's own fault.
    exceptionExit(Exceptions.PF, true, VmxControls.intrInfo(0x20,
        VmxControls.INTR_TYPE_EXTERNAL, false));
    assertThat(cpu.nmiBlocked()).isFalse();
    exceptionExit(Exceptions.DF, true, 0);
    assertThat(cpu.nmiBlocked()).isFalse();
  }

  @Test
  void anEptViolationOfSuchAnIretBlocksThemAgainAndOtherExitsDoNot() {
    vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, 0);
    vmcs.write(VmcsField.EXIT_QUALIFICATION, VmxControls.EPT_QUAL_READ);
    HvmExitHandler.undoNmiUnblockedByIret(vmcs, ExitReason.EPT_VIOLATION);
    assertThat(cpu.nmiBlocked()).isFalse();
    vmcs.write(VmcsField.EXIT_QUALIFICATION,
        VmxControls.EPT_QUAL_READ | VmxControls.NMI_UNBLOCKED_BY_IRET);
    HvmExitHandler.undoNmiUnblockedByIret(vmcs, ExitReason.EPT_VIOLATION);
    assertThat(cpu.nmiBlocked()).isTrue();
    // Bit 12 of another exit's qualification means something else (an I/O port, say).
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    HvmExitHandler.undoNmiUnblockedByIret(vmcs, ExitReason.IO_INSTRUCTION);
    assertThat(cpu.nmiBlocked()).isFalse();
  }
}
