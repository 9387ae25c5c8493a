package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hospes run --mode pvh --module FILE}: modules reach the guest through hvm_start_info. */
class PvhModulesTest {
  @TempDir
  Path tmp;

  @Test
  void modulesAreListedInTheStartInfoInOrder() throws Exception {
    Path root = TestKernels.root();
    Path elf = new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("modules", List.of(root.resolve("samples/guests/modules/modules.c")));
    Path initrd = Files.writeString(tmp.resolve("initrd.img"), "INITRD-CONTENTS");
    Path config = Files.writeString(tmp.resolve("app.cfg"), "cfg=1\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute("run", "--mode", "pvh",
        "--module", initrd.toString(), "--module", config.toString(), elf.toString());
    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo(
        "modules: 2\n"
            + "module 0: 15 bytes, page-aligned yes, cmdline 'initrd.img', starts 'INITRD-C'\n"
            + "module 1: 6 bytes, page-aligned yes, cmdline 'app.cfg', starts 'cfg=1\n'\n");
  }

  @Test
  void runManySpecsTakeInitrdAndModuleAsRunDoes() throws Exception {
    Path root = TestKernels.root();
    Path elf = new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("modules", List.of(root.resolve("samples/guests/modules/modules.c")));
    Files.writeString(tmp.resolve("initrd.img"), "INITRD-CONTENTS");
    Files.writeString(tmp.resolve("app.cfg"), "cfg=1\n");
    // module= before initrd=: the initrd is still the first module, as --initrd is for run.
    // Relative paths are relative to the host file.
    Path host = Files.writeString(tmp.resolve("host.cfg"), "m=" + elf
        + ",mode=pvh,module=app.cfg,initrd=initrd.img\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute("run-many", "--config",
        host.toString());
    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo(
        "[m] modules: 2\n"
            + "[m] module 0: 15 bytes, page-aligned yes, cmdline 'initrd.img', starts 'INITRD-C'\n"
            + "[m] module 1: 6 bytes, page-aligned yes, cmdline 'app.cfg', starts 'cfg=1\n"
            + "[m] '\n");

    // A missing module is named as the module, not as the kernel.
    ByteArrayOutputStream err2 = new ByteArrayOutputStream();
    int bad = HospesCli.newCommandLine(new PrintStream(new ByteArrayOutputStream(), true),
        new PrintStream(err2, true, StandardCharsets.UTF_8)).execute("run-many", "--domain",
        "m=" + elf + ",mode=pvh,initrd=" + tmp.resolve("missing.img"));
    assertThat(bad).isEqualTo(2);
    assertThat(err2.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: m: module "
        + tmp.resolve("missing.img") + ": no such file\n");
  }
}
