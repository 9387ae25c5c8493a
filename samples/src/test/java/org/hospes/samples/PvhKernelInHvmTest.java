package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.hospes.abi.Hypercall;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.PvhKernelLoader;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * hvm and hvm-shadow boot a PVH kernel as Xen boots one in an HVM domain: at its PHYS32_ENTRY
 * with an hvm_start_info, with the hypercall interface and dom0's xenstore and PV console. The
 * SDK's hello-pvh guest says the same in all three modes.
 */
class PvhKernelInHvmTest {
  private static final String HELLO = "Hello from a PVH guest on Xen 4.17-hospes\n"
      + "start info magic ok, 3 memory map entries\n";
  private static Path hello;

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    hello = new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("hello-pvh", List.of(root.resolve("samples/guests/hello-pvh/hello.c")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"pvh", "hvm", "hvm-shadow"})
  void helloPvhSaysTheSameInEveryMode(String mode) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run", "--mode", mode, hello.toString());
    assertThat(out.toString(StandardCharsets.US_ASCII)).as(err.toString(StandardCharsets.UTF_8))
        .isEqualTo(HELLO);
    assertThat(status).isZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  /**
   * In pv mode a classic PV domain builder starts it, with no PVH start info: it says so
   * (main's start info is NULL there; reading through it gave "magic BAD").
   */
  @org.junit.jupiter.api.Test
  void helloPvhSaysHowItWasStartedInPvMode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run", "--mode", "pv", hello.toString());
    assertThat(out.toString(StandardCharsets.US_ASCII)).as(err.toString(StandardCharsets.UTF_8))
        .isEqualTo("Hello from a PV guest on Xen 4.17-hospes\n"
            + "no PVH start info: started through the pv entry\n");
    assertThat(status).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"HVM_EPT", "HVM_SHADOW"})
  void anHvmDomainBootedThatWayGetsThePvConsoleAndHypercalls(String mode) throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    HvmMachine m = HvmMachine.create(DomainMode.valueOf(mode), 16, console, sink);
    m.load(new PvhKernelLoader(), hello, BootRequest.of(null), null);
    RunResult r = m.run(50_000_000);
    assertThat(console.toString(StandardCharsets.US_ASCII)).isEqualTo(HELLO);
    assertThat(r.exitStatus()).as("%s", r).isZero();
    assertThat(r.reason()).isEqualTo("shutdown: poweroff");
    // printf went through the PV console ring dom0 gave it, not console_io.
    assertThat(m.pvh().console().bytes()).isEqualTo(console.size());
    var c = m.domain().totals();
    assertThat(c.hypercallCount[Hypercall.XEN_VERSION.number()]).isEqualTo(2);
    assertThat(c.hypercallCount[Hypercall.CONSOLE_IO.number()]).isZero();
    assertThat(c.hypercallErrors).isZero();
  }

  @org.junit.jupiter.api.Test
  void runManyBootsItInEveryModeSideBySide() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute("run-many",
        "--domain", "p=" + hello + ",mode=pvh",
        "--domain", "h=" + hello + ",mode=hvm",
        "--domain", "s=" + hello + ",mode=hvm-shadow,loader=pvh");
    String text = out.toString(StandardCharsets.US_ASCII);
    for (String name : new String[] {"p", "h", "s"}) {
      assertThat(text).as(err.toString(StandardCharsets.UTF_8))
          .contains("[" + name + "] Hello from a PVH guest on Xen 4.17-hospes\n")
          .contains("[" + name + "] start info magic ok, 3 memory map entries\n");
    }
    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
  }
}
