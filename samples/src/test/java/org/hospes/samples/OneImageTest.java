package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One SDK image per program boots in all six modes through {@code hospes run}: the same file,
 * entered by Multiboot (native), by its PVH note (hvm, hvm-shadow, pvhvm, pvh) and as a classic
 * PV kernel (pv). The runtime finds out at entry which start it got: a wrong guess would crash
 * (cli in ring 1) or read the wrong start info. On the bare machine hello runs on COM1 with
 * time from the TSC and says there is no xenstore; events, which needs Xen, says so in one line
 * and fails.
 */
class OneImageTest {
  private static final String HELLO_XEN = "hello from domain 1 on Xen 4.17-hospes, command line"
      + " 'hi there'\nxenstore says my name is guest\n1 MiB of heap, checksum cd00000\n";
  private static final String HELLO_NATIVE = "hello from a bare machine (no hypervisor), command"
      + " line 'hi there'\nslept 15 ms by the TSC: yes\n"
      + "no xenstore without a hypervisor (-ENOSYS)\n1 MiB of heap, checksum cd00000\n";
  private static final String EVENTS = "event 1 on port 3\nevent 2 on port 3\n"
      + "event 3 on port 3\nmasked: 3 events so far\nevent 4 on port 3\n"
      + "slept 15 ms: yes, 1 timer tick(s)\nevents: 4 handled\n";

  private static Path hello;
  private static Path events;
  private static Path returnsFive;

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    GuestBuilder b = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
    hello = b.build("hello", List.of(root.resolve("samples/guests/hello/hello.c")));
    events = b.build("events", List.of(root.resolve("samples/guests/events/events.c")));
    Path src = root.resolve("samples/target/guests/returns-five.c");
    Files.createDirectories(src.getParent());
    Files.writeString(src, "#include <hospes/guest.h>\n"
        + "int main(const struct hvm_start_info *si) { (void)si; printf(\"giving up\\n\");"
        + " return 5; }\n");
    returnsFive = b.build("returns-five", List.of(src));
  }

  private record Run(int status, String out, String err) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = org.hospes.dom0.cli.HospesCli.newCommandLine(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
    return new Run(status, out.toString(StandardCharsets.ISO_8859_1),
        err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void theImageCarriesAMultibootHeaderThePvhNoteAndThePvNotes() throws Exception {
    byte[] image = Files.readAllBytes(hello);
    assertThat(org.hospes.dom0.boot.MultibootHeader.find(image)).isPresent();
    var elf = org.hospes.dom0.boot.ElfFile.parse(image);
    assertThat(org.hospes.dom0.boot.PvhLoader.findEntry(image, elf)).isEqualTo(elf.header().entry());
    var pv = org.hospes.dom0.boot.loader.PvKernelLoader.parse(image);
    assertThat(pv.notes().virtBase()).isZero();
    assertThat(pv.notes().entry()).isEqualTo(elf.header().entry());
    assertThat(pv.virtStart()).isEqualTo(0x10_0000L);
  }

  @ParameterizedTest
  @ValueSource(strings = {"native", "hvm", "hvm-shadow", "pvhvm", "pvh", "pv"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void helloRunsInEveryModeFromTheSameFile(String mode) {
    Run r = run("run", "--mode", mode, "--cmdline", "hi there", hello.toString());
    assertThat(r.out()).as(r.err()).isEqualTo(mode.equals("native") ? HELLO_NATIVE : HELLO_XEN);
    assertThat(r.status()).as(r.err()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"native", "hvm", "hvm-shadow", "pvhvm", "pvh", "pv"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void eventsRunWhereThereIsXenAndSayWhyNotWhereThereIsNone(String mode) {
    Run r = run("run", "--mode", mode, events.toString());
    if (mode.equals("native")) {
      // main returned 1: the runtime says so, then isa-debug-exit 1, status 3 as a crashed
      // domain's.
      assertThat(r.out()).isEqualTo("events: no hypervisor, so no event channels (-ENOSYS)\n"
          + "guest: main returned 1; shutting down as crashed\n");
      assertThat(r.status()).isEqualTo(3);
    } else {
      assertThat(r.out()).as(r.err()).isEqualTo(EVENTS);
      assertThat(r.status()).as(r.err()).isZero();
    }
  }

  /**
   * A program whose main returns non-zero is told apart from a crash in every mode: the runtime
   * writes the value on the console (a crash shutdown and isa-debug-exit 1 cannot carry it),
   * then the run ends with status 3. On the bare machine the run used to end with status 3 and
   * nothing said.
   */
  @ParameterizedTest
  @ValueSource(strings = {"native", "hvm", "hvm-shadow", "pvhvm", "pvh", "pv"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aMainThatReturnsNonZeroIsToldInEveryMode(String mode) {
    Run r = run("run", "--mode", mode, returnsFive.toString());
    assertThat(r.out()).as(r.err())
        .isEqualTo("giving up\nguest: main returned 5; shutting down as crashed\n");
    assertThat(r.status()).as(r.err()).isEqualTo(3);
  }

  /**
   * Samples that need Xen say so in one line on the bare machine and fail (status 3).
   * (disk-bench does not: without a vbd it drives the emulated IDE disk, IdeDiskBenchGuestTest.)
   */
  @ParameterizedTest
  @ValueSource(strings = {"ping-pong", "xenstore-demo"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void samplesThatNeedXenSaySoInOneLineInNative(String sample) throws Exception {
    Path root = TestKernels.root();
    Path dir = root.resolve("samples/guests/" + sample);
    List<Path> sources;
    try (var files = Files.list(dir)) {
      sources = files.filter(f -> f.toString().endsWith(".c")).sorted().toList();
    }
    Path elf = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests")).build(sample, sources);
    Run r = run("run", "--mode", "native", elf.toString());
    assertThat(r.out()).isEqualTo(sample + ": needs Xen's services, and this machine has no"
        + " hypervisor\n");
    assertThat(r.status()).isEqualTo(3);
  }

  /**
   * Forced through Multiboot into an HVM domain, the runtime finds Xen by CPUID: hypercalls
   * and events work, but a Multiboot start gets no xenstore or PV console (the console is
   * COM1, served by dom0's device model).
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aMultibootStartInAnHvmDomainFindsXenByCpuid() {
    Run h = run("run", "--mode", "hvm", "--loader", "multiboot", "--cmdline", "hi there",
        hello.toString());
    assertThat(h.out()).as(h.err()).isEqualTo("hello from domain 1 on Xen 4.17-hospes, command"
        + " line 'hi there'\n1 MiB of heap, checksum cd00000\n");
    assertThat(h.status()).isZero();
    Run e = run("run", "--mode", "hvm", "--loader", "multiboot", events.toString());
    // No xenstore or console channels were allocated: the IPI gets port 1.
    assertThat(e.out()).as(e.err()).isEqualTo(EVENTS.replace("port 3", "port 1"));
    assertThat(e.status()).isZero();
  }
}
