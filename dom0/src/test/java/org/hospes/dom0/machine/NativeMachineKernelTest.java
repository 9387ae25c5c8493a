package org.hospes.dom0.machine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.x86.Exceptions;
import org.junit.jupiter.api.Test;

/**
 * End to end on the real processor: tiny kernels assembled by hand (32-bit code at 0x10000C,
 * right after their Multiboot header). They use only MOV, CMP, Jcc, OUT, HLT and UD2. The tests
 * skip themselves while the processor is still an API stub.
 */
class NativeMachineKernelTest {

  private final ByteArrayOutputStream serial = new ByteArrayOutputStream();
  private final ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();

  private RunResult run(long limit, int... code) throws BootException {
    byte[] bytes = new byte[code.length];
    for (int i = 0; i < code.length; i++) {
      bytes[i] = (byte) code[i];
    }
    NativeMachine m = NativeMachine.builder()
        .serialOut(serial)
        .diagnostics(new PrintStream(diagnostics, true, StandardCharsets.UTF_8))
        .build();
    m.loadMultiboot(ElfImageBuilder.multibootKernel(bytes), "kernel.elf", "test");
    return limit > 0 ? m.run(limit) : m.run();
  }

  @Test
  void printsOkOnCom1AndExitsThroughTheDebugPort() throws BootException {
    RunResult result = run(0,
        0xBA, 0xF8, 0x03, 0x00, 0x00, //   mov edx, 0x3f8
        0xB0, 'O', 0xEE,              //   mov al, 'O' ; out dx, al
        0xB0, 'K', 0xEE,              //   mov al, 'K' ; out dx, al
        0xB0, '\n', 0xEE,             //   mov al, 10  ; out dx, al
        0xB0, 0x10, 0xE6, 0xF4,       //   mov al, 0x10 ; out 0xf4, al
        0xF4);                        //   hlt (not reached)
    assertThat(serial.toString(StandardCharsets.US_ASCII)).isEqualTo("OK\n");
    assertThat(result.exitStatus()).isEqualTo(0x21);
    assertThat(result.reason()).isEqualTo(RunResult.DEBUG_EXIT);
    assertThat(result.instructions()).isEqualTo(9);
  }

  @Test
  void startsWithTheMultibootMagicInEaxAndTheBootInformationInEbx() throws BootException {
    RunResult result = run(0,
        0x3D, 0x02, 0xB0, 0xAD, 0x2B,       //   cmp eax, 0x2badb002
        0x75, 0x0F,                         //   jne fail
        0x8B, 0x4B, 0x04,                   //   mov ecx, [ebx+4]     ; mem_lower
        0x81, 0xF9, 0x80, 0x02, 0x00, 0x00, //   cmp ecx, 640
        0x75, 0x04,                         //   jne fail
        0xB0, 0x00, 0xE6, 0xF4,             //   mov al, 0 ; out 0xf4, al   -> status 1
        0xB0, 0x01, 0xE6, 0xF4);            // fail: mov al, 1 ; out 0xf4, al -> status 3
    assertThat(result.exitStatus()).isEqualTo(1);
  }

  @Test
  void haltWithInterruptsOffEndsTheRunCleanly() throws BootException {
    RunResult result = run(0, 0xF4);
    assertThat(result).isEqualTo(new RunResult(0, "halted", 1));
  }

  @Test
  void anExceptionWithoutAnIdtTripleFaultsAsOnHardware() throws BootException {
    RunResult result = run(0, 0x0F, 0x0B); // ud2, and no IDT to deliver #UD through
    assertThat(result.exitStatus()).isEqualTo(3);
    assertThat(diagnostics.toString(StandardCharsets.UTF_8).lines().findFirst()).contains(
        "hospes: kernel.elf: triple fault at eip=0x0010000c (delivering #UD, error code 0)");
  }

  @Test
  void anExceptionTheProcessorHandsBackIsReportedByVector() throws BootException {
    NativeMachine m = NativeMachine.builder()
        .serialOut(serial)
        .diagnostics(new PrintStream(diagnostics, true, StandardCharsets.UTF_8))
        .build();
    m.loadMultiboot(ElfImageBuilder.multibootKernel(new byte[] {0x0F, 0x0B}), "kernel.elf",
        null);
    m.cpu().setExceptionExitMask(1 << Exceptions.UD);
    RunResult result = m.run();
    assertThat(result.exitStatus()).isEqualTo(3);
    assertThat(diagnostics.toString(StandardCharsets.UTF_8).lines().findFirst())
        .contains("hospes: kernel.elf: unhandled #UD at eip=0x0010000c (error code 0)");
  }

  @Test
  void aSpinningKernelStopsAtTheInstructionLimit() throws BootException {
    RunResult result = run(10_000, 0xEB, 0xFE); // jmp $
    assertThat(result.exitStatus()).isEqualTo(4);
    assertThat(result.instructions()).isEqualTo(10_000);
  }
}
