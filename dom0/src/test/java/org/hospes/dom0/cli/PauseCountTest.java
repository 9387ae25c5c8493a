package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.dom0.toolstack.host.HostDaemon;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Counted pauses as the user sees them: the trial paused a domain twice and unpaused it once,
 * and was told "unpaused domain 1 (echo)" while list still showed it paused.
 */
class PauseCountTest {
  @TempDir
  Path dir;

  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private HostDaemon daemon;

  @BeforeEach
  void start() throws Exception {
    daemon = TestHosts.start(dir);
  }

  @AfterEach
  void stop() throws Exception {
    TestHosts.stop(daemon);
  }

  private String hospes(String... args) {
    err.reset();
    String[] all = TestHosts.withStateDir(dir, args);
    int status = HospesCli.newCommandLine(new PrintStream(new ByteArrayOutputStream(), true),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(all);
    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void anUnpauseThatLeavesAPauseSaysTheDomainIsStillPaused() throws Exception {
    // jmp $
    Files.write(dir.resolve("spin.elf"), ElfImageBuilder.multibootKernel(
        new byte[] {(byte) 0xEB, (byte) 0xFE}));
    Files.writeString(dir.resolve("g.cfg"), "name = \"g\"\ntype = \"hvm\"\nmemory = 4\n"
        + "kernel = \"spin.elf\"\n");
    hospes("create", dir.resolve("g.cfg").toString());
    assertThat(hospes("pause", "g")).isEqualTo("hospes: paused domain 1 (g)\n");
    assertThat(hospes("pause", "g")).isEqualTo("hospes: paused domain 1 (g); 2 pauses held,"
        + " each undone by an unpause\n");
    assertThat(hospes("unpause", "g")).isEqualTo("hospes: unpaused domain 1 (g); still"
        + " paused: 1 more pause to undo\n");
    assertThat(hospes("unpause", "g")).isEqualTo("hospes: unpaused domain 1 (g)\n");
  }
}
