package org.hospes.dom0.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hospes bench --disk}: the throughput table and the one-request round trip. */
class BlockBenchTest {

  @TempDir
  Path dir;

  @Test
  void aSingleReadsRoundTripIsRecordedOncePerRequestAndPersistentGrantsCostDom0Less()
      throws Exception {
    Path img = dir.resolve("d.img");
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(1), 1024 * 1024 - 1);
    }
    BlockBench.Latency mapped = BlockBench.roundTrips(img, false, 300, "map+unmap");
    BlockBench.Latency persistent = BlockBench.roundTrips(img, true, 300, "persistent");

    assertThat(mapped.requests()).isEqualTo(300);
    assertThat(mapped.hostNanos().getTotalCount()).isEqualTo(300);
    assertThat(mapped.hostNanos().getMinValue()).isPositive();
    assertThat(persistent.hostNanos().getTotalCount()).isEqualTo(300);
    // Virtual time is deterministic: a second run charges dom0 exactly the same.
    assertThat(BlockBench.roundTrips(img, false, 300, "again").cycles())
        .isEqualTo(mapped.cycles());
    // A persistent grant is mapped once and reused; map+unmap pays both for every request.
    assertThat(persistent.virtualMicros()).isPositive().isLessThan(mapped.virtualMicros());
  }

  @Test
  void theTablePrintsThroughputPerConfigurationThenTheRoundTrips() throws Exception {
    StringWriter text = new StringWriter();
    assertThat(BlockBench.run(new PrintWriter(text), 1)).isZero();
    String out = text.toString();
    assertThat(out).contains("blkback config", "persistent, indirect", "map+unmap, direct");
    assertThat(out.lines().filter(l -> l.matches("(map\\+unmap|persistent) +"
        + String.valueOf(BlockBench.LATENCY_SAMPLES) + " .*us +[0-9.]+us +[0-9.]+us"))).hasSize(2);
  }
}
