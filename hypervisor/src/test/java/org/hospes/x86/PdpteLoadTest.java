package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PAE paging caches the four PDPTEs when CR3 is loaded with PAE paging on, or when a MOV to
 * CR0 or CR4 turns PAE paging on; a present PDPTE with a reserved bit set (bits 1, 2 and 5-8,
 * or 36-63 above this processor's 36-bit physical addresses) makes that MOV #GP(0), and the
 * registers keep their old values (SDM vol. 3A, 4.4.1). QEMU's TCG reads PDPTEs at each walk
 * and checks none of this at the MOV, so sysfuzz's pae step cannot compare it.
 *
 * <p>Tables: PDPT 0x13000 (good) and 0x16000 (entry 3 under test); both entry 0s point at the
 * page directory 0x14000, whose entry 0 maps the first 2 MiB as one page.
 */
class PdpteLoadTest {
  /** paging off ; cr4.PAE = 1 ; cr3 = 0x16000 ; paging on (faults here: offset 36) ; hlt. */
  private static final String ENABLE = "0f20c0 25ffffff7f 0f22c0 0f20e0 83c820 0f22e0"
      + " b800600100 0f22d8 0f20c0 0d00000080 0f22c0 f4";
  /** The same with 0x13000, then cr3 = 0x16000 (faults here: offset 44) ; hlt. */
  private static final String RELOAD = "0f20c0 25ffffff7f 0f22c0 0f20e0 83c820 0f22e0"
      + " b800300100 0f22d8 0f20c0 0d00000080 0f22c0 b800600100 0f22d8 f4";

  private final SystemFixture m = new SystemFixture();

  private void tables(long entry3) {
    write64(0x13000, 0x14000 | 1);
    write64(0x16000, 0x14000 | 1);
    write64(0x16018, entry3);
    write64(0x14000, 0x87);                // 2 MiB at 0: present, writable, user, PS
  }

  private void write64(int addr, long v) {
    m.mem.write32(addr, (int) v);
    m.mem.write32(addr + 4, (int) (v >>> 32));
  }

  @ParameterizedTest(name = "bit {0}")
  @ValueSource(ints = {1, 2, 5, 6, 7, 8, 36, 40, 51, 52, 62, 63})
  void aReservedBitInAPresentPdpteIsGp0WhenPagingIsTurnedOn(int bit) {
    tables(0x14000 | 1 | (1L << bit));
    m.code(SystemFixture.RING0, ENABLE);
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
    assertThat(m.cpu.exceptionErrorCode()).isZero();
    assertThat(m.cpu.eip()).as("the MOV to CR0").isEqualTo(SystemFixture.RING0 + 36);
  }

  @ParameterizedTest(name = "bit {0}")
  @ValueSource(ints = {1, 7, 40, 63})
  void aReservedBitInAPresentPdpteIsGp0OnAMovToCr3AndCr3Stays(int bit) {
    tables(0x14000 | 1 | (1L << bit));
    m.code(SystemFixture.RING0, RELOAD);
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
    assertThat(m.cpu.eip()).as("the MOV to CR3").isEqualTo(SystemFixture.RING0 + 44);
    assertThat(m.cpu.cr3()).isEqualTo(0x13000);
  }

  @ParameterizedTest(name = "entry 0x{0}")
  @ValueSource(strings = {"0x14001", "0x14000000000001E6", "0xFFFFFFFFFFFFFFFE"})
  void aGoodOrNotPresentPdpteLoads(String entry3) {
    tables(Long.parseUnsignedLong(entry3.substring(2), 16));
    m.code(SystemFixture.RING0, RELOAD);
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.cr3()).isEqualTo(0x16000);
  }
}
