package org.hospes.dom0.disk;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * A child process for {@link ImageKillTest}: writes block after block of a recognisable pattern
 * into an image, flushing after each, and prints "flushed N" once block N is durable, until it
 * is killed.
 */
public final class ImageWriterMain {
  static final int BLOCK = 12_288;

  private ImageWriterMain() {}

  static byte[] pattern(int n) {
    byte[] b = new byte[BLOCK];
    Arrays.fill(b, (byte) (n * 31 + 7));
    b[0] = (byte) n;
    b[1] = (byte) (n >> 8);
    return b;
  }

  public static void main(String[] args) throws Exception {
    try (DiskImage d = new DiskImages().open(Path.of(args[0]), null, false)) {
      System.out.println("opened");
      System.out.flush();
      long blocks = d.sizeBytes() / BLOCK;
      for (int n = 0; ; n++) {
        long at = (n % blocks) * BLOCK;
        d.write(at, pattern(n), 0, BLOCK);
        if (n % 7 == 0) {
          d.discard(((n * 5L) % blocks) * BLOCK, BLOCK);
        }
        d.write(at, pattern(n), 0, BLOCK);
        d.flush();
        System.out.println("flushed " + n);
        System.out.flush();
      }
    }
  }
}
