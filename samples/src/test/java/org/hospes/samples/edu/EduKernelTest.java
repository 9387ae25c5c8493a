package org.hospes.samples.edu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.bench.KernelSources;
import org.hospes.dom0.bench.QemuRunner;
import org.hospes.dom0.devicemodel.plugin.DeviceSpec;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@code edu} kernel (samples/kernels/edu.c) finds QEMU's teaching device by PCI
 * enumeration and uses it. In Hospes the device comes only from the samples' device-model
 * plugin, found on the class path as any third-party jar's would be ({@code --device edu}).
 */
class EduKernelTest {
  private static Path kernel;

  @BeforeAll
  static void build() throws Exception {
    Path root = KernelSources.findRoot();
    Path dir = root.resolve("samples").resolve("target").resolve("kernels");
    KernelSources.make(root, dir, java.util.Map.of(), List.of("edu"));
    kernel = KernelSources.elf(dir, "edu");
  }

  @Test
  void thePluginIsFoundOnTheClassPathByName() {
    assertThat(HostPlugins.classPath().devices().names()).contains("edu");
    assertThat(HostPlugins.classPath().devices().plugin("edu")).isInstanceOf(EduPlugin.class);
  }

  /**
   * A device option the plugin refuses is the device's fault, not the kernel's: the message
   * names the --device argument and not the kernel file (run and run-many both).
   */
  @Test
  void aBadDeviceOptionIsBlamedOnTheDeviceNotTheKernel() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = org.hospes.dom0.cli.HospesCli.newCommandLine(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run", "--mode", "hvm", "--device", "edu,slot=99", kernel.toString());
    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("hospes: --device edu,slot=99: ").contains("99")
        .doesNotContain(kernel.toString()).hasLineCount(1);
    err.reset();
    status = org.hospes.dom0.cli.HospesCli.newCommandLine(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run-many", "--domain", "e=" + kernel + ",mode=hvm,device=[edu,slot=99]");
    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("hospes: e: device edu,slot=99: ")
        .doesNotContain(kernel.toString()).hasLineCount(1);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void hvmGuestDrivesTheDeviceAsQemusEduAnswers() throws Exception {
    Run hvm = run(DomainMode.HVM_EPT, "edu");
    assertThat(hvm.result.exitStatus()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(hvm.serial).contains("identification .... 0x010000ed: version 1.0",
        "13! mod 2^32 = 1932053504", "cause 0x00000001, 7! = 5040",
        "cause 0x00000100 after the DMA", "edu: all checks passed").doesNotContain(" NO\n");
    assertThat(hvm.stderr).contains("device model: device edu: edu 00:03.0");
    var counters = hvm.machine.pluginDevices().get(0).counters();
    assertThat(counters.get("interrupts")).isEqualTo(3);
    assertThat(counters.get("factorials")).isEqualTo(10);
    assertThat(counters.get("dma_transfers")).isEqualTo(2);
    assertThat(counters.get("dma_bytes")).isEqualTo(3072 + 1024);
    assertThat(counters.get("dma_errors")).isZero();

    Assumptions.assumeTrue(QemuRunner.isAvailable(), "qemu-system-i386 not installed");
    QemuRunner.Result q = QemuRunner.run(kernel, List.of("-device", "edu"), 120);
    assertThat(q.exitStatus()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(hvm.serial).isEqualTo(q.serialText());
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void shadowPagingDomainsDriveTheDeviceThroughMmioShadowFaults() throws Exception {
    // Shadow paging forwards MMIO to the device model (a not-present shadow entry for a page
    // with no RAM): the kernel's output is the same as under EPT.
    Run shadow = run(DomainMode.HVM_SHADOW, "edu");
    Run hvm = run(DomainMode.HVM_EPT, "edu");
    assertThat(shadow.result.exitStatus()).as(shadow.serial).isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(shadow.serial).isEqualTo(hvm.serial).contains("edu: all checks passed");
    assertThat(shadow.stderr).doesNotContain("does not reach MMIO BARs");
    assertThat(shadow.machine.pluginDevices().get(0).counters())
        .isEqualTo(hvm.machine.pluginDevices().get(0).counters());
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void withoutDeviceTheKernelFindsNone() throws Exception {
    Run r = run(DomainMode.HVM_EPT, null);
    assertThat(r.serial).contains("no 1234:11e8 on PCI bus 0");
    assertThat(r.result.exitStatus()).isEqualTo(35);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void sameRunTwiceGivesTheSameCounts() throws Exception {
    Run a = run(DomainMode.HVM_EPT, "edu,slot=9");
    Run b = run(DomainMode.HVM_EPT, "edu,slot=9");
    assertThat(a.stderr).contains("edu 00:09.0");
    assertThat(a.result.instructions()).isEqualTo(b.result.instructions());
    assertThat(a.serial).isEqualTo(b.serial);
  }

  private record Run(RunResult result, String serial, String stderr, HvmMachine machine) {}

  private static Run run(DomainMode mode, String device) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 64, serial,
        new PrintStream(err, true, StandardCharsets.UTF_8));
    if (device != null) {
      m.addDevice(DeviceSpec.parse(device));
    }
    m.loadMultiboot(kernel, null);
    RunResult r = m.run(2_000_000_000L);
    return new Run(r, serial.toString(StandardCharsets.ISO_8859_1),
        err.toString(StandardCharsets.UTF_8), m);
  }
}
