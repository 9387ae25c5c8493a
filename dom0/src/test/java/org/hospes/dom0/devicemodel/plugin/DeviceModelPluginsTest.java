package org.hospes.dom0.devicemodel.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.AbstractModule;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.HospesPlugin;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.ioreq.Ioreq;
import org.junit.jupiter.api.Test;

/** The device-model seam: specs, the map by name, and a device attached through it. */
class DeviceModelPluginsTest {

  /** A minimal third-party device: one I/O BAR whose register holds what is written. */
  static final class Scratch implements DeviceModelPlugin {
    @Override
    public String name() {
      return "scratch";
    }

    @Override
    public String description() {
      return "a scratch register";
    }

    @Override
    public AttachedDevice attach(DeviceModelContext ctx, DeviceSpec spec) {
      spec.requireOnly(Set.of("slot", "value"));
      int[] reg = {(int) spec.longOption("value", 0, 0, 0xFFFF_FFFFL)};
      PciFunction f = new PciFunction("scratch", 0x1234, 0x5678, 1, 0xFF0000, 0)
          .ioBar(0, 16, new org.hospes.x86.PortDevice() {
            @Override
            public int in(int port, int size) {
              return reg[0];
            }

            @Override
            public void out(int port, int size, int value) {
              reg[0] = value;
            }
          });
      int slot = ctx.attachPci((int) spec.longOption("slot", -1, 1, 31), f);
      return () -> "scratch " + slot;
    }
  }

  /** How a plugin jar binds it (its HospesPlugin module). */
  static final class ScratchModule extends AbstractModule implements HospesPlugin {
    @Override
    protected void configure() {
      DeviceModelModule.devices(binder()).addBinding("scratch").to(Scratch.class);
    }
  }

  private static DeviceModelPlugins plugins() {
    return HostPlugins.of(List.of(new ScratchModule())).devices();
  }

  @Test
  void specsParseNameAndOptionsInOrder() {
    DeviceSpec s = DeviceSpec.parse(" edu, slot=0x5 ,dma_mask=0xffffff,msi ");
    assertThat(s.name()).isEqualTo("edu");
    assertThat(s.options()).containsExactly(Map.entry("slot", "0x5"),
        Map.entry("dma_mask", "0xffffff"), Map.entry("msi", "on"));
    assertThat(s.longOption("slot", -1, 1, 31)).isEqualTo(5);
    assertThat(s.toString()).isEqualTo("edu,slot=0x5,dma_mask=0xffffff,msi");
    assertThat(DeviceSpec.parse(s.toString())).isEqualTo(s);
    assertThatThrownBy(() -> DeviceSpec.parse("")).hasMessageContaining("empty device");
    assertThatThrownBy(() -> DeviceSpec.parse("a b")).hasMessageContaining("device name");
    assertThatThrownBy(() -> DeviceSpec.parse("edu,slot=1,slot=2"))
        .hasMessage("device edu: option slot given twice");
    // The same prefix as every other device error: the trial saw the whole text quoted here.
    assertThatThrownBy(() -> DeviceSpec.parse("edu,=3")).hasMessage("device edu: empty option");
    assertThatThrownBy(() -> DeviceSpec.parse("edu,slot=x").longOption("slot", 0, 1, 31))
        .hasMessage("device edu: slot must be a number, got 'x'");
    assertThatThrownBy(() -> DeviceSpec.parse("edu,slot=40").longOption("slot", 0, 1, 31))
        .hasMessage("device edu: slot must be 1..31, got 40");
    assertThatThrownBy(() -> DeviceSpec.parse("edu,colour=red").requireOnly(Set.of("slot")))
        .hasMessage("device edu: unknown option 'colour'; known: slot");
  }

  @Test
  void aBareKeyThatNeedsANumberIsRefusedByName() {
    // The last trial: "--device edu,slot" read slot as "on" and echoed it as "slot=on", so the
    // user saw an option they never typed and no word about the missing value.
    DeviceSpec s = DeviceSpec.parse("edu,slot");
    assertThat(s.toString()).isEqualTo("edu,slot");
    assertThatThrownBy(() -> s.longOption("slot", -1, 1, 31))
        .hasMessage("device edu: option slot needs a value (slot=N)");
    // Given as slot=on it is a value, just not a number.
    assertThatThrownBy(() -> DeviceSpec.parse("edu,slot=on").longOption("slot", -1, 1, 31))
        .hasMessage("device edu: slot must be a number, got 'on'");
  }

  @Test
  void unknownNamesListTheKnownDevices() {
    assertThat(plugins().names()).containsExactly("scratch");
    assertThatThrownBy(() -> plugins().plugin("nope"))
        .hasMessage("unknown device 'nope'; known devices: scratch (a scratch register)");
    assertThat(new DeviceModelPlugins(Map.of()).known())
        .startsWith("no device plugins are installed");
    assertThatThrownBy(() -> new DeviceModelPlugins(Map.of("other", new Scratch())))
        .hasMessage("device bound as 'other' calls itself 'scratch'");
  }

  @Test
  void aPluginDeviceIsOnTheDomainsBusWithAFirmwareAssignedBar() throws Exception {
    HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 16,
        java.io.OutputStream.nullOutputStream(),
        new PrintStream(java.io.OutputStream.nullOutputStream()));
    m.setDevicePlugins(plugins());
    m.addDevice(DeviceSpec.parse("scratch,value=0x2a"));
    m.addDevice(DeviceSpec.parse("scratch,slot=7"));
    assertThatThrownBy(() -> m.addDevice(DeviceSpec.parse("edu")))
        .hasMessageStartingWith("unknown device 'edu'; known devices: scratch");
    m.loadMultiboot(minimalMultiboot(), "k", null);
    assertThat(m.pluginDevices()).extracting(DeviceModelPlugin.AttachedDevice::name)
        .containsExactly("scratch 3", "scratch 7");
    PciFunction f = m.deviceModel().pci().function(3, 0);
    assertThat(f.name()).isEqualTo("scratch");
    int port = (int) f.barAddress(0);
    assertThat(port).as("firmware placed BAR0").isGreaterThanOrEqualTo(0xC000);
    int domid = m.domain().domid();
    assertThat(m.deviceModel().handle(domid, new Ioreq(Ioreq.Type.PIO, port, 4, false, 0)))
        .isEqualTo(0x2a);
    m.deviceModel().handle(domid, new Ioreq(Ioreq.Type.PIO, port, 4, true, 7));
    assertThat(m.deviceModel().handle(domid, new Ioreq(Ioreq.Type.PIO, port, 4, false, 0)))
        .isEqualTo(7);
  }

  @Test
  void badOptionsAndTakenSlotsFailTheBootWithOneLine() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 16,
        java.io.OutputStream.nullOutputStream(),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    m.setDevicePlugins(plugins());
    m.addDevice(DeviceSpec.parse("scratch,slot=1"));
    assertThatThrownBy(() -> m.loadMultiboot(minimalMultiboot(), "k", null))
        .hasMessage("--device scratch,slot=1: PCI slot 01 is taken by PIIX3");
  }

  /**
   * A run-many spec's device= (and an xl file's -device) is named as the user gave it, not as
   * run's --device option, which run-many and create do not have.
   */
  @Test
  void aHostDomainsDeviceIsNamedWithoutRunsOption() {
    org.hospes.dom0.toolstack.HostRunner host =
        org.hospes.dom0.toolstack.HostRunner.create(64, new ByteArrayOutputStream());
    org.hospes.dom0.toolstack.DomainSpec spec = org.hospes.dom0.toolstack.DomainSpec.parse(
        "a=k.elf,mode=hvm,ram=4,device=[nope,slot=5]", java.nio.file.Path.of("/"));
    assertThatThrownBy(() -> host.start(spec, minimalMultiboot()))
        .hasMessageStartingWith("device nope,slot=5: unknown device 'nope'; ");
  }

  /** A Multiboot v1 image that only halts: header at 0, loaded at 1 MiB. */
  static byte[] minimalMultiboot() {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(64)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int magic = 0x1BADB002;
    int flags = 1 << 16;
    b.putInt(magic).putInt(flags).putInt(-(magic + flags));
    b.putInt(0x100000).putInt(0x100000).putInt(0x100040).putInt(0x100040).putInt(0x100020);
    b.position(0x20);
    b.put((byte) 0xF4).put((byte) 0xEB).put((byte) 0xFD); // hlt; jmp back
    return b.array();
  }
}
