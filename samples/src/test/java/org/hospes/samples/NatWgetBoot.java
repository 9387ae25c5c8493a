package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.dom0.toolstack.VifSpec;
import org.hospes.hv.domain.DomainMode;

/**
 * The run the emulated-NIC acceptance tests share (e1000, virtio-net): a 300-line page on an
 * HTTP server on the host's loopback, and Debian's unmodified kernel in an HVM (EPT) domain with
 * one vif on {@code net=nat}, loading the test's modules; nat-init.sh (the PVH NAT test's
 * script) leases an address with udhcpc, fetches the page through dom0's NAT gateway with wget
 * and powers off. Each test checks its own NIC's side.
 */
final class NatWgetBoot implements AutoCloseable {
  /** How the run went: the machine, its console, how it ended and its host time. */
  record Booted(HvmMachine machine, RunResult result, String console, String diagnostics,
      long hostMillis) {}

  final byte[] body;
  final String md5;
  private final HttpServer http;

  /** Serves the page, whose lines say it came "through {@code via}". */
  NatWgetBoot(String via) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      sb.append(String.format("line %04d: hello from the host, through %s%n", i, via));
    }
    body = sb.toString().getBytes(StandardCharsets.US_ASCII);
    md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(body));
    http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext("/hello.txt", ex -> {
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    });
    http.start();
  }

  /** Boots the kernel with {@code modules} and a vif {@code vif}, to its poweroff. */
  Booted boot(List<String> modules, String vif) throws IOException, BootException {
    Path vmlinuz = DebianKernel.vmlinuz();
    byte[] initrd = DebianKernel.busyboxInitramfs("nat-init.sh", modules,
        Map.of("usr/share/udhcpc/default.script", "udhcpc.script"));
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 128, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    m.addVif(VifSpec.parse(vif, null));
    String cmdline = "console=ttyS0 cryptomgr.notests modules=" + String.join(",", modules)
        + " port=" + http.getAddress().getPort();
    long t0 = System.nanoTime();
    m.load(new LinuxKernelLoader(), KernelFiles.read(vmlinuz), vmlinuz.toString(),
        new BootRequest(cmdline, List.of(new BootModule(initrd, "initrd"))), null);
    RunResult r = m.run(20_000_000_000L);
    return new Booted(m, r, console.toString(StandardCharsets.ISO_8859_1),
        diag.toString(StandardCharsets.UTF_8), (System.nanoTime() - t0) / 1_000_000);
  }

  /** Prints the domain's virtual cycles and exits by reason, as "{@code label}: ...". */
  static void printExits(String label, Booted b) {
    org.hospes.hv.stats.Counters c = b.machine().domain().totals();
    StringBuilder exits = new StringBuilder();
    c.exitsByReason().forEach((k, v) -> exits.append(' ').append(k).append('=').append(v[0]));
    System.out.printf("%s: virtual cycles %d, exits %d:%s%n", label,
        b.machine().hypervisor().now(), c.totalExits(), exits);
  }

  /** The guest leased its address and fetched the whole page, checksum and all. */
  void assertFetched(Booted b) {
    assertThat(b.console()).as("console (run ended: %s; %s)", b.result(), b.diagnostics())
        .contains("udhcpc-script: eth0 is 10.0.2.15 netmask 255.255.255.0, router 10.0.2.2")
        .contains("nat-init: wget ok, " + body.length + " bytes, md5 " + md5);
  }

  @Override
  public void close() {
    http.stop(0);
  }
}
