package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * The classic PV hypercall page run on the processor up to its trap: each slot loads its number
 * into EAX (the iret slot pushes EAX first) and then stands at {@code int 0x82}. Taking that trap
 * to the hypervisor needs the PV vCPU's IDT, which is the next step of classic PV.
 */
class HypercallPageTest {
  private static final int PAGE = 0x10000;

  private Cpu runSlot(int n, int budget) {
    MemoryBus mem = new MemoryBus(1 << 20);
    byte[] page = HypercallPage.pvContents();
    mem.write(PAGE, page, 0, page.length);
    Cpu cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    cpu.setReg(Cpu.ESP, 0x8000);
    cpu.setReg(Cpu.EAX, 0x5A5A);
    cpu.setEip(PAGE + n * HypercallPage.SLOT_SIZE);
    assertThat(cpu.run(budget)).isEqualTo(CpuExit.BUDGET);
    int eip = cpu.eip();
    assertThat(mem.read8(eip)).isEqualTo(0xCD);
    assertThat(mem.read8(eip + 1)).isEqualTo(HypercallPage.PV_HYPERCALL_VECTOR);
    return cpu;
  }

  @Test
  void everySlotLoadsItsNumberAndTrapsThroughVector0x82() {
    for (int n : new int[] {0, 1, 17, 26, 29, 32, 127}) {
      assertThat(runSlot(n, 1).reg(Cpu.EAX)).as("slot %d", n).isEqualTo(n);
    }
  }

  @Test
  void theIretSlotPushesEaxFirst() {
    Cpu cpu = runSlot(23, 2);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(23);
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(0x8000 - 4);
    assertThat(cpu.memory().read32(0x8000 - 4)).isEqualTo(0x5A5A);
  }
}
