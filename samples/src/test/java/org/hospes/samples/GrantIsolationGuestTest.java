package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.abi.GrantTableOp;
import org.hospes.dom0.boot.PvhLoader;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.grant.GrantTables;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.sdk.GuestBuilder;
import org.hospes.x86.Cpu;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Grant isolation with a real guest (samples/guests/grant-guess, built with the SDK's grant.h):
 * it guesses every grant reference of three domains with maps and copies, and only the one
 * read-only grant made to it succeeds.
 */
class GrantIsolationGuestTest {

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aGuestGuessingGrantReferencesReachesOnlyWhatWasGrantedToIt() throws Exception {
    Path root = TestKernels.root();
    GuestBuilder builder = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
    Path guess = builder.build("grant-guess",
        List.of(root.resolve("samples/guests/grant-guess/guess.c")));

    Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    Domain victim = hv.createHvmDomain("victim", DomainMode.PVH, 4);
    Domain guesser = hv.createHvmDomain("guesser", DomainMode.PVH, 16);
    Domain bystander = hv.createHvmDomain("bystander", DomainMode.PVH, 4);
    assertThat(guesser.domid()).isEqualTo(2);
    // The victim's table (filled as a toolstack would): ref 8 read-only to the guesser, every
    // other ref of 4 frames to the bystander, over pages holding a secret.
    GrantTables t = victim.grantTables();
    assertThat(t.grow(4)).isTrue();
    MemoryBus m = hv.machineMemory();
    victim.memory().write32(0x10_000, 0x600D_CAFE);
    victim.memory().write32(0x11_000, 0x5EC2_E700);
    for (int ref = 0; ref < t.nrEntries(); ref++) {
      long e = (t.frameMfn(ref / GrantTableOp.ENTRIES_PER_FRAME) << 12)
          + (long) (ref % GrantTableOp.ENTRIES_PER_FRAME) * GrantTableOp.ENTRY_SIZE;
      boolean mine = ref == 8;
      m.write32(e + GrantTableOp.ENTRY_FRAME, mine ? 0x10 : 0x11);
      m.write16(e + GrantTableOp.ENTRY_DOMID, mine ? guesser.domid() : bystander.domid());
      m.write16(e + GrantTableOp.ENTRY_FLAGS, GrantTableOp.GTF_PERMIT_ACCESS
          | (mine ? GrantTableOp.GTF_READONLY : 0));
    }

    ByteArrayOutputStream console = new ByteArrayOutputStream();
    guesser.setConsole(console);
    var k = new PvhLoader().load(Files.readAllBytes(guess), null, guesser.memory(),
        (long) guesser.p2m().size() << 12);
    Cpu cpu = guesser.vcpus().get(0).cpu();
    cpu.setReg(Cpu.EBX, (int) k.startInfo());
    cpu.setEip((int) k.entry());
    hv.unpause(guesser);
    hv.run(Long.MAX_VALUE / 4);

    assertThat(guesser.state()).isEqualTo(DomainState.SHUTDOWN);
    String out = console.toString(StandardCharsets.US_ASCII);
    int attempts = 3 * (8 * 512 + 5) * 4;
    assertThat(out).isEqualTo("map ro dom 1 ref 8 ok: 600dcafe\n"
        + "copy from dom 1 ref 8 ok: 600dcafe\n"
        + "guess: " + attempts + " attempts, 2 succeeded, buffer sum "
        + out.substring(out.indexOf("sum ") + 4, out.indexOf(", own"))
        + ", own page dd5eed\n");
    assertThat(victim.memory().read32(0x11_000)).isEqualTo(0x5EC2_E700);
    assertThat(victim.memory().read32(0x10_000)).isEqualTo(0x600D_CAFE);
    var c = guesser.totals();
    assertThat(c.grantMaps).isEqualTo(1);
    assertThat(c.grantUnmaps).isEqualTo(1);
    assertThat(c.grantCopies).isEqualTo(1);
    assertThat(c.grantErrors).isEqualTo(attempts - 2);
    // Nothing stays pinned.
    assertThat(t.entryFlags(8)).isEqualTo(GrantTableOp.GTF_PERMIT_ACCESS
        | GrantTableOp.GTF_READONLY);
    assertThat(guesser.grantTables().activeMappings()).isZero();
  }
}
