package org.hospes.x86.diff;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The reference side: {@code src/test/native/diffharness.c}, compiled with the host gcc at test
 * time into {@code target/diff-native/}, either as a 64-bit host program or as a static 32-bit
 * program run under {@code qemu-i386}. Cases go to it in one batch over stdin; results come back
 * over stdout (protocol in the C file's header comment).
 */
final class NativeHarness {
  enum Kind { HOST64, QEMU32 }

  private static final int MAGIC = 0x32464448;
  private static final int SIGILL = 4, SIGBUS = 7, SIGFPE = 8, SIGSEGV = 11, SI_KERNEL = 0x80;
  private static final int SEGV_MAPERR = 1, SEGV_ACCERR = 2;
  private static final int FPE_INTDIV = 1;

  private final Kind kind;
  private final Path binary;
  private final int scratchSize;
  /** Largest code a case may carry; every case is sent padded to it. */
  private final int codeMax;

  private NativeHarness(Kind kind, Path binary, int scratchSize, int codeMax) {
    this.kind = kind;
    this.binary = binary;
    this.scratchSize = scratchSize;
    this.codeMax = codeMax;
  }

  /**
   * Compiles the harness if needed. Throws {@link IllegalStateException} with a one-line message
   * naming the Debian package to install when a tool is missing.
   */
  static NativeHarness build(Kind kind, int scratchSize) {
    return build(kind, scratchSize, Layout.CODE_MAX);
  }

  /** As {@link #build(Kind, int)}, for cases of up to {@code codeMax} bytes of code. */
  static NativeHarness build(Kind kind, int scratchSize, int codeMax) {
    Path module = moduleDir();
    Path src = module.resolve("src/test/native/diffharness.c");
    Path out = module.resolve("target/diff-native");
    requireTool("gcc", "gcc");
    if (kind == Kind.QEMU32) {
      requireTool("qemu-i386", "qemu-user");
    }
    Path bin = out.resolve(kind == Kind.HOST64 ? "diffharness64" : "diffharness32");
    try {
      Files.createDirectories(out);
      if (!Files.exists(bin)
          || Files.getLastModifiedTime(bin).compareTo(Files.getLastModifiedTime(src)) < 0) {
        // No stack protector: the signal handler runs before it has put the harness's GS back.
        List<String> cmd = new ArrayList<>(List.of("gcc", "-O1", "-Wall", "-fno-stack-protector",
            "-o", bin.toString()));
        if (kind == Kind.QEMU32) {
          cmd.addAll(List.of("-m32", "-static", "-fno-pie", "-no-pie"));
        }
        cmd.add(src.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
          System.err.println(log);
          throw new IllegalStateException(kind == Kind.QEMU32
              ? "cannot build the static 32-bit harness: install the Debian package gcc-multilib"
              : "cannot build the host harness with gcc (compiler output above)");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return new NativeHarness(kind, bin, scratchSize, codeMax);
  }

  private static Path moduleDir() {
    Path cwd = Path.of("").toAbsolutePath();
    if (Files.exists(cwd.resolve("src/test/native/diffharness.c"))) {
      return cwd;
    }
    String root = System.getProperty("hospes.root");
    Path m = Path.of(root == null ? "." : root).resolve("hypervisor").toAbsolutePath();
    if (Files.exists(m.resolve("src/test/native/diffharness.c"))) {
      return m;
    }
    throw new IllegalStateException("cannot find src/test/native/diffharness.c from " + cwd);
  }

  static void requireTool(String tool, String debianPackage) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
        return;
      }
    }
    throw new IllegalStateException(
        tool + " not found: install the Debian package " + debianPackage + " (apt-get install "
            + debianPackage + ")");
  }

  int scratchSize() {
    return scratchSize;
  }

  /** Runs all {@code cases} in one process and returns their outcomes in order. */
  Outcome[] run(List<DiffCase> cases) {
    List<String> cmd = kind == Kind.QEMU32
        ? List.of("qemu-i386", binary.toString())
        : List.of(binary.toString());
    Process p = null;
    try {
      p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      Process proc = p;
      Thread writer = new Thread(() -> writeCases(proc.getOutputStream(), cases), "diff-harness-writer");
      writer.setDaemon(true);
      writer.start();
      Outcome[] out = readOutcomes(p.getInputStream(), cases);
      writer.join();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException(kind + " harness did not exit");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(kind + " harness failed, exit " + p.exitValue());
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(kind + " harness", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      if (p != null && p.isAlive()) {
        p.destroyForcibly();
      }
    }
  }

  private void writeCases(OutputStream raw, List<DiffCase> cases) {
    // -Dhospes.diff.dump=FILE keeps a copy of the harness input, to replay it by hand:
    // target/diff-native/diffharness64 < FILE | xxd
    String dump = System.getProperty("hospes.diff.dump");
    try (OutputStream os = new BufferedOutputStream(dump == null || dump.isBlank() ? raw
        : new Tee(raw, Files.newOutputStream(Path.of(dump))), 1 << 20)) {
      ByteBuffer b = ByteBuffer.allocate(8 + codeMax + 52 + scratchSize)
          .order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer h = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
      h.putInt(MAGIC).putInt(cases.size()).putInt(Layout.SCRATCH_ADDR).putInt(scratchSize)
          .putInt(Layout.CODE_ADDR).putInt(Layout.CODE_SIZE).putInt(Layout.INSN_ADDR)
          .putInt(codeMax).putInt(Layout.LOW_CODE_ADDR).putInt(Layout.LOW_CODE_SIZE);
      os.write(h.array());
      for (DiffCase c : cases) {
        b.clear();
        b.putInt(c.refCode.length);
        b.putInt(c.codeAddr);
        b.put(c.refCode);
        b.position(8 + codeMax);
        for (int r : c.regs) {
          b.putInt(r);
        }
        b.putInt(c.eflags);
        for (int s : c.sregs) {
          b.putInt(s);
        }
        b.put(c.mem);
        os.write(b.array());
      }
    } catch (IOException e) {
      // The reader sees the short output and reports it.
    }
  }

  /** Writes to two streams; closes both. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int v) throws IOException {
      a.write(v);
      b.write(v);
    }

    @Override
    public void write(byte[] buf, int off, int len) throws IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }

    @Override
    public void close() throws IOException {
      try (b) {
        a.close();
      }
    }
  }

  private Outcome[] readOutcomes(InputStream raw, List<DiffCase> cases) throws IOException {
    DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 20));
    byte[] rec = new byte[80 + scratchSize];
    ByteBuffer b = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
    Outcome[] out = new Outcome[cases.size()];
    for (int i = 0; i < out.length; i++) {
      in.readFully(rec);
      b.clear();
      int signo = b.getInt();
      int code = b.getInt();
      Outcome o = new Outcome(scratchSize);
      o.eip = b.getInt();
      for (int r = 0; r < 8; r++) {
        o.regs[r] = b.getInt();
      }
      o.eflags = b.getInt();
      int addr = b.getInt();
      o.errorCode = b.getInt();
      for (int s = 0; s < 6; s++) {
        o.sregs[s] = b.getInt();
      }
      b.get(o.mem);
      DiffCase c = cases.get(i);
      boolean inFiller = Layout.atFiller(o.eip, c.codeAddr, c.refCode.length);
      if (signo == SIGSEGV && code == SI_KERNEL && inFiller) {
        o.vector = Outcome.COMPLETED;
        o.errorCode = 0;
      } else if (signo == SIGSEGV && (code == SEGV_MAPERR || code == SEGV_ACCERR) && c.userMode) {
        // A page fault: only user-mode cases leave the mapped windows on purpose (a truncated
        // 16-bit EIP); elsewhere it stays a generator bug (OTHER_SIGNAL below).
        o.vector = org.hospes.x86.Exceptions.PF;
        o.faultAddr = addr;
      } else if (signo == SIGSEGV && code == SI_KERNEL && o.eip - c.codeAddr >= 0
          && o.eip - c.codeAddr < c.refCode.length) {
        o.vector = org.hospes.x86.Exceptions.GP; // #GP(0) at an instruction of the case
      } else if (signo == SIGBUS && code == SI_KERNEL && c.userMode && o.eip - c.codeAddr >= 0
          && o.eip - c.codeAddr < c.refCode.length) {
        o.vector = c.busVector; // #NP or #SS (a not-present segment), as the generator says
      } else if (signo == SIGFPE && code == FPE_INTDIV) {
        o.vector = org.hospes.x86.Exceptions.DE;
      } else if (signo == SIGFPE) {
        o.vector = org.hospes.x86.Exceptions.XM; // SIMD floating-point exception (FPE_FLT*)
      } else if (signo == SIGILL) {
        o.vector = org.hospes.x86.Exceptions.UD;
      } else {
        o.vector = Outcome.OTHER_SIGNAL;
        o.note = "signo=" + signo + " si_code=" + code + " addr=" + Hex.h32(addr) + " eip="
            + Hex.h32(o.eip);
      }
      out[i] = o;
    }
    return out;
  }
}
