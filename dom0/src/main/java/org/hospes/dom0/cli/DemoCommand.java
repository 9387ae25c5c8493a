package org.hospes.dom0.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.machine.NativeMachine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hospes demo}: the quickest way to see Hospes boot something. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = "Runs a bundled sample kernel in native mode, building the samples with make"
        + " first if needed.")
final class DemoCommand implements Callable<Integer> {

  private final CliStreams streams;

  @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", defaultValue = "hello",
      description = "Sample kernel to run: samples/kernels/build/NAME.elf (default:"
          + " ${DEFAULT-VALUE}).")
  String name;

  @Option(names = "--max-insns", paramLabel = "N", converter = InstructionCountConverter.class,
      description = "Stop with status 4 after N instructions.")
  Long maxInstructions;

  DemoCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() throws IOException {
    if (!name.matches("[A-Za-z0-9_.-]+")) {
      streams.error("bad sample name '" + name + "'");
      return ExitStatus.USAGE;
    }
    Optional<SampleKernels> located = SampleKernels.locate();
    if (located.isEmpty()) {
      streams.error("cannot find " + SampleKernels.RELATIVE_DIR + "; run hospes from the source"
          + " tree or set HOSPES_ROOT");
      return ExitStatus.USAGE;
    }
    SampleKernels samples = located.get();
    Path elf = samples.elf(name);
    if (!Files.isRegularFile(elf)) {
      int status = build(samples);
      if (status != 0) {
        return status;
      }
      if (!Files.isRegularFile(elf)) {
        streams.error("no sample kernel '" + name + "' (" + elf + " was not built)");
        return ExitStatus.USAGE;
      }
    }
    return RunCommand.runNative(streams, elf, NativeMachine.DEFAULT_RAM_MIB, null,
        maxInstructions, false);
  }

  private int build(SampleKernels samples) {
    streams.err().println("hospes: building sample kernels (make -C " + samples.dir() + ")...");
    // make's log is shown only if it fails: on success it would bury the kernel's output.
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    int make;
    try {
      make = samples.build(new PrintStream(log, true, StandardCharsets.UTF_8));
    } catch (IOException e) {
      streams.error("cannot run make: " + e.getMessage());
      return ExitStatus.USAGE;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      streams.error("interrupted while building sample kernels");
      return ExitStatus.INTERNAL_ERROR;
    }
    if (make != 0) {
      streams.err().write(log.toByteArray(), 0, log.size());
      streams.error("building the sample kernels failed (make exited with " + make + ")");
      return ExitStatus.USAGE;
    }
    return 0;
  }
}
