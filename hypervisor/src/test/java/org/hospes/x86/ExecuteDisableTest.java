package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * IA32_EFER.NXE and execute-disable in PAE paging (SDM vol. 3, 4.4.2, 4.6, 4.7): CPUID
 * 0x80000001 advertises NX, EFER takes only NXE, XD in a PDE or PTE stops instruction fetches
 * (#PF with the I/D bit) but not data reads, and with NXE=0 bit 63 is a reserved bit.
 *
 * <p>PAE layout: PDPT 0x13000, page directory 0x14000 whose entry 0 maps the first 2 MiB as one
 * page and entry 3 (0x600000) points at the page table 0x15000, whose entry 0 maps 0x600000.
 */
class ExecuteDisableTest {
  private static final long XD = 1L << 63;
  private static final int TARGET = 0x600000;
  /**
   * paging off ; cr4.PAE = 1 ; cr3 = 0x13000 ; wrmsr EFER = 0x800 ; paging on ;
   * ebx = [0x600000] ; mov eax, 0x600000 ; jmp eax.
   */
  private static final String PAE_NXE_JUMP = "0f20c0 25ffffff7f 0f22c0 0f20e0 83c820 0f22e0"
      + " b800300100 0f22d8 b9800000c0 b800080000 31d2 0f30 0f20c0 0d00000080 0f22c0"
      + " 8b1d00006000 b800006000 ffe0";

  private final SystemFixture m = new SystemFixture();

  private void paeTables(long pde0, long pde3, long pte) {
    write64(0x13000, 0x14000 | 1);
    write64(0x14000, pde0);
    write64(0x14018, pde3);
    write64(0x15000, pte);
    m.mem.write32(TARGET, 0x90F4_9090);   // nop ; nop ; hlt
  }

  private void write64(int addr, long v) {
    m.mem.write32(addr, (int) v);
    m.mem.write32(addr + 4, (int) (v >>> 32));
  }

  private void expectPageFault(int error) {
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.PF);
    assertThat(m.cpu.exceptionErrorCode()).isEqualTo(error);
  }

  @Test
  void cpuidAdvertisesNx() {
    // eax = 0x80000000 ; cpuid ; esi = eax ; eax = 0x80000001 ; cpuid ; hlt
    m.code(SystemFixture.RING0, "b800000080 0fa2 89c6 b801000080 0fa2 f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(Integer.compareUnsigned(m.cpu.reg(Cpu.ESI), 0x8000_0001)).isGreaterThanOrEqualTo(0);
    assertThat(m.cpu.reg(Cpu.EDX) & (1 << 20)).as("NX").isNotZero();
    assertThat(m.cpu.reg(Cpu.EDX) & (1 << 27)).as("RDTSCP stays absent").isZero();
  }

  @Test
  void eferTakesNxeAndReadsItBack() {
    // ecx = EFER ; eax = 0x800 ; edx = 0 ; wrmsr ; rdmsr ; hlt
    m.code(SystemFixture.RING0, "b9800000c0 b800080000 31d2 0f30 0f32 f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.reg(Cpu.EAX)).isEqualTo(0x800);
    assertThat(m.cpu.reg(Cpu.EDX)).isZero();
    assertThat(m.cpu.efer()).isEqualTo(Cpu.EFER_NXE);
  }

  @Test
  void eferReservedBitsAreGp0() {
    for (String eax : new String[] {"01000000", "00010000", "00040000", "00000080"}) {
      SystemFixture f = new SystemFixture();
      // ecx = EFER ; eax = SCE / LME / LMA / bit 31 ; edx = 0 ; wrmsr
      f.code(SystemFixture.RING0, "b9800000c0 b8" + eax + " 31d2 0f30");
      assertThat(f.run()).isEqualTo(CpuExit.EXCEPTION);
      assertThat(f.cpu.exceptionVector()).as("EFER bits %s", eax).isEqualTo(Exceptions.GP);
      assertThat(f.cpu.exceptionErrorCode()).isZero();
    }
  }

  @Test
  void aFetchFromAnXdPteFaultsWithTheInstructionFetchBit() {
    paeTables(0x83, 0x15003, TARGET | 0x3 | XD);
    m.code(SystemFixture.RING0, PAE_NXE_JUMP);
    expectPageFault(Paging.PF_P | Paging.PF_ID);
    assertThat(m.cpu.eip()).isEqualTo(TARGET);
    assertThat(m.cpu.reg(Cpu.EBX)).as("data reads from the XD page work").isEqualTo(0x90F4_9090);
  }

  @Test
  void xdInThePdeCoversTheWholeTable() {
    paeTables(0x83, 0x15003 | XD, TARGET | 0x3);
    m.code(SystemFixture.RING0, PAE_NXE_JUMP);
    expectPageFault(Paging.PF_P | Paging.PF_ID);
  }

  @Test
  void aFetchFromAnXd2MiBPageFaults() {
    paeTables(0x83, TARGET | 0x83 | XD, 0);
    m.code(SystemFixture.RING0, PAE_NXE_JUMP);
    expectPageFault(Paging.PF_P | Paging.PF_ID);
  }

  @Test
  void withoutXdTheFetchRuns() {
    paeTables(0x83, 0x15003, TARGET | 0x3);
    m.code(SystemFixture.RING0, PAE_NXE_JUMP);
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.eip()).isEqualTo(TARGET + 3);
  }

  @Test
  void aNotPresentFetchFaultCarriesTheInstructionFetchBitToo() {
    paeTables(0x83, 0x15003, 0);
    m.code(SystemFixture.RING0, PAE_NXE_JUMP.replace("8b1d00006000 ", ""));
    expectPageFault(Paging.PF_ID);
  }

  @Test
  void withNxeClearBit63IsReservedForData() {
    paeTables(0x83, 0x15003, TARGET | 0x3 | XD);
    // As PAE_NXE_JUMP with EFER = 0: the read of 0x600000 faults.
    m.code(SystemFixture.RING0, PAE_NXE_JUMP.replace("b800080000", "b800000000"));
    expectPageFault(Paging.PF_P | Paging.PF_RSVD);
  }

  @Test
  void withNxeClearBit63IsReservedForFetchesWithoutTheIdBit() {
    paeTables(0x83, 0x15003, TARGET | 0x3 | XD);
    m.code(SystemFixture.RING0, PAE_NXE_JUMP.replace("b800080000", "b800000000")
        .replace("8b1d00006000 ", ""));
    expectPageFault(Paging.PF_P | Paging.PF_RSVD);
  }

  @Test
  void aRing3FetchFromAnXdUserPageFaultsWithUAndIdBits() {
    paeTables(0x87, 0x15007, TARGET | 0x7 | XD);
    // as PAE_NXE_JUMP up to paging on, then ds = es = 0x23 and IRET to 0x1b:0x600000
    String toPaging = PAE_NXE_JUMP.substring(0, PAE_NXE_JUMP.indexOf(" 8b1d"));
    m.code(SystemFixture.RING0, toPaging
        + " 66b82300 8ed8 8ec0 6a23 6800700000 6a02 6a1b 6800006000 cf");
    expectPageFault(Paging.PF_P | Paging.PF_U | Paging.PF_ID);
    assertThat(m.cpu.cpl()).isEqualTo(3);
  }
}
