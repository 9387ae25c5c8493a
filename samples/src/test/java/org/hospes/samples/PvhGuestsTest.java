package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.abi.Hypercall;
import org.hospes.dom0.boot.PvhLoader;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.sdk.GuestBuilder;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** PVH guests built with the guest SDK: console_io, xen_version, shutdown, hostile hypercalls. */
class PvhGuestsTest {
  private static Path hello;
  private static Path hostile;

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    Path out = root.resolve("samples/target/guests");
    GuestBuilder builder = new GuestBuilder(root.resolve("guest-sdk/c"), out);
    hello = builder.build("hello-pvh", List.of(root.resolve("samples/guests/hello-pvh/hello.c")));
    hostile = builder.build("hostile", List.of(root.resolve("samples/guests/hostile/hostile.c")));
  }

  @Test
  void helloPvhGreetsThroughThePvConsoleAndPowersOff() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 16, console,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.loadPvh(hello, null);
    RunResult r = m.run();
    assertThat(console.toString(StandardCharsets.US_ASCII)).isEqualTo(
        "Hello from a PVH guest on Xen 4.17-hospes\n"
            + "start info magic ok, 3 memory map entries\n");
    assertThat(r.exitStatus()).isZero();
    assertThat(r.reason()).isEqualTo("shutdown: poweroff");
    var c = m.domain().totals();
    assertThat(c.hypercallCount[Hypercall.XEN_VERSION.number()]).isEqualTo(2);
    // printf goes to the PV console ring the builder gave it, not console_io.
    assertThat(c.hypercallCount[Hypercall.CONSOLE_IO.number()]).isZero();
    assertThat(m.pvh().console().bytes()).isEqualTo(console.size());
    assertThat(c.hypercallCount[Hypercall.SCHED_OP.number()]).isEqualTo(1);
    assertThat(c.hypercallErrors).isZero();
  }

  @Test
  void aKernelWithoutThePvhNoteIsRefusedWithAClearMessage() throws Exception {
    Path multiboot = TestKernels.elf("hello");
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 16, new ByteArrayOutputStream(),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertThatThrownBy(() -> m.loadPvh(multiboot, null))
        .hasMessage("not a PVH kernel (no Xen PHYS32_ENTRY note)");
  }

  /**
   * A hostile guest makes 100,000 hypercalls with random numbers and arguments while another
   * guest runs beside it: the hypervisor survives, every answer is a documented errno, and the
   * other guest finishes with its exact output.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void randomHypercallsHurtNoOneElse() throws Exception {
    Hypervisor hv = new Hypervisor(96, new RoundRobinScheduler(), new DefaultCostModel());
    ByteArrayOutputStream badOut = new ByteArrayOutputStream();
    ByteArrayOutputStream goodOut = new ByteArrayOutputStream();
    Domain bad = boot(hv, "hostile", hostile, badOut);
    Domain good = boot(hv, "hello", hello, goodOut);
    hv.run(Long.MAX_VALUE / 4);
    assertThat(good.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(good.endReason()).isEqualTo("poweroff");
    assertThat(goodOut.toString(StandardCharsets.US_ASCII))
        .startsWith("Hello from a PVH guest on Xen 4.17-hospes\n");
    assertThat(bad.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(bad.endReason()).isEqualTo("poweroff");
    String last = badOut.toString(StandardCharsets.ISO_8859_1);
    assertThat(last.substring(last.lastIndexOf("hostile:")))
        .startsWith("hostile: 100000 hypercalls,")
        .contains(" 0 undocumented results");
    assertThat(bad.totals().totalHypercalls()).isGreaterThanOrEqualTo(100_000);
  }

  private static Domain boot(Hypervisor hv, String name, Path elf, ByteArrayOutputStream console)
      throws Exception {
    Domain d = hv.createHvmDomain(name, DomainMode.PVH, 16);
    d.setConsole(console);
    var k = new PvhLoader().load(Files.readAllBytes(elf), null, d.memory(),
        (long) d.p2m().size() << 12);
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.setReg(Cpu.EBX, (int) k.startInfo());
    cpu.setEip((int) k.entry());
    hv.unpause(d);
    return d;
  }
}
