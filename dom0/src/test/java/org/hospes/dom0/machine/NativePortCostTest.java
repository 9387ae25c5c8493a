package org.hospes.dom0.machine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.hospes.dom0.devicemodel.Uart16550;
import org.hospes.dom0.devicemodel.ide.Piix3Ide;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.cost.PrescottCostModel;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.hospes.x86.PortDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the bare PC a port access costs what the device on that port takes on its bus, at the
 * cost model's clock (3.8 cycles per ns in the default model, the Pentium 4 672 of Adams and
 * Agesen's native figures): the IDE channels a PIO mode 4 cycle of 120 ns per 16 bits, the
 * UART an ISA byte cycle (port 0x80's 845 ns), PCI configuration six 33 MHz clocks; the PIC,
 * the PIT and unclaimed ports such as 0x80 the model's flat port access (3,200).
 */
class NativePortCostTest {
  @TempDir
  Path tmp;

  private IoBus bus(CostModel model) throws Exception {
    Path img = tmp.resolve(model.name() + ".img");
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    IoBus[] io = new IoBus[1];
    try (DiskImage disk = DiskSpec.parse(img + ",format=raw,vdev=hda,bus=ide", 0, null).open()) {
      NativeMachine.builder().ramMiB(4).costModel(model).ideDisk(disk)
          .cpuFactory((mem, ports) -> {
            io[0] = ports;
            return new Cpu(mem, ports);
          }).build();
    }
    return io[0];
  }

  @Test
  void eachDeviceSaysWhatAnAccessCostsAndTheRestPayTheDefault() throws Exception {
    for (CostModel model : new CostModel[] {new DefaultCostModel(), new PrescottCostModel()}) {
      IoBus io = bus(model);
      // ATA: REP INSD's 32-bit access is two 16-bit cycles, 240 ns, 912 cycles (not 3,200).
      assertThat(io.accessCycles(Piix3Ide.COMMAND_BLOCK[0], 4)).as(model.name()).isEqualTo(912);
      assertThat(io.accessCycles(Piix3Ide.COMMAND_BLOCK[0], 2)).isEqualTo(456);
      assertThat(io.accessCycles(Piix3Ide.COMMAND_BLOCK[0] + 7, 1)).isEqualTo(456);
      assertThat(io.accessCycles(Piix3Ide.CONTROL_BLOCK[0], 1)).isEqualTo(456);
      assertThat(io.accessCycles(Piix3Ide.COMMAND_BLOCK[1], 4)).isEqualTo(912);
      // The UART: an ISA byte cycle each, port 0x80's 845 ns.
      assertThat(io.accessCycles(Uart16550.COM1_BASE, 1)).isEqualTo(3_211);
      assertThat(io.accessCycles(Uart16550.COM1_BASE + 5, 2)).isEqualTo(2 * 3_211);
      // PCI configuration mechanism #1: 180 ns; 0xCF9 (reset control) is an ISA register.
      assertThat(io.accessCycles(PciHostBridge.CONFIG_ADDRESS, 4)).isEqualTo(684);
      assertThat(io.accessCycles(PciHostBridge.CONFIG_DATA + 2, 1)).isEqualTo(684);
      assertThat(io.accessCycles(PciHostBridge.RESET_CONTROL, 1)).isEqualTo(PortDevice.UNTIMED);
      // The PIC, the PIT and nobody's port 0x80: the model's flat port access.
      assertThat(io.accessCycles(0x20, 1)).isEqualTo(PortDevice.UNTIMED);
      assertThat(io.accessCycles(0x40, 1)).isEqualTo(PortDevice.UNTIMED);
      assertThat(io.accessCycles(0x80, 1)).isEqualTo(PortDevice.UNTIMED);
      assertThat(model.portAccess()).isEqualTo(3_200);
    }
  }
}
