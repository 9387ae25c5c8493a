package org.hospes.dom0.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.FileNotFoundException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The check of an output file before a command runs opens it for real (permission bits do not
 * tell, for root or in /proc), leaves no new file behind and does not truncate an old one; and
 * a failure gives its reason, not the path again.
 */
class OutputFilesTest {

  @TempDir
  Path dir;

  @Test
  void aWritableNewFileIsAcceptedAndNotLeftBehind() {
    Path f = dir.resolve("new.json");
    assertThat(OutputFiles.problem(f, "--x")).isNull();
    assertThat(f).doesNotExist();
  }

  @Test
  void anExistingFileIsAcceptedAndKeepsItsContents() throws Exception {
    Path f = Files.writeString(dir.resolve("old.json"), "old contents");
    assertThat(OutputFiles.problem(f, "--x")).isNull();
    assertThat(f).hasContent("old contents");
  }

  @Test
  void aDirectoryThatRefusesNewFilesIsFound() {
    assumeTrue(Files.isDirectory(Path.of("/proc/self")), "no /proc");
    assertThat(OutputFiles.problem(Path.of("/proc/foo.json"), "--stats-json"))
        .isEqualTo("--stats-json /proc/foo.json: cannot write: no such file or directory");
  }

  @Test
  void reasonsAreWordsNotThePath() {
    assertThat(OutputFiles.reason(new NoSuchFileException("/a/b"))).isEqualTo(
        "no such file or directory");
    assertThat(OutputFiles.reason(new AccessDeniedException("/a/b"))).isEqualTo(
        "permission denied");
    assertThat(OutputFiles.reason(new FileSystemException("/a/b", null, "Read-only file system")))
        .isEqualTo("read-only file system");
    assertThat(OutputFiles.reason(new FileNotFoundException("/a/b (No space left on device)")))
        .isEqualTo("no space left on device");
    assertThat(OutputFiles.reason(dir.resolve("missing/f.pcap"),
        new NoSuchFileException(dir.resolve("missing/f.pcap").toString())))
        .isEqualTo("no such directory " + dir.resolve("missing"));
  }
}
