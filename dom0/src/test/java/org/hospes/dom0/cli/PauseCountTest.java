package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Counted pauses as the user sees them: the trial paused a domain twice and unpaused it once,
 * and was told "unpaused domain 1 (echo)" while list still showed it paused.
 */
class PauseCountTest {
  @RegisterExtension
  final TestHosts.Running host = new TestHosts.Running();

  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private String hospes(String... args) {
    err.reset();
    String[] all = host.withStateDir(args);
    int status = HospesCli.newCommandLine(new PrintStream(new ByteArrayOutputStream(), true),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(all);
    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void anUnpauseThatLeavesAPauseSaysTheDomainIsStillPaused() throws Exception {
    // jmp $
    Files.write(host.dir().resolve("spin.elf"), ElfImageBuilder.multibootKernel(
        new byte[] {(byte) 0xEB, (byte) 0xFE}));
    Files.writeString(host.dir().resolve("g.cfg"), "name = \"g\"\ntype = \"hvm\"\nmemory = 4\n"
        + "kernel = \"spin.elf\"\n");
    hospes("create", host.dir().resolve("g.cfg").toString());
    assertThat(hospes("pause", "g")).isEqualTo("hospes: paused domain 1 (g)\n");
    assertThat(hospes("pause", "g")).isEqualTo("hospes: paused domain 1 (g); 2 pauses held,"
        + " each undone by an unpause\n");
    assertThat(hospes("unpause", "g")).isEqualTo("hospes: unpaused domain 1 (g); still"
        + " paused: 1 more pause to undo\n");
    assertThat(hospes("unpause", "g")).isEqualTo("hospes: unpaused domain 1 (g)\n");
  }
}
