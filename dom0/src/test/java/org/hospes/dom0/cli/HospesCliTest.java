package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument handling and exit statuses, through picocli in-process with captured streams. */
class HospesCliTest {

  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  private String stdout() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private Path file(String name, byte[] content) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, content);
    return p;
  }

  @Test
  void helpListsTheCommandsAndSucceeds() {
    assertThat(hospes("--help")).isZero();
    assertThat(stdout()).contains("run", "demo", "help", "--version");
    assertThat(stderr()).isEmpty();
  }

  @Test
  void runHelpDocumentsTheOptionsAndExitStatuses() {
    assertThat(hospes("run", "--help")).isZero();
    assertThat(stdout()).contains("--mode", "--ram", "--cmdline", "--max-insns", "--sched",
        "--cost-model", "KERNEL", "(V<<1)|1");
  }

  /**
   * {@code hospes --version} (or -V) alone builds the top command without any subcommand, and
   * prints what the whole tree prints.
   */
  @Test
  void versionAloneBuildsNoSubcommandAndPrintsTheSame() {
    assertThat(hospes("--version")).isZero();
    String whole = stdout();
    for (String flag : new String[] {"--version", "-V"}) {
      java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
      java.io.ByteArrayOutputStream e = new java.io.ByteArrayOutputStream();
      picocli.CommandLine cli = HospesCli.newCommandLine(new CliStreams(
          new PrintStream(o, true, StandardCharsets.UTF_8),
          new PrintStream(e, true, StandardCharsets.UTF_8)), flag);
      assertThat(cli.getSubcommands()).as(flag).isEmpty();
      assertThat(cli.execute(flag)).isZero();
      assertThat(o.toString(StandardCharsets.UTF_8)).as(flag).isEqualTo(whole);
      assertThat(e.toString(StandardCharsets.UTF_8)).isEmpty();
    }
    // No first argument at all, or the version followed by more: the whole tree.
    assertThat(HospesCli.newCommandLine(new CliStreams(System.out, System.err), null)
        .getSubcommands()).containsKeys("run", "help");
    assertThat(HospesCli.isVersionFlag(null)).isFalse();
  }

  @Test
  void versionNamesTheProject() {
    assertThat(hospes("--version")).isZero();
    assertThat(stdout()).startsWith("hospes ").doesNotContain("${");
  }

  @Test
  void noArgumentsPrintsUsageAsAUsageError() {
    assertThat(hospes()).isEqualTo(2);
    assertThat(stderr()).contains("Usage: hospes");
  }

  @Test
  void anUnknownModeIsOneLineListingTheValidModes() throws IOException {
    Path kernel = file("k.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(hospes("run", "--mode", "xen", kernel.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo(
        "hospes: unknown mode 'xen'; valid modes: native, hvm, hvm-shadow, pvhvm, pvh, pv"
            + System.lineSeparator());
  }

  private Path okKernel() throws IOException {
    return file("ok.elf", ElfImageBuilder.multibootKernel(new byte[] {
        (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00, // mov edx, 0x3f8
        (byte) 0xB0, 'O', (byte) 0xEE,              // mov al, 'O' ; out dx, al
        (byte) 0xB0, 'K', (byte) 0xEE,              // mov al, 'K' ; out dx, al
        (byte) 0xB0, '\n', (byte) 0xEE,             // mov al, 10  ; out dx, al
        (byte) 0xB0, 0x10, (byte) 0xE6, (byte) 0xF4 // mov al, 0x10 ; out 0xf4, al
    }));
  }

  @Test
  void hvmRunsUnderEitherBuiltInScheduler() throws IOException {
    Path kernel = okKernel();
    for (String sched : new String[] {"credit", "rr"}) {
      out.reset();
      err.reset();
      assertThat(hospes("run", "--mode", "hvm", "--sched", sched, "--cost-model", "default",
          "--stats", kernel.toString())).isEqualTo(0x21);
      assertThat(stdout()).isEqualTo("OK\n");
      assertThat(stderr()).contains("scheduler " + sched);
    }
  }

  @Test
  void hvmDefaultsToTheCreditScheduler() throws IOException {
    assertThat(hospes("run", "--mode", "hvm", "--stats", okKernel().toString())).isEqualTo(0x21);
    assertThat(stderr()).contains("cost model default, scheduler credit");
  }

  @Test
  void anUnknownSchedulerOrCostModelIsOneLineListingTheKnownOnes() throws IOException {
    Path kernel = okKernel();
    assertThat(hospes("run", "--mode", "hvm", "--sched", "bvt", kernel.toString()))
        .isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: unknown scheduler 'bvt'; known schedulers: ")
        .contains("credit", "rr").hasLineCount(1);
    assertThat(stdout()).isEmpty();
    err.reset();
    assertThat(hospes("run", "--mode", "hvm", "--cost-model", "free", kernel.toString()))
        .isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: unknown cost model 'free'; known cost models: ")
        .contains("default").hasLineCount(1);
  }

  @Test
  void aMissingKernelIsOneLine() {
    String missing = dir.resolve("missing.elf").toString();
    assertThat(hospes("run", "--mode", "native", missing)).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + missing + ": no such file"
        + System.lineSeparator());
  }

  @Test
  void aNonElfFileIsOneLine() throws IOException {
    Path script = file("script.sh", "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.US_ASCII));
    assertThat(hospes("run", script.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + script
        + ": not an ELF file and no Multiboot header in the first 8192 bytes"
        + System.lineSeparator());
  }

  @Test
  void anElfWithoutMultibootHeaderBootsThroughTheElfLoader() throws IOException {
    byte[] image = new ElfImageBuilder().entry(0x100000)
        .segment(0x100000, new byte[] {(byte) 0xF4}, 1).build();
    Path kernel = file("plain.elf", image);
    assertThat(hospes("run", kernel.toString())).isZero();
    assertThat(stderr()).isEmpty();
  }

  @Test
  void forcingMultibootOnAPlainElfSaysWhyItCannot() throws IOException {
    byte[] image = new ElfImageBuilder().entry(0x100000)
        .segment(0x100000, new byte[] {(byte) 0xF4}, 1).build();
    Path kernel = file("plain.elf", image);
    assertThat(hospes("run", "--loader", "multiboot", kernel.toString())).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: " + kernel + ": not a Multiboot kernel")
        .hasLineCount(1);
  }

  @Test
  void aConsoleLogWithoutAPvConsoleIsAUsageError() throws IOException {
    Path kernel = file("k.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(hospes("run", "--console-log", dir.resolve("log").toString(), kernel.toString()))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --console-log needs a Xen-aware kernel with a PV"
        + " console (loader pvh); the multiboot loader boots " + kernel + System.lineSeparator());
  }

  @Test
  void anUnknownLoaderIsAUsageErrorListingTheKnownOnes() throws IOException {
    Path kernel = file("k.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(hospes("run", "--loader", "grub", kernel.toString())).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: unknown loader 'grub'; known loaders: ")
        .contains("elf, linux, multiboot, pv, pvh").hasLineCount(1);
  }

  @Test
  void anUnknownDeviceIsAUsageErrorSayingWhichAreKnown() throws IOException {
    Path kernel = file("k.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    // dom0's own tests have no device plugin on the class path (the samples' jar adds edu).
    assertThat(hospes("run", "--mode", "hvm", "--device", "edu", kernel.toString()))
        .isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: --device edu: unknown device 'edu'; no device"
        + " plugins are installed").hasLineCount(1);
    err.reset();
    assertThat(hospes("run", "--mode", "hvm", "--device", "edu,,", kernel.toString()))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --device edu,,: device edu: empty option"
        + System.lineSeparator());
    err.reset();
    assertThat(hospes("run", "--mode", "pvh", "--device", "edu", kernel.toString()))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --device adds a device to an HVM domain's device"
        + " model; pvh mode has none (use hvm, hvm-shadow or pvhvm)" + System.lineSeparator());
  }

  @Test
  void aLoaderThatCannotBootTheModeIsAUsageErrorNamingBoth() throws IOException {
    Path kernel = file("k.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(hospes("run", "--mode", "pvh", "--loader", "multiboot", kernel.toString()))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: loader 'multiboot' cannot boot mode pvh (it boots"
        + " native, hvm, hvm-shadow, pvhvm)" + System.lineSeparator());
  }

  @Test
  void a64BitElfIsOneLine() throws IOException {
    Path kernel = file("k64.elf", new ElfImageBuilder().elfClass(2)
        .segment(0x100000, ElfImageBuilder.multibootHeader(0), 12).build());
    assertThat(hospes("run", kernel.toString())).isEqualTo(2);
    assertThat(stderr()).contains("not a 32-bit ELF file").hasLineCount(1);
  }

  @Test
  void aMissingKernelArgumentIsAOneLineUsageError() {
    assertThat(hospes("run")).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: missing required parameter: 'KERNEL'")
        .contains("'hospes run --help'").hasLineCount(1);
  }

  @Test
  void biosMistakesAreOneLineUsageErrors() throws IOException {
    Path rom = file("small.rom", new byte[4096]);
    assertThat(hospes("run", "--bios", rom.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + rom + ": a BIOS ROM must be 64 KiB or 128 KiB"
        + " (65536 or 131072 bytes), this one is 4096 bytes\n");
  }

  @Test
  void biosNeedsNativeModeAndNoKernel() throws IOException {
    Path rom = file("ok.rom", new byte[65536]);
    assertThat(hospes("run", "--mode", "hvm", "--bios", rom.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --bios needs --mode native\n");
  }

  @Test
  void anUnknownOptionIsAOneLineUsageError() {
    assertThat(hospes("run", "--turbo", "k.elf")).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: unknown option: '--turbo'").hasLineCount(1);
  }

  /**
   * --max-cycles is run-many's: picocli took the -1 after it for run's kernel and called the
   * kernel an unknown option as well.
   */
  @Test
  void anotherCommandsOptionIsNamedAloneWithTheCommandItBelongsTo() {
    assertThat(hospes("run", "--max-cycles", "-1", "k.elf")).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: unknown option: '--max-cycles' (see 'hospes run"
        + " --help'); it is an option of 'hospes run-many'\n");
  }

  @Test
  void unknownOptionsAreNamedWithoutTheArgumentsAfterThem() {
    assertThat(hospes("run", "--turbo=5", "-q", "-1", "k.elf")).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: unknown options: '--turbo=5', '-q' (see 'hospes"
        + " run --help')\n");
  }

  @Test
  void anUnknownCommandIsAOneLineUsageError() {
    assertThat(hospes("fly")).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: unknown command 'fly' (see 'hospes --help')\n");
  }

  @Test
  void aMistypedCommandSuggestsTheCommandsItIsCloseTo() {
    assertThat(hospes("rum")).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: unknown command 'rum' (see 'hospes --help');"
        + " did you mean run?\n");
    err.reset();
    assertThat(hospes("destory")).isEqualTo(2); // two letters swapped
    assertThat(stderr()).isEqualTo("hospes: unknown command 'destory' (see 'hospes --help');"
        + " did you mean destroy?\n");
  }

  /** Picocli's suggestions for it were "create or destroy or block-attach". */
  @Test
  void aWordCloseToNoCommandGetsNoSuggestion() {
    assertThat(hospes("frobnicate")).isEqualTo(2);
    assertThat(stderr()).isEqualTo(
        "hospes: unknown command 'frobnicate' (see 'hospes --help')\n");
  }

  @Test
  void closeCommandsAreWithinOneEditForShortWordsAndTwoForLongerOnes() {
    java.util.List<String> names = java.util.List.of("run", "run-many", "list", "top",
        "xenstore-ls", "xenstore-read");
    assertThat(HospesCli.closeCommands("rn", names)).containsExactly("run");
    assertThat(HospesCli.closeCommands("runmany", names)).containsExactly("run-many");
    assertThat(HospesCli.closeCommands("stop", names)).containsExactly("top");
    assertThat(HospesCli.closeCommands("xenstore-red", names)).containsExactly("xenstore-read");
    assertThat(HospesCli.closeCommands("lists", java.util.List.of("lis", "list")))
        .containsExactly("list", "lis"); // nearest first
    assertThat(HospesCli.closeCommands("lots", names)).isEmpty(); // two edits from list
    assertThat(HospesCli.closeCommands("x", names)).isEmpty();
    assertThat(HospesCli.editDistance("destory", "destroy")).isEqualTo(1);
  }

  @Test
  void badRamSizesAreRejected() throws IOException {
    Path kernel = file("k.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(hospes("run", "--ram", "0", kernel.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --ram must be between 1 and 2047 MiB in native mode, got 0"
        + System.lineSeparator());
    err.reset();
    assertThat(hospes("run", "--ram", "lots", kernel.toString())).isEqualTo(2);
    assertThat(stderr()).hasLineCount(1).contains("--ram");
  }

  @Test
  void aKernelTooBigForTheRamIsABootError() throws IOException {
    Path kernel = file("k.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(hospes("run", "--ram", "1", kernel.toString())).isEqualTo(2);
    assertThat(stderr()).contains("lies outside RAM (1 MiB)").hasLineCount(1);
  }

  @Test
  void badInstructionLimitsAreRejected() {
    assertThat(hospes("run", "--max-insns", "0", "k.elf")).isEqualTo(2);
    assertThat(stderr()).contains("must be positive").hasLineCount(1);
    err.reset();
    assertThat(hospes("run", "--max-insns", "many", "k.elf")).isEqualTo(2);
    assertThat(stderr()).contains("'many' is not an instruction count").hasLineCount(1);
  }

  @Test
  void instructionCountsAcceptDecimalSuffixesAndUnderscores() {
    InstructionCountConverter c = new InstructionCountConverter();
    assertThat(c.convert("1_000")).isEqualTo(1000);
    assertThat(c.convert("10k")).isEqualTo(10_000);
    assertThat(c.convert("5M")).isEqualTo(5_000_000);
    assertThat(c.convert("2g")).isEqualTo(2_000_000_000);
  }

  /** Picocli's help command said "Unknown subcommand 'frobnicate'." in its own words. */
  @Test
  void helpForAnUnknownCommandSaysSoAsAnUnknownCommandDoes() {
    assertThat(hospes("help", "frobnicate")).isEqualTo(2);
    assertThat(stderr()).isEqualTo(
        "hospes: unknown command 'frobnicate' (see 'hospes --help')\n");
    err.reset();
    assertThat(hospes("help", "rn")).isEqualTo(2);
    assertThat(stderr()).isEqualTo(
        "hospes: unknown command 'rn' (see 'hospes --help'); did you mean run?\n");
  }

  @Test
  void helpSubcommandWorks() {
    assertThat(hospes("help", "run")).isZero();
    assertThat(stdout()).contains("Usage: hospes run");
  }

  @Test
  void runCopiesSerialOutputToStdoutAndExitsWithTheKernelsStatus() throws IOException {
    Path kernel = file("ok.elf", ElfImageBuilder.multibootKernel(new byte[] {
        (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00, // mov edx, 0x3f8
        (byte) 0xB0, 'O', (byte) 0xEE,              // mov al, 'O' ; out dx, al
        (byte) 0xB0, 'K', (byte) 0xEE,              // mov al, 'K' ; out dx, al
        (byte) 0xB0, '\n', (byte) 0xEE,             // mov al, 10  ; out dx, al
        (byte) 0xB0, 0x10, (byte) 0xE6, (byte) 0xF4 // mov al, 0x10 ; out 0xf4, al
    }));
    assertThat(hospes("run", "--mode", "native", kernel.toString())).isEqualTo(0x21);
    assertThat(stdout()).isEqualTo("OK\n");
    assertThat(stderr()).isEmpty();
  }

  @Test
  void runManyStatsHaveOneJitLineForTheHostWhoseDomainsShareTheirClasses() throws IOException {
    Path kernel = file("loop.elf", ElfImageBuilder.multibootKernel(new byte[] {
        (byte) 0xB9, 0x20, 0x4E, 0x00, 0x00,                   // mov ecx, 20000
        (byte) 0x81, (byte) 0xC2, 0x17, 0x5A, 0x3C, 0x3C,      // 1: add edx, 0x3c3c5a17
        0x49, 0x75, (byte) 0xF7,                               // dec ecx ; jnz 1b
        (byte) 0xB0, 0x10, (byte) 0xE6, (byte) 0xF4            // mov al, 0x10 ; out 0xf4, al
    }));
    assertThat(hospes("run-many", "--stats", "--engine", "jit", "--domain", "a=" + kernel,
        "--domain", "b=" + kernel, "--domain", "c=" + kernel)).isZero();
    // The loop (its constant is this test's alone) is translated in each domain: the first
    // to get there has a class of its own, the second makes the shared one, the third takes it.
    assertThat(stderr()).contains("hospes: jit: 3 blocks translated (9 instructions), ")
        .contains(", 2 classes defined, 2 translations on classes shared between processors");
  }

  @Test
  void runManyStatsCountOneDomainInTheSingular() throws IOException {
    Path kernel = file("halt1.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(hospes("run-many", "--stats", "--domain", "a=" + kernel)).isZero();
    assertThat(stderr()).contains("hospes: 1 domain, 1 instructions in ");
  }

  @Test
  void statsPrintOneSummaryLine() throws IOException {
    Path kernel = file("halt.elf", ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(hospes("run", "--stats", kernel.toString())).isZero();
    assertThat(stderr()).startsWith("hospes: " + kernel + ": halted, status 0, 1 instructions in ")
        .contains(" MIPS)");
    // Then the bare machine's counters, as a domain's are shown in the hypervisor modes.
    assertThat(stderr().lines().skip(1)).anyMatch(l -> l.startsWith("virtual time 1 cycles"))
        .contains("native machine").anyMatch(l -> l.matches(" +instructions +1"));
  }

  @Test
  void runPassesTheCommandLineToTheKernel() throws IOException {
    Path kernel = file("echo.elf", ElfImageBuilder.multibootKernel(new byte[] {
        (byte) 0x8B, 0x73, 0x10,                      //       mov esi, [ebx+16] ; cmdline
        (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00,   //       mov edx, 0x3f8
        (byte) 0x8A, 0x06,                            // next: mov al, [esi]
        (byte) 0x84, (byte) 0xC0,                     //       test al, al
        0x74, 0x04,                                   //       je done
        (byte) 0xEE,                                  //       out dx, al
        0x46,                                         //       inc esi
        (byte) 0xEB, (byte) 0xF6,                     //       jmp next
        (byte) 0xB0, 0x10, (byte) 0xE6, (byte) 0xF4   // done: mov al, 0x10 ; out 0xf4, al
    }));
    assertThat(hospes("run", "--cmdline", "console=ttyS0 quiet", kernel.toString()))
        .isEqualTo(33);
    assertThat(stdout()).isEqualTo("console=ttyS0 quiet");
  }

  @Test
  void runReportsACrashWithItsFaultAndStatusThree() throws IOException {
    Path kernel = file("ud.elf", ElfImageBuilder.multibootKernel(new byte[] {0x0F, 0x0B}));
    assertThat(hospes("run", kernel.toString())).isEqualTo(3);
    // No IDT is loaded, so #UD cannot be delivered: the processor triple-faults.
    String nl = System.lineSeparator();
    assertThat(stderr()).isEqualTo("hospes: " + kernel
        + ": triple fault at eip=0x0010000c (delivering #UD, error code 0)" + nl
        + "hospes: the guest wrote nothing (serial, console_io or PV console) before it stopped"
        + nl);
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"native", "hvm", "hvm-shadow"})
  void aCrashRepeatsTheGuestsLastOutputOnStderr(String mode) throws IOException {
    // Prints "ok" on COM1, then divides by zero with no IDT loaded.
    Path kernel = file("say-then-die.elf", ElfImageBuilder.multibootKernel(new byte[] {
        0x66, (byte) 0xBA, (byte) 0xF8, 0x03,   // mov dx, 0x3f8
        (byte) 0xB0, 'o', (byte) 0xEE,          // mov al, 'o' ; out dx, al
        (byte) 0xB0, 'k', (byte) 0xEE,          // mov al, 'k' ; out dx, al
        (byte) 0xB0, '\n', (byte) 0xEE,         // mov al, '\n' ; out dx, al
        0x31, (byte) 0xC9,                      // xor ecx, ecx
        (byte) 0xF7, (byte) 0xF1,               // div ecx: #DE, and no IDT
    }));
    assertThat(hospes("run", "--mode", mode, kernel.toString())).isEqualTo(3);
    assertThat(stdout()).isEqualTo("ok\n");
    assertThat(stderr()).contains(": triple fault at eip=0x0010001b (delivering #DE, error code"
        + " 0)").contains("hospes: last guest output:" + System.lineSeparator() + "  | ok");
  }

  /** A PVH kernel that says "hi" through console_io, then executes ud2 with no IDT loaded. */
  static byte[] pvhSayHiThenDie() {
    long base = 0x10_0000;
    byte[] code = {
        (byte) 0xB8, 18, 0, 0, 0,                     // mov eax, __HYPERVISOR_console_io
        (byte) 0xBB, 0, 0, 0, 0,                      // mov ebx, CONSOLEIO_write
        (byte) 0xB9, 3, 0, 0, 0,                      // mov ecx, 3
        (byte) 0xBA, 25, 0, 0x10, 0,                  // mov edx, base + 25
        0x0F, 0x01, (byte) 0xC1,                      // vmcall
        0x0F, 0x0B,                                   // ud2
        'h', 'i', '\n'};
    return new ElfImageBuilder().entry(base).segment(base, code, code.length)
        .pvhEntryNote(base).build();
  }

  @Test
  void aPvhGuestThatDiesEarlyStillLeavesItsLastWordsAndTheFaultOnStderr() throws IOException {
    Path kernel = file("pvh-die.elf", pvhSayHiThenDie());
    assertThat(hospes("run", "--mode", "pvh", kernel.toString())).isEqualTo(3);
    // console_io goes to the hypervisor's log (stderr), as on a debug Xen; the crash report
    // still repeats it as the guest's last words.
    assertThat(stdout()).isEmpty();
    String nl = System.lineSeparator();
    assertThat(stderr()).isEqualTo("(d1) hi" + nl
        + "hospes: " + kernel + ": triple fault at eip=0x00100017"
        + " (delivering #UD, error code 0)" + nl + "hospes: last guest output:" + nl + "  | hi"
        + nl);
  }

  @Test
  void runStopsAtTheInstructionLimitWithStatusFour() throws IOException {
    Path kernel = file("spin.elf", ElfImageBuilder.multibootKernel(new byte[] {
        (byte) 0xEB, (byte) 0xFE})); // jmp $
    assertThat(hospes("run", "--max-insns", "10k", kernel.toString())).isEqualTo(4);
    assertThat(stderr()).contains("instruction limit of 10000 reached").hasLineCount(1);
  }

  @Test
  void demoTakesNoSampleName() {
    assertThat(hospes("demo", "../../etc/passwd")).isEqualTo(2);
    assertThat(stderr()).hasLineCount(1).contains("hospes: unmatched argument");
  }

  // dom0's scheduling options and dom0 in the statistics.

  @Test
  void runReportsDom0LikeAnyDomainWithTheGivenWeightAndCap() throws IOException {
    Path json = dir.resolve("s.json");
    assertThat(hospes("run", "--mode", "hvm", "--dom0-weight", "512", "--dom0-cap", "50",
        "--stats", "--stats-json", json.toString(), okKernel().toString())).isEqualTo(0x21);
    assertThat(stdout()).isEqualTo("OK\n");
    assertThat(stderr()).contains("domain 0 Domain-0 (service, the control domain): running")
        .containsPattern("weight, cap +512, 50%")
        // Its vCPU count and migrations, as every domain's (the pCPU lines count them).
        .containsPattern("\\(service, the control domain\\): running\n.*\n.*\n  vcpus +1"
            + " \\(0 migrations\\)\n")
        // Three characters and the debug exit: four ioreqs, each served in dom0's time.
        .containsPattern("ioreqs served +4\\n")
        .doesNotContain("dom0 services:");
    String stats = Files.readString(json);
    assertThat(stats).contains("{\"domid\":0,\"name\":\"Domain-0\"")
        // dom0 ran four device-model round trips of the default cost model.
        .contains("\"weight\":512,\"cap\":50,\"runstate\":{\"running\":"
            + 4 * new org.hospes.hv.cost.DefaultCostModel().ioreq() + ",")
        .contains("\"service\":true,\"privilege\":\"the control domain\",\"ioreqsServed\":4")
        .contains("\"domid\":1,\"name\":\"guest\"");
  }

  @Test
  void runManyStatsStillReportADomainDestroyedDuringTheRun() throws IOException {
    Path spin = file("spin.elf", ElfImageBuilder.multibootKernel(new byte[] {
        (byte) 0xEB, (byte) 0xFE                     // 1: jmp 1b
    }));
    Path json = dir.resolve("s.json");
    // The destroyed domain leaves the hypervisor's lists at once; what it did is still part
    // of the run.
    assertThat(hospes("run-many", "--destroy", "spin@2000000", "--domain", "ok=" + okKernel(),
        "--domain", "spin=" + spin, "--stats", "--stats-json", json.toString())).isZero();
    assertThat(Files.readString(json)).contains("\"name\":\"spin\"")
        .contains("\"name\":\"ok\"");
    assertThat(stderr().lines()).anyMatch(l -> l.startsWith("domain 2 spin ("));
  }

  /**
   * A number too big for an int got picocli's "'99999999999' is not an int" where any other
   * out-of-range value gets the option's own range message: every int option with a range
   * now takes a long and says its range.
   */
  @Test
  void numbersBeyondAnIntGetTheOptionsRangeMessage() throws IOException {
    String k = okKernel().toString();
    String big = "99999999999";
    String[][] cases = {
        {"run", "--ram", big, k},
        {"--ram must be between 1 and 2047 MiB in native mode, got 99999999999"},
        {"run", "--cpus", big, k}, {"--cpus must be between 1 and 64, got 99999999999"},
        {"run", "--mode", "hvm", "--pcpus", big, k},
        {"--pcpus must be between 1 and 64, got 99999999999"},
        {"run", "--mode", "hvm", "--dom0-weight", big, k},
        {"--dom0-weight must be 1..65535, got 99999999999"},
        {"run", "--mode", "hvm", "--dom0-cap", "-" + big, k},
        {"--dom0-cap must be 0..100 (percent of a CPU), got -99999999999"},
        {"run-many", "--pcpus", big, "--domain", "a=" + k},
        {"--pcpus must be between 1 and 64, got 99999999999"},
        {"top", "-n", "-" + big}, {"--iterations must be at least 1, got -99999999999"},
        {"demo", "--round-trips", big},
        {"--round-trips must be between 1 and 2147483647, got 99999999999"},
        {"bench", "--runs", "-" + big}, {"--runs must be at least 1, got -99999999999"},
        {"bench", "--disk", "--disk-mib", big},
        {"--disk-mib must be between 1 and 1024, got 99999999999"},
        {"bench", "--domains", big},
        {"--domains takes counts between 1 and 100000, e.g. --domains 10,100,1000"},
        {"host", "start", "--state-dir", dir.resolve("st").toString(), "--pcpus", big},
        {"--pcpus must be between 1 and 64, got 99999999999"},
    };
    for (int i = 0; i < cases.length; i += 2) {
      err.reset();
      assertThat(hospes(cases[i])).as(String.join(" ", cases[i])).isEqualTo(2);
      assertThat(stderr()).as(String.join(" ", cases[i]))
          .isEqualTo("hospes: " + cases[i + 1][0] + System.lineSeparator());
    }
    err.reset();
    assertThat(hospes("host", "start", "--state-dir", dir.resolve("st").toString(), "--memory",
        big)).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: --memory must be 64..").endsWith(
        "), got 99999999999" + System.lineSeparator());
  }

  /**
   * Hospes's own messages start in lower case after "hospes: "; the ones picocli words started
   * with a capital ("Invalid value ...", "Missing required ...", "Unmatched argument ...").
   */
  @Test
  void argumentErrorsStartInLowerCaseAsEveryOtherMessage() {
    String[][] cases = {
        {"run", "--ram", "lots"}, {"invalid value for option '--ram': 'lots' is not a whole number"},
        {"host", "start", "--pcpus", "99999999999999999999"},
        {"invalid value for option '--pcpus': '99999999999999999999' is far out of range"},
        {"destroy", "web", "db"}, {"unmatched argument at index 2: 'db'"},
        {"top", "-d"}, {"missing required parameter for option '--delay' (SECONDS)"},
        {"pause"}, {"missing required parameter: 'DOMAIN'"},
        {"sched-credit", "--bogus"}, {"unknown option: '--bogus'"},
    };
    for (int i = 0; i < cases.length; i += 2) {
      err.reset();
      assertThat(hospes(cases[i])).as(String.join(" ", cases[i])).isEqualTo(2);
      assertThat(stderr()).as(String.join(" ", cases[i])).hasLineCount(1)
          .startsWith("hospes: " + cases[i + 1][0] + " (see 'hospes " + cases[i][0]);
    }
  }

  @Test
  void badDom0OptionsAreUsageErrorsNamingTheOption() throws IOException {
    assertThat(hospes("run", "--mode", "hvm", "--dom0-cap", "150", okKernel().toString()))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --dom0-cap must be 0..100 (percent of a CPU), got"
        + " 150" + System.lineSeparator());
  }

  @Test
  void runManyTakesADom0LineInItsConfigAndTheOptionsOverIt() throws IOException {
    Path kernel = okKernel();
    Path cfg = dir.resolve("host.cfg");
    Files.writeString(cfg, "# dom0's share\ndom0 weight=1024,cap=20\na=" + kernel + "\n");
    Path json = dir.resolve("s.json");
    assertThat(hospes("run-many", "--config", cfg.toString(), "--dom0-cap", "30",
        "--stats-json", json.toString())).isZero();
    assertThat(Files.readString(json)).contains("\"name\":\"Domain-0\"")
        .contains("\"weight\":1024,\"cap\":30,");
    Files.writeString(cfg, "dom0 cap=200\na=" + kernel + "\n");
    err.reset();
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + cfg + ":1: dom0: cap must be 0..100 (percent of"
        + " a CPU), got 200" + System.lineSeparator());
  }

  @Test
  void aSecondDom0OrHostLineInAConfigIsRefusedAtItsLine() throws IOException {
    // The last trial: a second dom0 line silently won over the first.
    Path kernel = okKernel();
    Path cfg = dir.resolve("host.cfg");
    Files.writeString(cfg, "dom0 weight=512\n# more\ndom0 cap=20\na=" + kernel + "\n");
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + cfg + ":3: a second dom0 line (the first is"
        + " line 1); give weight and cap on one line: dom0 [weight=W][,cap=C]"
        + System.lineSeparator());
    Files.writeString(cfg, "host pcpus=2\na=" + kernel + "\nhost pcpus=1\n");
    err.reset();
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: " + cfg + ":3: a second host line (the first is"
        + " line 1)");
  }

  @Test
  void errorsFoundLaterInAConfigsDomainsStillNameFileAndLine() throws IOException {
    // The last trial: these were found after the file was read, and named no line.
    Path kernel = okKernel();
    Path cfg = dir.resolve("host.cfg");
    Files.writeString(cfg, "a=" + kernel + "\n\nb=missing.elf\n");
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + cfg + ":3: b: " + dir.resolve("missing.elf")
        + ": no such file" + System.lineSeparator());
    Files.writeString(cfg, "a=" + kernel + "\na=" + kernel + "\n");
    err.reset();
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + cfg + ":2: two domains are named a (the first"
        + " is line 1 of " + cfg + ")" + System.lineSeparator());
    Files.writeString(cfg, "a=" + kernel + ",loader=nope\n");
    err.reset();
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: " + cfg + ":1: a: unknown loader 'nope'");
    // A --domain has no line to name.
    err.reset();
    assertThat(hospes("run-many", "--domain", "c=" + dir.resolve("none.elf"))).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: c: ");
  }

  @Test
  void aDriverDomainForAnEmulatedIdeDiskIsRefusedNotIgnored() throws IOException {
    // The trial: an hvm domain's IDE disk took backend=storage and ran on dom0's device model.
    Path kernel = okKernel();
    Path img = file("d.img", new byte[1 << 20]);
    assertThat(hospes("run", "--mode", "hvm", "--disk", img + ",backend=storage",
        kernel.toString())).isEqualTo(2);
    assertThat(stderr()).contains("disk " + img + ": backend=storage: an emulated IDE disk is"
        + " served by dom0's device model; backend= is for xen disks");
    err.reset();
    assertThat(hospes("run-many", "--domain", "a=" + kernel + ",mode=hvm,disk=[backend=st,target="
        + img + "]")).isEqualTo(2);
    assertThat(stderr()).contains("backend=st: an emulated IDE disk");
  }

  @Test
  void studyRefusesAnUnusableOutDirAndAnUnknownKernelBeforeRunning() throws Exception {
    Path study = dir.resolve("s.yaml");
    Files.writeString(study, "workloads: [{name: nb, kernel: nanobench}]\nmodes: [native]\n");
    Path notDir = file("plain", new byte[] {1});
    assertThat(hospes("study", study.toString(), "--out", notDir.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --out " + notDir + ": not a directory\n");
    err.reset();

    Files.writeString(study, "workloads: [{name: a, kernel: nosuch}]\nmodes: [native]\n");
    assertThat(hospes("study", study.toString(), "--out", dir.resolve("o").toString()))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + study + ":1:31: workload a: kernel nosuch:"
        + " no file " + dir.resolve("nosuch") + " and no sample kernel samples/kernels/nosuch.c\n");
  }
}
