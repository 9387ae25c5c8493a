package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PipeReaders} on a made-up /proc: it says a pipe's reader is gone only after it saw
 * one, and only once no process holds the pipe's read end, wherever the reader went.
 */
class PipeReadersTest {

  @TempDir
  Path proc;

  @Test
  void goneOnlyWhenNoProcessHoldsTheReadEnd() throws Exception {
    Path self = fd(100, 1, "pipe:[7]", "0100001"); // our stdout: the write end
    fd(100, 0, "/dev/null", "0100000");
    fd(200, 0, "pipe:[7]", "0100000"); // head's stdin
    fd(300, 0, "pipe:[8]", "0100000"); // another pipeline
    PipeReaders r = PipeReaders.of(proc, self);
    assertThat(r).isNotNull();
    assertThat(r.gone()).isFalse();

    // The reader forked: its child holds the read end after the parent ended.
    fd(400, 3, "pipe:[7]", "02"); // O_RDWR reads too
    rm(200);
    assertThat(r.gone()).isFalse();

    rm(400);
    assertThat(r.gone()).isTrue();
  }

  @Test
  void noReaderInSightFromTheStartMeansNothingCanBeSaid() throws Exception {
    // The reader lives where this /proc does not show it (another PID namespace, say): only
    // the write end is seen, and no answer is ever given.
    Path self = fd(100, 1, "pipe:[7]", "01");
    fd(200, 5, "pipe:[7]", "0101"); // another writer
    assertThat(PipeReaders.of(proc, self)).isNull();
    // A file or a terminal: nothing to watch.
    assertThat(PipeReaders.of(proc, fd(100, 2, "/dev/pts/0", "02"))).isNull();
  }

  private Path fd(int pid, int n, String target, String flags) throws IOException {
    Path fd = Files.createDirectories(proc.resolve(pid + "/fd")).resolve(Integer.toString(n));
    Files.createSymbolicLink(fd, Path.of(target));
    Files.writeString(Files.createDirectories(proc.resolve(pid + "/fdinfo"))
        .resolve(Integer.toString(n)), "pos:\t0\nflags:\t" + flags + "\nmnt_id:\t15\n");
    return fd;
  }

  private void rm(int pid) throws IOException {
    try (var all = Files.walk(proc.resolve(Integer.toString(pid)))) {
      all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
