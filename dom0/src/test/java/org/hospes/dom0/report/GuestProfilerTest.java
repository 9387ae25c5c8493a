package org.hospes.dom0.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.hospes.hv.time.Runstate;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

class GuestProfilerTest {
  private final GuestSymbols symbols = GuestSymbols.fromSystemMap(String.join("\n",
      "c1000000 T idle", "c1000100 T memcpy", "c1000200 T schedule", "c1000300 T _etext"));

  private static Cpu cpu(int eip, int cpl, long instructions) {
    Cpu c = mock(Cpu.class);
    when(c.blockEip()).thenReturn(eip);
    when(c.cpl()).thenReturn(cpl);
    when(c.instructions()).thenReturn(instructions);
    return c;
  }

  @Test
  void samplesAreCountedByFunctionWithUserModeAndUnmappedAddressesLabelled() {
    Cpu kernel = cpu(0xC100_0120, 0, 10);
    GuestProfiler p = GuestProfiler.manual(List.of(new GuestProfiler.Source(kernel, null)),
        symbols);
    for (int i = 0; i < 3; i++) {
      p.sampleNow();
    }
    when(kernel.blockEip()).thenReturn(0xC100_0210);
    p.sampleNow();
    when(kernel.blockEip()).thenReturn(0x0804_8000);
    when(kernel.cpl()).thenReturn(3);
    p.sampleNow();
    when(kernel.blockEip()).thenReturn(0xD000_0000); // no symbol covers it, in kernel mode
    when(kernel.cpl()).thenReturn(0);
    p.sampleNow();
    p.sampleNow();
    assertThat(p.samples()).isEqualTo(7);
    assertThat(p.rows(10)).containsExactly(
        new GuestProfiler.Row("memcpy", 3),
        new GuestProfiler.Row(GuestProfiler.UNKNOWN, 2),
        new GuestProfiler.Row(GuestProfiler.USER, 1),
        new GuestProfiler.Row("schedule", 1));
    assertThat(p.rows(2)).hasSize(2);
  }

  @Test
  void onlyRunningVcpusThatHaveStartedAreSampled() {
    Runstate running = new Runstate();
    Runstate blocked = new Runstate();
    running.transition(Runstate.RUNNING, 0);
    blocked.transition(Runstate.BLOCKED, 0);
    Runstate fresh = new Runstate();
    fresh.transition(Runstate.RUNNING, 0);
    GuestProfiler p = GuestProfiler.manual(List.of(
        new GuestProfiler.Source(cpu(0xC100_0000, 0, 5), running),
        new GuestProfiler.Source(cpu(0xC100_0100, 0, 5), blocked),
        new GuestProfiler.Source(cpu(0xC100_0200, 0, 0), fresh)), symbols);
    p.sampleNow();
    p.sampleNow();
    assertThat(p.rows(10)).containsExactly(new GuestProfiler.Row("idle", 2));
  }

  @Test
  void theTableGivesEachFunctionsShareAndSaysWhatWasLeftOut() {
    Cpu c = cpu(0xC100_0000, 0, 1);
    GuestProfiler p = GuestProfiler.manual(List.of(new GuestProfiler.Source(c, null)), symbols);
    p.sampleNow();
    p.sampleNow();
    p.sampleNow();
    when(c.blockEip()).thenReturn(0xC100_0100);
    p.sampleNow();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.print(new PrintStream(out, true, StandardCharsets.UTF_8), "System.map", 1);
    assertThat(out.toString(StandardCharsets.UTF_8).lines()).containsExactly(
        "guest profile: 4 samples of the vCPU, one per ms of host time; symbols:"
            + " System.map",
        "   share   samples  function",
        "   75.0%         3  idle",
        "  (1 of 2 functions shown)");
  }

  @Test
  void aRunShorterThanThePeriodSaysSo() {
    GuestProfiler p = GuestProfiler.manual(
        List.of(new GuestProfiler.Source(cpu(0xC100_0000, 0, 1), null)), symbols);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.print(new PrintStream(out, true, StandardCharsets.UTF_8), "System.map", 30);
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("0 samples")
        .contains("the run ended before the first sample");
  }

  @Test
  void theSamplingThreadStopsWhenClosed() throws InterruptedException {
    Cpu c = cpu(0xC100_0000, 0, 1);
    GuestProfiler p = GuestProfiler.start(List.of(new GuestProfiler.Source(c, null)), symbols);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (p.samples() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    p.close();
    long after = p.samples();
    assertThat(after).isPositive();
    Thread.sleep(20);
    assertThat(p.samples()).isEqualTo(after);
  }
}
