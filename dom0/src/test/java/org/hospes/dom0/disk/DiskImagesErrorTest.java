package org.hospes.dom0.disk;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image that cannot be opened says why in one line. java.nio's AccessDeniedException for a
 * file the user may not read carries only the path, and that bare path was the whole message
 * ("hospes: --disk: unr.img" for an image with mode 000, seen as a non-root user).
 */
class DiskImagesErrorTest {
  @TempDir
  Path dir;

  @Test
  void aFileSystemErrorWithoutAReasonIsGivenOne() throws Exception {
    Path img = Files.write(dir.resolve("a.img"), new byte[4096]);
    // A format whose open fails as FileChannel.open does on a file without read permission
    // (this test may run as root, for whom chmod 000 denies nothing).
    DiskFormat denied = new DiskFormat() {
      @Override
      public String name() {
        return "denied";
      }

      @Override
      public boolean probe(byte[] header) {
        return true;
      }

      @Override
      public DiskImage open(Path path, boolean readOnly) throws java.io.IOException {
        throw new AccessDeniedException(path.toString());
      }
    };
    assertThatThrownBy(() -> new DiskImages(Map.of("denied", denied)).open(img, "denied", true))
        .hasMessage(img + ": permission denied");
  }
}
