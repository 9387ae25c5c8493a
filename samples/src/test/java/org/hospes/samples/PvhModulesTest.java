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
}
