package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's unmodified 686-pae kernel with 2 vCPUs: the MADT lists two local APICs, Linux starts
 * the second processor by INIT-SIPI-SIPI through its real-mode trampoline, and /init runs.
 */
@Tag("linux-long")
class DebianLinuxSmpTest {
  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void debiansKernelBringsUpTwoVcpusInPvh() throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    Path initrd = DebianKernel.initramfs(tmp, java.util.Map.of());
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 256, 2, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    m.loadPvh(vmlinuz, "console=hvc0 earlyprintk=xen cryptomgr.notests", null, List.of(initrd));
    RunResult r = m.run(8_000_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1);
    String hvLog = diag.toString(StandardCharsets.ISO_8859_1);
    System.out.println(hvLog.length() > 20000 ? hvLog.substring(hvLog.length() - 20000) : hvLog);
    System.out.println(text.length() > 20000 ? text.substring(text.length() - 20000) : text);
    assertThat(text + hvLog).as("run ended: %s", r)
        .contains("smpboot: Total of 2 processors activated")
        .contains("Run /init as init process")
        .contains("Hello from /init on Hospes! uptime: ");
    assertThat(r.exitStatus()).as("%s", r).isZero();
  }
}
