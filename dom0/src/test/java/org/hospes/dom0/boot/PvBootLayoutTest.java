package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.hospes.abi.StartInfo;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.memory.GuestMemory;
import org.hospes.hv.memory.P2m;
import org.hospes.hv.pv.MachToPhys;
import org.hospes.hv.pv.PageInfo;
import org.hospes.hv.pv.PageType;
import org.hospes.hv.pv.PvMmu;
import org.hospes.hv.pv.PvPageTables;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * The PV builder's start-of-day tables are accepted by the hypervisor's PV MMU as the new base,
 * and the processor then sees the kernel, start_info and the P2M list where start_info says,
 * with the tables themselves read-only.
 */
class PvBootLayoutTest {
  private static final int DOM = 1;
  private static final int PAGES = 2048;

  @Test
  void theInitialTablesPassThePvMmuAndMapTheBootArea() throws BootException {
    MemoryBus machine = new MemoryBus(32 << 20);
    FrameTable frames = new FrameTable(32 << 20, 1 << 20);
    P2m p2m = new P2m(PAGES);
    for (int pfn = 0; pfn < PAGES; pfn++) {
      p2m.set(pfn, frames.allocate(DOM));
      if (pfn % 3 == 0) {
        frames.allocate(2); // someone else's frame in between: MFNs are not PFNs plus a constant
      }
    }
    GuestMemory guest = new GuestMemory(machine, p2m);
    PvBootLayout layout = PvBootLayout.plan(0xC000_0000L, 0xC001_2345L, 0x3000, PAGES);
    assertThat(layout.moduleVa()).isEqualTo(0xC001_3000L);
    assertThat(layout.p2mVa()).isEqualTo(0xC001_6000L);
    assertThat(layout.startInfoVa()).isEqualTo(0xC001_8000L);
    assertThat(layout.nrTables()).isEqualTo(4); // L3, slot 3's L2, two L1s for 4 MiB
    assertThat(layout.mappedEnd()).isEqualTo(0xC040_0000L);
    long l3 = layout.writeTables(guest, p2m::lookup, PAGES);
    layout.writeStartInfo(guest, p2m::lookup, PAGES, 0x7654_3000L, 3, 2, 0x3000, "console=hvc0");

    Cpu cpu = new Cpu(machine, new IoBus());
    cpu.resetFlat32();
    PvMmu mmu = new PvMmu(new PvPageTables(DOM, frames, new PageInfo(frames.frames()), machine),
        new MachToPhys(machine, frames), machine, new PvMmu.Tlb() {
          @Override
          public void flushAll() {}

          @Override
          public void invlpg(int va) {}

          @Override
          public void loadBase(long ma) {
            cpu.loadControlRegisters(0x8001_0001, (int) ma, Cpu.CR4_PAE);
          }
        }, d -> false);
    assertThat(mmu.newBaseptr(l3)).isZero();
    assertThat(mmu.tables().info().type(l3)).isEqualTo(PageType.L3_PAGE_TABLE);

    assertThat(cpu.linearToPhysical(0xC000_1234, true)).isEqualTo(p2m.lookup(1) << 12 | 0x234);
    long si = cpu.linearToPhysical((int) layout.startInfoVa(), false);
    byte[] magic = new byte[15];
    machine.read(si, magic, 0, 15);
    assertThat(new String(magic, StandardCharsets.US_ASCII)).isEqualTo("xen-3.0-x86_32p");
    assertThat(machine.read32(si + StartInfo.NR_PAGES)).isEqualTo(PAGES);
    assertThat(machine.read32(si + StartInfo.PT_BASE)).isEqualTo((int) layout.tablesVa());
    assertThat(machine.read32(si + StartInfo.NR_PT_FRAMES)).isEqualTo(4);
    assertThat(machine.read32(si + StartInfo.STORE_MFN))
        .isEqualTo((int) p2m.lookup(layout.pfnOf(layout.storeVa())));
    assertThat(machine.read32(si + StartInfo.SHARED_INFO)).isEqualTo(0x7654_3000);
    // The P2M list says where each pseudo-physical frame is.
    long p2mMa = cpu.linearToPhysical((int) layout.p2mVa() + 4 * 700, false);
    assertThat(machine.read32(p2mMa)).isEqualTo((int) p2m.lookup(700));
    // Every table is mapped, read-only.
    for (int i = 0; i < layout.nrTables(); i++) {
      int va = (int) layout.tableVa(i);
      assertThat(cpu.linearToPhysical(va, false)).isNotNegative();
      assertThat(cpu.linearToPhysical(va, true)).as("table %d writable", i).isEqualTo(-1);
    }
    assertThat(cpu.linearToPhysical((int) layout.stackVa() + 4092, true)).isNotNegative();
    assertThat(cpu.linearToPhysical((int) layout.mappedEnd(), false)).isEqualTo(-1);
  }

  @Test
  void tooLittleMemoryForTheBootAreaIsABootError() {
    assertThatThrownBy(() -> PvBootLayout.plan(0xC000_0000L, 0xC038_0000L, 0, 1024))
        .isInstanceOf(BootException.class)
        .hasMessage("PV domain: 4 MiB is too small for the kernel and its boot area (8 MiB needed)");
  }
}
