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
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.devicemodel.e1000.E1000;
import org.hospes.dom0.devicemodel.e1000.E1000Stats;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.dom0.toolstack.VifSpec;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The emulated NIC's acceptance test: Debian's unmodified kernel in an HVM domain loads the
 * package's own e1000.ko for the 82540EM (8086:100E) that {@code --vif net=nat} gives an hvm
 * domain by default; busybox's udhcpc leases an address from dom0's NAT gateway and wget
 * fetches a page from an HTTP server on the host's loopback through the gateway. The script
 * nat-init.sh is the PVH NAT test's; the run ends when the kernel halts after poweroff.
 */
@Tag("linux-long")
class DebianLinuxE1000Test {

  @Test
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void linuxsE1000LeasesAnAddressAndFetchesAPageThroughNat() throws Exception {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      sb.append(String.format("line %04d: hello from the host, through an e1000%n", i));
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
      List<String> modules = List.of("e1000.ko");
      byte[] initrd = DebianKernel.busyboxInitramfs("nat-init.sh", modules,
          Map.of("usr/share/udhcpc/default.script", "udhcpc.script"));
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      ByteArrayOutputStream diag = new ByteArrayOutputStream();
      HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 128, console,
          new PrintStream(diag, true, StandardCharsets.UTF_8));
      m.addVif(VifSpec.parse("net=nat", null)); // e1000: the hvm default
      String cmdline = "console=ttyS0 cryptomgr.notests modules=" + String.join(",", modules)
          + " port=" + http.getAddress().getPort();
      long t0 = System.nanoTime();
      m.load(new LinuxKernelLoader(), KernelFiles.read(vmlinuz), vmlinuz.toString(),
          new BootRequest(cmdline, List.of(new BootModule(initrd, "initrd"))), null);
      RunResult r = m.run(20_000_000_000L);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      String text = console.toString(StandardCharsets.ISO_8859_1);
      text.lines().filter(l -> l.contains("e1000")).forEach(l -> System.out.println("  " + l));
      assertThat(m.e1000Devices()).hasSize(1);
      E1000 nic = m.e1000Devices().get(0);
      E1000Stats s = nic.stats();
      System.out.printf("e1000: %d ms host, %d instructions, tx %d frames %d B, rx %d frames"
          + " %d B, filtered %d, dropped %d, mmio %d reads %d writes, io %d, interrupts %d,"
          + " ioreqs %d%n", ms, r.instructions(), s.txFrames(), s.txBytes(), s.rxFrames(),
          s.rxBytes(), s.rxFiltered(), s.rxDropped(), s.mmioReads(), s.mmioWrites(),
          s.ioAccesses(), s.interrupts(), m.deviceModel().requests());
      org.hospes.hv.stats.Counters c = m.domain().totals();
      StringBuilder exits = new StringBuilder();
      c.exitsByReason().forEach((k, v) -> exits.append(' ').append(k).append('=').append(v[0]));
      System.out.printf("e1000: virtual cycles %d, exits %d:%s%n", m.hypervisor().now(),
          c.totalExits(), exits);
      assertThat(text).as("console (run ended: %s; %s)", r, diag)
          .contains("e1000 0000:00:06.0 eth0: Intel(R) PRO/1000 Network Connection")
          .contains("e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex")
          .contains("udhcpc-script: eth0 is 10.0.2.15 netmask 255.255.255.0, router 10.0.2.2")
          .contains("nat-init: wget ok, " + body.length + " bytes, md5 " + md5);
      assertThat(s.dmaErrors()).isZero();
      assertThat(s.ringErrors()).isZero();
      assertThat(s.rxBytes()).isGreaterThan(body.length);
      assertThat(s.interrupts()).isPositive();
    } finally {
      http.stop(0);
    }
  }
}
