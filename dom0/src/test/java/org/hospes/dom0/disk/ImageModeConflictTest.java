package org.hospes.dom0.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One image open for writing and read-only at once in this process (one domain's two disks,
 * or two domains') is refused, naming the image, as QEMU refuses it; before, read-only opens
 * took no lock and both were accepted. Readers share; closing gives the image back.
 */
class ImageModeConflictTest {
  @TempDir
  Path dir;

  private final DiskImages images = new DiskImages();

  @Test
  void readOnlyWhileOpenForWritingIsRefused() throws IOException {
    Path p = Files.write(dir.resolve("a.img"), new byte[4096]);
    try (DiskImage rw = images.open(p, null, false)) {
      assertThatThrownBy(() -> images.open(p, null, true)).isInstanceOf(IOException.class)
          .hasMessage(p + ": the image is open for writing (by this or another domain); it"
              + " cannot be opened read-only too");
    }
    // Closed: a reader may have it now.
    images.open(p, null, true).close();
  }

  @Test
  void writingWhileOpenReadOnlyIsRefusedAndReadersShare() throws IOException {
    Path p = Files.write(dir.resolve("a.img"), new byte[4096]);
    try (DiskImage ro1 = images.open(p, "raw", true);
        DiskImage ro2 = images.open(p, "raw", true)) {
      assertThatThrownBy(() -> images.open(p, "raw", false)).isInstanceOf(IOException.class)
          .hasMessage(p + ": the image is open read-only (by this or another domain); it"
              + " cannot be opened for writing too");
      ro1.close();
      // One reader left: still refused.
      assertThatThrownBy(() -> images.open(p, "raw", false)).isInstanceOf(IOException.class);
    }
    images.open(p, "raw", false).close();
  }

  @Test
  void aLinkToTheImageIsTheSameImage() throws IOException {
    Path p = Files.write(dir.resolve("a.img"), new byte[4096]);
    Path link = Files.createSymbolicLink(dir.resolve("b.img"), p);
    try (DiskImage rw = images.open(p, null, false)) {
      assertThatThrownBy(() -> images.open(link, null, true)).isInstanceOf(IOException.class)
          .hasMessageStartingWith(link + ": the image is open for writing");
    }
  }
}
