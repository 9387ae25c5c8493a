package org.hospes.samples.edu;

import java.util.Map;
import java.util.Set;
import org.hospes.dom0.devicemodel.plugin.DeviceModelContext;
import org.hospes.dom0.devicemodel.plugin.DeviceModelPlugin;
import org.hospes.dom0.devicemodel.plugin.DeviceSpec;

/**
 * {@code --device edu[,slot=N][,dma_mask=MASK]}: adds an {@link EduDevice} to the domain's PCI
 * bus, at slot N or the first free one from 00:03.0 (where QEMU's {@code -device edu} lands on
 * a {@code -net none} PC), doing DMA through the domain's counted foreign mappings.
 */
public final class EduPlugin implements DeviceModelPlugin {
  public static final String NAME = "edu";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String description() {
    return "QEMU's edu teaching device, PCI 1234:11e8; options slot=N, dma_mask=MASK";
  }

  @Override
  public AttachedDevice attach(DeviceModelContext context, DeviceSpec options) {
    options.requireOnly(Set.of("slot", "dma_mask"));
    int slot = (int) options.longOption("slot", -1, 1, 31);
    long mask = options.longOption("dma_mask", EduDevice.DEFAULT_DMA_MASK, 0xFFF,
        0xFFFF_FFFFL);
    EduDevice edu = new EduDevice(context.dma(), mask);
    int at = context.attachPci(slot, edu.function());
    if (!context.mmio()) {
      context.log().accept("edu: this " + context.mode().cliName() + " domain does not reach"
          + " MMIO BARs, so the guest will read all ones there");
    }
    String name = String.format("edu 00:%02x.0", at);
    return new AttachedDevice() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Map<String, Long> counters() {
        return edu.counters();
      }
    };
  }
}
