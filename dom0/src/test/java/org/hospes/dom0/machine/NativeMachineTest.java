package org.hospes.dom0.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.LoadedKernel;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.Exceptions;
import org.hospes.x86.Flags;
import org.hospes.hv.platform.Pit8254;
import org.hospes.x86.IoBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run loop and exit conventions, driven by a scripted processor (Firecracker tests its exit
 * handler with fabricated exits the same way), so they hold whatever the interpreter does.
 */
class NativeMachineTest {

  private final Cpu cpu = mock(Cpu.class);
  private final ByteArrayOutputStream serial = new ByteArrayOutputStream();
  private final ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
  private final AtomicLong retired = new AtomicLong();
  private final AtomicLong idle = new AtomicLong();
  private IoBus io;
  private NativeMachine machine;

  @BeforeEach
  void buildMachine() throws BootException {
    machine = NativeMachine.builder()
        .ramMiB(4)
        .serialOut(serial)
        .diagnostics(new PrintStream(diagnostics, true, StandardCharsets.UTF_8))
        .cpuFactory((mem, ioBus) -> {
          io = ioBus;
          return cpu;
        })
        .build();
    when(cpu.instructions()).thenAnswer(inv -> retired.get());
    when(cpu.cycles()).thenAnswer(inv -> retired.get() + idle.get());
    doAnswer(inv -> idle.addAndGet(inv.getArgument(0, Long.class)))
        .when(cpu).addIdleCycles(anyLong());
    machine.loadMultiboot(ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}),
        "kernel.elf", null);
  }

  private String diagnosticText() {
    return diagnostics.toString(StandardCharsets.UTF_8);
  }

  @Test
  void loadingPutsTheProcessorInTheMultibootEntryState() throws BootException {
    Cpu fresh = mock(Cpu.class);
    NativeMachine m = NativeMachine.builder().ramMiB(4).cpuFactory((mem, ioBus) -> fresh).build();
    LoadedKernel k = m.loadMultiboot(ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}),
        "k", "a b");
    verify(fresh).resetFlat32();
    verify(fresh).setEflags(0x2);
    verify(fresh).setReg(Cpu.EAX, 0x2BADB002);
    verify(fresh).setReg(Cpu.EBX, (int) k.bootInfoAddress());
    verify(fresh).setEip(0x10000C);
  }

  @Test
  void haltEndsTheRunWithStatusZero() {
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      retired.addAndGet(7);
      return CpuExit.HLT;
    });
    assertThat(machine.run()).isEqualTo(new RunResult(0, "halted", 7));
    assertThat(diagnosticText()).isEmpty();
  }

  @Test
  void budgetExitsKeepTheMachineRunning() {
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      retired.addAndGet(inv.getArgument(0, Long.class));
      return CpuExit.BUDGET;
    }).thenAnswer(inv -> {
      retired.incrementAndGet();
      return CpuExit.HLT;
    });
    RunResult result = machine.run();
    assertThat(result.reason()).isEqualTo("halted");
    assertThat(result.instructions()).isEqualTo(NativeMachine.SLICE + 1);
  }

  @Test
  void debugExitStopsTheProcessorAndGivesQemusStatus() {
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      io.out(0xF4, 1, 0x10);
      return CpuExit.STOPPED;
    });
    RunResult result = machine.run();
    verify(cpu).requestStop();
    assertThat(result.exitStatus()).isEqualTo(0x21);
    assertThat(result.reason()).isEqualTo(RunResult.DEBUG_EXIT);
    assertThat(result.isFailure()).isFalse();
  }

  @Test
  void theFirstDebugExitWriteDecidesTheStatus() {
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      io.out(0xF4, 1, 0x10);
      io.out(0xF4, 1, 0x01);
      return CpuExit.STOPPED;
    });
    assertThat(machine.run().exitStatus()).isEqualTo(0x21);
  }

  @Test
  void serialOutputReachesTheStreamByTheEndOfTheRun() {
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      for (char c : "no newline".toCharArray()) {
        io.out(0x3F8, 1, c);
      }
      return CpuExit.HLT;
    });
    machine.run();
    assertThat(serial.toString(StandardCharsets.US_ASCII)).isEqualTo("no newline");
  }

  @Test
  void anUndeliverableExceptionIsACrashReportedWithTheGuestsLastOutput() {
    when(cpu.run(anyLong())).thenReturn(CpuExit.EXCEPTION);
    when(cpu.exceptionVector()).thenReturn(Exceptions.UD);
    when(cpu.eip()).thenReturn(0x101234);
    RunResult result = machine.run();
    assertThat(result.exitStatus()).isEqualTo(ExitStatus.GUEST_CRASHED);
    assertThat(result.reason()).isEqualTo("unhandled #UD at eip=0x00101234 (error code 0)");
    assertThat(diagnosticText())
        .isEqualTo("hospes: kernel.elf: unhandled #UD at eip=0x00101234 (error code 0)"
            + System.lineSeparator() + "hospes: the guest wrote nothing (serial, console_io or"
            + " PV console) before it stopped" + System.lineSeparator());
  }

  @Test
  void errorCodesArePrintedInHex() {
    when(cpu.run(anyLong())).thenReturn(CpuExit.EXCEPTION);
    when(cpu.exceptionVector()).thenReturn(Exceptions.GP);
    when(cpu.exceptionErrorCode()).thenReturn(0x18);
    when(cpu.eip()).thenReturn(0x100000);
    assertThat(machine.run().reason()).isEqualTo("unhandled #GP at eip=0x00100000 (error code 0x18)");
  }

  @Test
  void aTripleFaultIsACrash() {
    when(cpu.run(anyLong())).thenReturn(CpuExit.TRIPLE_FAULT);
    when(cpu.eip()).thenReturn(0x100010);
    when(cpu.exceptionVector()).thenReturn(Exceptions.PF);
    when(cpu.exceptionErrorCode()).thenReturn(0x2);
    when(cpu.cr2()).thenReturn(0xC0DE0000);
    RunResult result = machine.run();
    assertThat(result.exitStatus()).isEqualTo(3);
    assertThat(result.reason()).isEqualTo(
        "triple fault at eip=0x00100010 (delivering #PF, error code 0x2, cr2=0xc0de0000)");
    assertThat(result.isFailure()).isTrue();
  }

  @Test
  void theInstructionLimitGivesStatusFourAndTheMachineCanResume() {
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      retired.addAndGet(inv.getArgument(0, Long.class));
      return CpuExit.BUDGET;
    });
    when(cpu.eip()).thenReturn(0x10000C);
    RunResult limited = machine.run(1000);
    assertThat(limited).isEqualTo(new RunResult(4,
        "instruction limit of 1000 reached at eip=0x0010000c", 1000));
    verify(cpu).run(1000);
    assertThat(diagnosticText()).contains("hospes: kernel.elf: instruction limit of 1000");

    when(cpu.run(anyLong())).thenReturn(CpuExit.HLT);
    assertThat(machine.run().reason()).isEqualTo("halted");
  }

  @Test
  void aFinishedMachineCannotRunAgain() {
    when(cpu.run(anyLong())).thenReturn(CpuExit.HLT);
    machine.run();
    assertThatThrownBy(machine::run).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void runningWithoutAKernelIsAProgrammingError() {
    NativeMachine empty = NativeMachine.builder().ramMiB(1).cpuFactory((m, i) -> cpu).build();
    assertThatThrownBy(empty::run).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no kernel");
  }

  @Test
  void aMissingKernelFileIsABootError(@TempDir Path dir) {
    NativeMachine m = NativeMachine.builder().ramMiB(1).cpuFactory((mem, i) -> cpu).build();
    assertThatThrownBy(() -> m.loadMultiboot(dir.resolve("nope.elf"), null))
        .isInstanceOf(BootException.class).hasMessage("no such file");
    assertThatThrownBy(() -> m.loadMultiboot(dir, null)).hasMessage("is a directory");
  }

  @Test
  void ramSizeIsBounded() {
    assertThatThrownBy(() -> NativeMachine.builder().ramMiB(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> NativeMachine.builder().ramMiB(2048))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // ------------------------------------------------------------------ virtual time

  /** The PIC as a kernel sets it up (vectors 0x20/0x28) with only IRQ 0 and the cascade open. */
  private void programPicAndPit(int pitCount) {
    int[][] writes = {
        {0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01},
        {0xA0, 0x11}, {0xA1, 0x28}, {0xA1, 0x02}, {0xA1, 0x01},
        {0x21, 0xFA}, {0xA1, 0xFF},
        {0x43, 0x34}, {0x40, pitCount & 0xFF}, {0x40, pitCount >>> 8}};
    for (int[] w : writes) {
      io.out(w[0], 1, w[1]);
    }
  }

  private long cycleOfPitTick(long tick) {
    return machine.clock().cycleOfTick(tick, Pit8254.FREQUENCY_HZ);
  }

  @Test
  void haltWithInterruptsEnabledAndEveryLineMaskedStillEndsTheRun() {
    io.out(0x21, 1, 0xFF);
    when(cpu.eflags()).thenReturn(Flags.FIXED1 | Flags.IF);
    when(cpu.run(anyLong())).thenReturn(CpuExit.HLT);
    assertThat(machine.run().reason()).isEqualTo("halted");
    assertThat(idle.get()).isZero();
  }

  @Test
  void theFirmwareLeftThePitOnIrq0AtVector8() {
    assertThat(machine.pic().imr() & 0xFF).isEqualTo(0xB8);
    when(cpu.eflags()).thenReturn(Flags.FIXED1 | Flags.IF);
    long[] wokenAt = new long[1];
    when(cpu.run(anyLong())).thenReturn(CpuExit.HLT).thenAnswer(inv -> {
      assertThat(machine.pic().acknowledge()).isEqualTo(0x08);
      wokenAt[0] = cpu.cycles();
      io.out(0xF4, 1, 0x10);
      return CpuExit.STOPPED;
    });
    machine.run();
    // Mode 2 with count 0 (65536): OUT rises again one tick after count 1, 18.2 times a second.
    assertThat(wokenAt[0]).isEqualTo(cycleOfPitTick(65537));
  }

  @Test
  void haltWithInterruptsEnabledSleepsToTheTimerInterruptInVirtualTime() {
    when(cpu.eflags()).thenReturn(Flags.FIXED1 | Flags.IF);
    long[] wokenAt = new long[1];
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      programPicAndPit(1000);
      retired.addAndGet(3);
      return CpuExit.HLT;
    }).thenAnswer(inv -> {
      // The machine only calls back once the PIC asserts INTR; this is the processor's INTA.
      assertThat(machine.pic().pending()).isTrue();
      assertThat(machine.pic().acknowledge()).isEqualTo(0x20);
      wokenAt[0] = cpu.cycles();
      io.out(0xF4, 1, 0x10);
      return CpuExit.STOPPED;
    });
    assertThat(machine.run().exitStatus()).isEqualTo(0x21);
    // Loaded on the tick after the write (tick 0), the rising edge comes 1000 ticks later.
    assertThat(wokenAt[0]).isEqualTo(cycleOfPitTick(1001));
  }

  @Test
  void slicesEndAtTheNextTimerDeadline() {
    programPicAndPit(1000);
    List<Long> budgets = new ArrayList<>();
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      long n = inv.getArgument(0, Long.class);
      budgets.add(n);
      retired.addAndGet(n);
      if (budgets.size() == 3) {
        io.out(0xF4, 1, 0x10);
        return CpuExit.STOPPED;
      }
      return CpuExit.BUDGET;
    });
    machine.run();
    // Mode 2: OUT falls at count 1 (tick 1000) and rises at tick 1001.
    assertThat(budgets.get(0)).isEqualTo(cycleOfPitTick(1000));
    assertThat(budgets.get(1)).isEqualTo(cycleOfPitTick(1001) - cycleOfPitTick(1000));
    assertThat(machine.pic().irr() & 1).isEqualTo(1);
  }

  @Test
  void haltWithTheTimerMaskedEndsTheRun() {
    when(cpu.eflags()).thenReturn(Flags.FIXED1 | Flags.IF);
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      programPicAndPit(1000);
      io.out(0x21, 1, 0xFF);
      return CpuExit.HLT;
    });
    assertThat(machine.run().reason()).isEqualTo("halted");
    assertThat(idle.get()).isZero();
  }

  @Test
  void aHaltThatTimerInterruptsCanNeverEndCountsAsHalted() {
    when(cpu.eflags()).thenReturn(Flags.FIXED1 | Flags.IF);
    when(cpu.run(anyLong())).thenAnswer(inv -> {
      programPicAndPit(1000);
      io.out(0x20, 1, 0x11);         // re-initialise, and leave IRQ 0 in service without EOI
      io.out(0x21, 1, 0x20);
      io.out(0x21, 1, 0x04);
      io.out(0x21, 1, 0x01);
      io.out(0x21, 1, 0xFA);
      return CpuExit.HLT;
    }).thenAnswer(inv -> {
      machine.pic().acknowledge();
      return CpuExit.HLT;
    });
    RunResult result = machine.run();
    assertThat(result.reason()).isEqualTo("halted");
    assertThat(idle.get()).isGreaterThan(cycleOfPitTick(1000L * NativeMachine.MAX_FRUITLESS_WAKES / 2));
  }
}
