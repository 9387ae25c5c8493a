package org.hospes.x86;

import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A C program of the host-side differential tests (x87, FXSAVE), built with gcc into
 * target/native when its source is newer, fed fixed-size records on stdin and read back as
 * fixed-size results.
 */
final class HostHarness {
  private HostHarness() {}

  /** Builds {@code src/test/native/<source>} into {@code target/native/<name>} if stale. */
  static Path build(String source, String name) throws IOException, InterruptedException {
    Path src = Path.of("src/test/native").resolve(source);
    Path dir = Path.of("target/native");
    Files.createDirectories(dir);
    Path exe = dir.resolve(name);
    if (Files.exists(exe) && Files.getLastModifiedTime(exe).compareTo(
        Files.getLastModifiedTime(src)) > 0) {
      return exe;
    }
    Process p;
    try {
      p = new ProcessBuilder("gcc", "-O1", "-o", exe.toString(), src.toString())
          .redirectErrorStream(true).start();
    } catch (IOException e) {
      fail("gcc not found: install the Debian package gcc to run the host differential tests");
      throw e;
    }
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      fail("building " + src + " failed:\n" + out);
    }
    return exe;
  }

  /** Feeds {@code records} to {@code harness} and returns its results, {@code outSize} each. */
  static byte[] run(Path harness, List<byte[]> records, int outSize) throws Exception {
    Process p = new ProcessBuilder(harness.toString()).start();
    Thread writer = new Thread(() -> {
      try (OutputStream os = p.getOutputStream()) {
        for (byte[] record : records) {
          os.write(record);
        }
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    writer.start();
    byte[] all = new byte[records.size() * outSize];
    try (InputStream is = p.getInputStream()) {
      new DataInputStream(is).readFully(all);
    }
    writer.join();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      p.getErrorStream().transferTo(err);
      fail(harness.getFileName() + " failed: " + err);
    }
    return all;
  }
}
