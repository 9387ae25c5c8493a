package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's kernel boots in PVH with a real-sized initramfs: /init plus 16 MiB of incompressible
 * filler. With the start info placed after the modules, the kernel triple-faulted before
 * printing a line (its early page tables did not reach the memory map); the builder now puts it
 * in low memory, below the kernel.
 */
@org.junit.jupiter.api.Tag("linux-long") // in ./test's second stage (see ./test)
class DebianLinuxLargeInitramfsTest {
  private static final int FILLER_BYTES = 16 << 20;

  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void debiansKernelBootsWithASixteenMebibyteInitramfs() throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    byte[] filler = new byte[FILLER_BYTES];
    new Random(0x1417_2D0DL).nextBytes(filler);
    Path initrd = DebianKernel.initramfs(tmp, java.util.Map.of("filler.bin", filler));
    assertThat(Files.size(initrd)).isGreaterThanOrEqualTo(16L << 20);

    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 256, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    m.loadPvh(vmlinuz, "console=hvc0 cryptomgr.notests", null, List.of(initrd));
    RunResult r = m.run(6_000_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1);
    assertThat(text)
        .as("console (run ended: %s; %s)", r, diag)
        .contains("Linux version 6.1.0-")
        .containsPattern("Freeing initrd memory: 1[67][0-9]{3}K")
        .contains("Run /init as init process")
        .contains("Hello from /init on Hospes! uptime: ");
    assertThat(r.exitStatus()).as("%s %s", r, diag).isZero();
  }
}
