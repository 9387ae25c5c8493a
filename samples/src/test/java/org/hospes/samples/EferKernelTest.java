package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * samples/kernels/efer.c: an EPT domain's processor has NX (the write of EFER.NXE sticks); a
 * shadow-paged one is a processor without NX, since the shadows cannot enforce execute-disable:
 * CPUID leaves the bit out and the write of the now reserved bit raises #GP(0), as the SDM says
 * (QEMU ignores such a write instead).
 */
class EferKernelTest {

  private static String run(DomainMode mode) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 16, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.loadMultiboot(TestKernels.anyElf("efer"), null);
    RunResult r = m.run();
    assertThat(r.exitStatus()).as(r.toString()).isEqualTo(33);
    return serial.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void shadowPagedVcpusHaveNoNxAndEptOnesDo() throws Exception {
    assertThat(run(DomainMode.HVM_EPT)).isEqualTo("""
        cpuid 0x80000001: nx=1
        wrmsr efer.nxe: no fault, efer 800
        wrmsr efer 0: no fault
        """);
    assertThat(run(DomainMode.HVM_SHADOW)).isEqualTo("""
        cpuid 0x80000001: nx=0
        wrmsr efer.nxe: #13 error 0, efer 0
        wrmsr efer 0: no fault
        """);
  }
}
