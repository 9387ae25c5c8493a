package org.hospes.dom0.toolstack.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The host daemon's protocol and life cycle, without guests. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostDaemonTest {
  @TempDir
  Path dir;

  private HostPaths paths;
  private HostDaemon daemon;
  private final ByteArrayOutputStream log = new ByteArrayOutputStream();

  @BeforeEach
  void start() throws Exception {
    paths = new HostPaths(dir.resolve("state"));
    daemon = HostDaemon.start(paths, 64, "credit", "default", new PrintStream(log, true));
  }

  @AfterEach
  void stop() throws Exception {
    daemon.stop();
    assertThat(daemon.awaitStop(30, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aSecondHostOnTheSameDirectoryIsRefused() {
    assertThatThrownBy(() -> HostDaemon.start(paths, 64, "credit", "default",
        new PrintStream(new ByteArrayOutputStream())))
        .isInstanceOf(HostException.class)
        .hasMessage("a host is already running (pid " + ProcessHandle.current().pid()
            + ", state directory " + paths.dir() + "); stop it with ./hospes host stop");
  }

  @Test
  void stoppingRemovesTheSocketAndPidFileAndAnswersNoMore() throws Exception {
    assertThat(paths.socket()).exists();
    assertThat(paths.pidFile()).hasContent(Long.toString(ProcessHandle.current().pid()));
    new HostClient(paths).call(Wire.request("stop"));
    daemon.stop(); // the reply comes before the stop; wait for it here
    assertThat(daemon.awaitStop(30, TimeUnit.SECONDS)).isTrue();
    assertThat(paths.socket()).doesNotExist();
    assertThat(paths.pidFile()).doesNotExist();
    assertThatThrownBy(() -> new HostClient(paths).call(Wire.request("list")))
        .isInstanceOf(HostException.NoHost.class)
        .hasMessage("no host is running (start one with ./hospes host start)");
    // The lock was released: a new host starts on the same directory.
    daemon = HostDaemon.start(paths, 64, "credit", "default", new PrintStream(log, true));
  }

  @Test
  void aHostRunsOnTheGivenPhysicalCpusAndRoundRobinRefusesMoreThanOne() throws Exception {
    daemon.stop();
    assertThat(daemon.awaitStop(30, TimeUnit.SECONDS)).isTrue();
    assertThatThrownBy(() -> HostDaemon.start(paths, 64, "rr", "default", 2,
        new PrintStream(new ByteArrayOutputStream())))
        .isInstanceOf(HostException.class)
        .hasMessageContaining("--pcpus 2: the rr scheduler runs every vCPU on one physical CPU");
    daemon = HostDaemon.start(paths, 64, "credit", "default", 4, new PrintStream(log, true));
    assertThat(new HostClient(paths).call(Wire.request("dmesg")).path("log").asText())
        .contains("scheduler credit on 4 physical CPU(s)");
  }

  @Test
  void anotherProtocolVersionAndUnknownRequestsAreRefusedInOneLine() throws Exception {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(paths.socket()));
      ObjectNode req = Wire.request("list");
      req.put("v", 2);
      Wire.write(SocketStreams.out(ch), req);
      JsonNode reply = Wire.read(SocketStreams.in(ch));
      assertThat(reply.path("ok").asBoolean(true)).isFalse();
      assertThat(reply.path("error").asText()).isEqualTo("this host speaks protocol version 1,"
          + " not 2 (the client and the host are from different builds)");
    }
    assertThatThrownBy(() -> new HostClient(paths).call(Wire.request("reboot-the-world")))
        .hasMessage("unknown request 'reboot-the-world'");
  }

  @Test
  void aSchedCreditNumberBeyondAnIntIsRefusedAsGivenNotCutToAnInt() throws Exception {
    // 2^32 + 512: read with asInt it became 512, a valid weight, and dom0's weight changed.
    ObjectNode req = Wire.request("sched-credit");
    req.put("domain", "0");
    req.put("weight", (1L << 32) + 512);
    assertThatThrownBy(() -> new HostClient(paths).call(req))
        .hasMessage("Domain-0: weight must be 1..65535, got 4294967808");
    ObjectNode cap = Wire.request("sched-credit");
    cap.put("domain", "0");
    cap.put("cap", (1L << 32) + 10);
    assertThatThrownBy(() -> new HostClient(paths).call(cap))
        .hasMessage("Domain-0: cap must be 0 (uncapped) to 100 percent for 1 vCPU(s),"
            + " got 4294967306");
    HostSnapshot s = Wire.JSON.treeToValue(new HostClient(paths).call(
        Wire.request("list")), HostSnapshot.class);
    assertThat(s.domains().get(0).weight()).isEqualTo(256);
    assertThat(s.domains().get(0).cap()).isZero();
  }

  /**
   * On an rr host sched-credit listed Weight and Cap columns that mean nothing there, and set
   * them; as xl sched-credit on a pool whose scheduler is not credit, it is refused.
   */
  @Test
  void schedCreditOnAnRrHostSaysTheSchedulerIsNotCredit() throws Exception {
    daemon.stop();
    assertThat(daemon.awaitStop(30, TimeUnit.SECONDS)).isTrue();
    daemon = HostDaemon.start(paths, 64, "rr", "default", new PrintStream(log, true));
    String line = "the host's scheduler is rr, not credit: weights and caps are the credit"
        + " scheduler's (start the host with --sched credit)";
    HostClient c = new HostClient(paths);
    assertThatThrownBy(() -> c.call(Wire.request("sched-credit"))).hasMessage(line);
    ObjectNode one = Wire.request("sched-credit");
    one.put("domain", "0");
    assertThatThrownBy(() -> c.call(one)).hasMessage(line);
    ObjectNode set = Wire.request("sched-credit");
    set.put("domain", "0");
    set.put("weight", 512);
    assertThatThrownBy(() -> c.call(set)).hasMessage(line);
    // An unknown domain is said first, as xl finds the domain before asking its scheduler.
    ObjectNode unknown = Wire.request("sched-credit");
    unknown.put("domain", "nosuch");
    assertThatThrownBy(() -> c.call(unknown)).hasMessageStartingWith("no domain named");
  }

  @Test
  void domainZeroIsRefusedWithTheReasonForTheVerbAsked() throws Exception {
    // console 0 was told "it cannot be paused, shut down or destroyed".
    assertThatThrownBy(() -> new HostClient(paths).console("0"))
        .hasMessage("Domain-0 runs the toolstack itself; it has no console of its own (its"
            + " log: ./hospes dmesg)");
    String[][] verbs = {{"pause", "it cannot be paused"}, {"unpause", "it is never paused"},
        {"shutdown", "it cannot be shut down (stop the host: ./hospes host stop)"},
        {"destroy", "it cannot be destroyed (stop the host: ./hospes host stop)"}};
    for (String[] v : verbs) {
      ObjectNode req = Wire.request(v[0]);
      req.put("domain", "Domain-0");
      assertThatThrownBy(() -> new HostClient(paths).call(req))
          .hasMessage("Domain-0 runs the toolstack itself; " + v[1]);
    }
  }

  /**
   * A domain named "2" and domain 2: "destroy 2" ends domain 2, as xl reads a number as an ID.
   * The name came first, and the other domain was destroyed.
   */
  @Test
  void aNumberNamesTheDomainWithThatIdBeforeOneWithThatName() throws Exception {
    // jmp $
    Path kernel = dir.resolve("spin.elf");
    java.nio.file.Files.write(kernel, org.hospes.dom0.testing.ElfImageBuilder.multibootKernel(
        new byte[] {(byte) 0xEB, (byte) 0xFE}));
    HostClient c = new HostClient(paths);
    for (String name : new String[] {"2", "other"}) {
      Path cfg = dir.resolve(name + ".cfg");
      java.nio.file.Files.writeString(cfg, "name = \"" + name + "\"\ntype = \"hvm\"\nmemory = 4\n"
          + "kernel = \"spin.elf\"\n");
      create(c, cfg);
    }
    ObjectNode sched = Wire.request("sched-credit");
    sched.put("domain", "2");
    assertThat(c.call(sched).path("domains").get(0).path("name").asText()).isEqualTo("other");
    ObjectNode destroy = Wire.request("destroy");
    destroy.put("domain", "2");
    assertThat(c.call(destroy).path("name").asText()).isEqualTo("other");
    HostSnapshot s = Wire.JSON.treeToValue(c.call(Wire.request("list")), HostSnapshot.class);
    assertThat(s.domains()).extracting(DomainInfo::name).containsExactly("Domain-0", "2");
    // No domain has ID 2 now: the name is found.
    assertThat(c.call(destroy).path("name").asText()).isEqualTo("2");
  }

  @Test
  void anEmptyHostListsDomainZeroAndItsXenstore() throws Exception {
    HostClient c = new HostClient(paths);
    HostSnapshot s = Wire.JSON.treeToValue(c.call(Wire.request("list")), HostSnapshot.class);
    assertThat(s.domains()).extracting(DomainInfo::name, DomainInfo::domid)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("Domain-0", 0));
    ObjectNode w = Wire.request("xenstore-write");
    w.put("path", "/tool/hospes/answer");
    w.put("value", "42");
    c.call(w);
    ObjectNode ls = Wire.request("xenstore-ls");
    ls.put("path", "/tool");
    assertThat(c.call(ls).path("lines")).extracting(JsonNode::asText)
        .containsExactly("hospes = \"\"", " answer = \"42\"");
    assertThat(c.call(Wire.request("dmesg")).path("log").asText())
        .contains("Hospes host started: 64 MiB of machine memory, scheduler credit");
  }

  @Test
  void theDefaultStateDirectory() {
    assertThat(HostPaths.defaultDir(Map.of("HOSPES_STATE_DIR", "/s"), "/home/u"))
        .isEqualTo(Path.of("/s"));
    assertThat(HostPaths.defaultDir(Map.of("XDG_RUNTIME_DIR", "/run/user/1"), "/home/u"))
        .isEqualTo(Path.of("/run/user/1/hospes"));
    assertThat(HostPaths.defaultDir(Map.of(), "/home/u")).isEqualTo(Path.of("/home/u/.hospes/host"));
  }

  /**
   * block-attach without vdev= takes the first free xvdX. It took the count of the disks: with
   * xvda detached and xvdb attached, the next disk was given xvdb and refused.
   */
  @Test
  void blockAttachWithoutVdevTakesTheFirstFreeOne() throws Exception {
    HostClient c = createSpinningGuest();
    java.util.function.Function<String, String> attach = img -> {
      try {
        java.nio.file.Files.write(dir.resolve(img), new byte[1 << 16]);
        ObjectNode a = Wire.request("block-attach");
        a.put("domain", "g");
        a.put("disk", dir.resolve(img).toString());
        return c.call(a).path("vdev").asText();
      } catch (Exception e) {
        throw new AssertionError(e.getMessage(), e);
      }
    };
    assertThat(attach.apply("a.img")).isEqualTo("xvda");
    assertThat(attach.apply("b.img")).isEqualTo("xvdb");
    ObjectNode detach = Wire.request("block-detach");
    detach.put("domain", "g");
    detach.put("disk", "xvda");
    assertThat(c.call(detach).path("removed").asBoolean()).isTrue();
    assertThat(attach.apply("c.img")).isEqualTo("xvda");
    assertThat(attach.apply("d.img")).isEqualTo("xvdc");
    // By its number, as xl block-detach takes it: 51728 is xvdb; the reply names the vdev.
    detach.put("disk", "51728");
    var r = c.call(detach);
    assertThat(r.path("removed").asBoolean()).isTrue();
    assertThat(r.path("vdev").asText()).isEqualTo("xvdb");
    assertThat(attach.apply("e.img")).isEqualTo("xvdb");
  }

  /**
   * A driver domain made by block-attach's backend= is refused by destroy while it serves (the
   * message names the guest's disk and says how it goes), and goes with its last disk: gone
   * from list and from xenstore, and logged. Before, it stayed for the host's life.
   */
  @Test
  void aDriverDomainGoesWithItsLastDiskAndIsNotDestroyedWhileItServes() throws Exception {
    // A PVH kernel that spins (jmp $): it stays alive while the disks come and go.
    java.nio.file.Files.write(dir.resolve("d.img"), new byte[1 << 16]);
    HostClient c = createSpinningGuest();
    ObjectNode attach = Wire.request("block-attach");
    attach.put("domain", "g");
    attach.put("disk", "backend=storage,target=" + dir.resolve("d.img"));
    int dd = c.call(attach).path("backend").asInt();
    assertThat(dd).isNotZero();

    ObjectNode destroy = Wire.request("destroy");
    destroy.put("domain", "storage");
    assertThatThrownBy(() -> c.call(destroy)).isInstanceOf(HostException.class)
        .hasMessage("storage is a driver domain serving g's xvda; the toolstack destroys it"
            + " with its last disk (./hospes block-detach g xvda)");

    ObjectNode detach = Wire.request("block-detach");
    detach.put("domain", "g");
    detach.put("disk", "xvda");
    assertThat(c.call(detach).path("removed").asBoolean()).isTrue();
    HostSnapshot s = Wire.JSON.treeToValue(c.call(Wire.request("list")), HostSnapshot.class);
    assertThat(s.domains()).extracting(DomainInfo::name).containsExactly("Domain-0", "g");
    ObjectNode read = Wire.request("xenstore-read");
    read.put("path", "/local/domain/" + dd + "/name");
    assertThatThrownBy(() -> c.call(read)).isInstanceOf(HostException.class);
    assertThat(c.call(Wire.request("dmesg")).path("log").asText()).contains("driver domain " + dd
        + " (storage) destroyed: its last device was removed");
  }

  /**
   * {@code yes | hospes console g} on a guest that reads no console input: the daemon read all
   * a client sent and appended each chunk to one array (copying all of it every time), so the
   * heap grew by gigabytes and the run thread, busy copying, left host stop unanswered. Now the
   * console's socket thread stops reading at MAX_PENDING_INPUT held, and the client waits in
   * its socket, as a pty's writer does: it can never send 2 MiB into these few hundred KiB of
   * buffers. (On the old code the writer finished in well under the 10 s given; the new code's
   * outcome does not depend on the wait.)
   */
  @Test
  void consoleInputTheGuestDoesNotReadIsHeldBackNotPiledUp() throws Exception {
    HostClient c = createSpinningGuest();
    HostClient.Console con = c.console("g");
    long total = 2 << 20;
    java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
    Thread writer = new Thread(() -> {
      byte[] keys = new byte[64 << 10];
      java.util.Arrays.fill(keys, (byte) 'y');
      try {
        while (written.get() < total) {
          con.out().write(keys);
          written.addAndGet(keys.length);
        }
      } catch (java.io.IOException e) {
        // The test closed the console.
      }
    }, "test-console-keys");
    writer.setDaemon(true);
    writer.start();
    writer.join(TimeUnit.SECONDS.toMillis(10));
    try {
      assertThat(writer.isAlive()).as("the client waits: " + written.get() + " bytes sent")
          .isTrue();
      assertThat(daemon.pendingInput("g")).isLessThanOrEqualTo(HostDaemon.MAX_PENDING_INPUT);
    } finally {
      con.close();
    }
  }

  /** Creates PVH domain "g" (4 MiB, a kernel that spins) on the host; returns its client. */
  private HostClient createSpinningGuest() throws Exception {
    long paddr = 0x10_0000;
    java.nio.file.Files.write(dir.resolve("spin.elf"), new org.hospes.dom0.testing
        .ElfImageBuilder().entry(paddr).segment(paddr, new byte[] {(byte) 0xEB, (byte) 0xFE},
            0x1000).pvhEntryNote(paddr).build());
    Path cfg = java.nio.file.Files.writeString(dir.resolve("g.cfg"),
        "name = \"g\"\ntype = \"pvh\"\nmemory = 4\nkernel = \"spin.elf\"\n");
    HostClient c = new HostClient(paths);
    create(c, cfg);
    return c;
  }

  /** Sends the toolstack's create for xl configuration {@code cfg}. */
  private static void create(HostClient c, Path cfg) throws Exception {
    ObjectNode req = Wire.request("create");
    req.set("config", Wire.JSON.valueToTree(org.hospes.dom0.toolstack.xl.XlDomainConfig.read(cfg)));
    c.call(req);
  }
}
