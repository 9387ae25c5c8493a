package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.devicemodel.virtio.VirtioNet;
import org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.dom0.toolstack.VifSpec;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * virtio-net's acceptance test: Debian's unmodified kernel in an HVM domain loads the package's
 * own virtio_pci and virtio_net (the transitional device 1AF4:1000 on net=nat), busybox's
 * udhcpc leases an address from dom0's NAT gateway and wget fetches a page from an HTTP server
 * on the host's loopback through the gateway. The script nat-init.sh is the PVH NAT test's; the
 * run ends when the kernel halts after poweroff (no ACPI).
 */
@Tag("linux-long")
class DebianLinuxVirtioNetTest {

  @Test
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void linuxsVirtioNetLeasesAnAddressAndFetchesAPageThroughNat() throws Exception {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      sb.append(String.format("line %04d: hello from the host, through virtio-net%n", i));
    }
    byte[] body = sb.toString().getBytes(StandardCharsets.US_ASCII);
    String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(body));
    HttpServer http = HttpServer.create(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext("/hello.txt", ex -> {
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    });
    http.start();
    try {
      Path vmlinuz = DebianKernel.vmlinuz();
      List<String> modules = Stream.concat(DebianLinuxVirtioTest.VIRTIO_PCI.stream(),
          Stream.of("failover.ko", "net_failover.ko", "virtio_net.ko")).toList();
      byte[] initrd = DebianKernel.busyboxInitramfs("nat-init.sh", modules,
          Map.of("usr/share/udhcpc/default.script", "udhcpc.script"));
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      ByteArrayOutputStream diag = new ByteArrayOutputStream();
      HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 128, console,
          new PrintStream(diag, true, StandardCharsets.UTF_8));
      m.addVif(VifSpec.parse("net=nat,model=virtio", null));
      String cmdline = "console=ttyS0 cryptomgr.notests modules=" + String.join(",", modules)
          + " port=" + http.getAddress().getPort();
      long t0 = System.nanoTime();
      m.load(new LinuxKernelLoader(), KernelFiles.read(vmlinuz), vmlinuz.toString(),
          new BootRequest(cmdline, List.of(new BootModule(initrd, "initrd"))), null);
      RunResult r = m.run(20_000_000_000L);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      String text = console.toString(StandardCharsets.ISO_8859_1);
      VirtioPciLegacy dev = m.virtioDevices().get(0);
      VirtioNet nic = (VirtioNet) dev.device();
      System.out.printf("virtio-net: %d ms host, %d instructions, tx %d frames %d B, rx %d frames"
          + " %d B, dropped %d, notifies %d interrupts %d, ioreqs %d%n", ms, r.instructions(),
          nic.txFrames, nic.txBytes, nic.rxFrames, nic.rxBytes, nic.rxDropped,
          dev.notifications(), dev.interrupts(), m.deviceModel().requests());
      org.hospes.hv.stats.Counters c = m.domain().totals();
      StringBuilder exits = new StringBuilder();
      c.exitsByReason().forEach((k, v) -> exits.append(' ').append(k).append('=').append(v[0]));
      System.out.printf("virtio-net: virtual cycles %d, exits %d:%s%n", m.hypervisor().now(),
          c.totalExits(), exits);
      assertThat(text).as("console (run ended: %s; %s)", r, diag)
          .contains("udhcpc-script: eth0 is 10.0.2.15 netmask 255.255.255.0, router 10.0.2.2")
          .contains("nat-init: wget ok, " + body.length + " bytes, md5 " + md5);
      assertThat(nic.txErrors).isZero();
      assertThat(dev.needsResets()).isZero();
      // virtio_pci took MSI-X: every interrupt was a message the hypervisor delivered.
      System.out.printf("virtio-net: MSI-X messages %d, MSIs delivered %d dropped %d%n",
          dev.msix().messages(), m.hypervisor().platform(m.domain()).msiDelivered(),
          m.hypervisor().platform(m.domain()).msiDropped());
      assertThat(dev.msix().enabled()).isTrue();
      assertThat(dev.msix().messages()).isPositive();
      assertThat(m.hypervisor().platform(m.domain()).msiDropped()).isZero();
      assertThat(nic.rxBytes).isGreaterThan(body.length);
    } finally {
      http.stop(0);
    }
  }
}
