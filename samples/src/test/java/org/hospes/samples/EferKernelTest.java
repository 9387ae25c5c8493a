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
 * samples/kernels/efer.c: an HVM domain's processor has NX (the write of EFER.NXE sticks), with
 * EPT and with shadow paging, whose PAE shadows carry the guest's execute-disable bits.
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
  void hvmVcpusHaveNxWithEptAndWithShadowPaging() throws Exception {
    String expected = """
        cpuid 0x80000001: nx=1
        wrmsr efer.nxe: no fault, efer 800
        wrmsr efer 0: no fault
        """;
    assertThat(run(DomainMode.HVM_EPT)).isEqualTo(expected);
    assertThat(run(DomainMode.HVM_SHADOW)).isEqualTo(expected);
  }
}
