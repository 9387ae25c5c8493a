package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * A port access the processor completes on its own bus costs what the device claiming the port
 * says it takes ({@link PortDevice#accessNanos}, priced by {@link IoBus#setPricing}), by access
 * size, string elements one by one; other ports, unclaimed ones and every port of a bus without
 * pricing (a vCPU whose accesses exit) pay the flat default of {@link CpuCosts#portAccess}.
 */
class PortCostTest {
  private static final int CODE = 0x1000;
  private static final long DEFAULT = 3_200;

  /** A disk-like device: a 16-bit cycle of 120 ns, a 32-bit access two of them. */
  private static final class Timed implements PortDevice {
    @Override
    public int in(int port, int size) {
      return 0;
    }

    @Override
    public void out(int port, int size, int value) {}

    @Override
    public int accessNanos(int port, int size) {
      return size == 4 ? 240 : 120;
    }
  }

  /** A device that does not say. */
  private static final class Untimed implements PortDevice {
    @Override
    public int in(int port, int size) {
      return 0;
    }

    @Override
    public void out(int port, int size, int value) {}
  }

  /**
   * mov dx,0x1f0 ; in eax,dx ; in ax,dx ; out dx,al ; mov dx,0x3f8 ; in al,dx ; mov dx,0x80 ;
   * out dx,al ; mov dx,0x1f0 ; mov edi,0x8000 ; mov ecx,4 ; rep insd ; mov esi,0x8000 ;
   * mov ecx,3 ; rep outsw ; hlt.
   */
  private static final String PROGRAM = "66baf001 ed 66ed ee 66baf803 ec 66ba8000 ee 66baf001"
      + " bf00800000 b904000000 f36d be00800000 b903000000 66f36f f4";

  /** The cycles the program's port accesses charged, with the bus priced or not. */
  private static long charged(boolean priced, boolean pricedFirst) {
    MemoryBus mem = new MemoryBus(1 << 20);
    IoBus io = new IoBus();
    if (priced && pricedFirst) {
      io.setPricing(nanos -> nanos * 38 / 10);
    }
    io.register(0x1F0, 8, new Timed());
    io.register(0x3F8, 8, new Untimed());
    if (priced && !pricedFirst) {
      io.setPricing(nanos -> nanos * 38 / 10);
    }
    Cpu cpu = new Cpu(mem, io);
    cpu.resetFlat32();
    cpu.setCosts(new CpuCosts(0, 0, 0, 0, DEFAULT, 0, 0, 0));
    byte[] b = HexFormat.of().parseHex(PROGRAM.replace(" ", ""));
    mem.write(CODE, b, 0, b.length);
    cpu.setEip(CODE);
    assertThat(cpu.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.portAccesses()).isEqualTo(3 + 1 + 1 + 4 + 3);
    return cpu.chargedCycles();
  }

  @Test
  void eachAccessCostsWhatItsDeviceSaysAtTheModelsClock() {
    // 1F0h: in eax (240 ns), in ax and out al (120 ns each), four INSD elements, three OUTSW;
    // 3F8h (the device does not say) and 80h (nobody claims it): the default.
    long timed = 912 + 456 + 456 + 4 * 912 + 3 * 456 + 2 * DEFAULT;
    assertThat(charged(true, true)).isEqualTo(timed);
    // Pricing set after the claims applies to them too.
    assertThat(charged(true, false)).isEqualTo(timed);
  }

  @Test
  void aBusWithoutPricingChargesTheDefaultForEveryAccess() {
    assertThat(charged(false, false)).isEqualTo(12 * DEFAULT);
  }

  @Test
  void pricingReadsTheDevicesTimingPerPortAndSize() {
    IoBus io = new IoBus();
    io.register(0x1F0, 8, new Timed());
    io.register(0x3F8, 8, new Untimed());
    assertThat(io.accessCycles(0x1F0, 4)).isEqualTo(PortDevice.UNTIMED);
    io.setPricing(nanos -> nanos * 2);
    assertThat(io.accessCycles(0x1F0, 4)).isEqualTo(480);
    assertThat(io.accessCycles(0x1F7, 2)).isEqualTo(240);
    assertThat(io.accessCycles(0x1F7, 1)).isEqualTo(240);
    assertThat(io.accessCycles(0x3F8, 1)).isEqualTo(PortDevice.UNTIMED);
    assertThat(io.accessCycles(0x80, 1)).isEqualTo(PortDevice.UNTIMED);
    assertThat(io.accessCycles(0xFFFF, 4)).isEqualTo(PortDevice.UNTIMED);
  }
}
