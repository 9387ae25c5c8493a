package org.hospes.dom0.disk;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing a writable image forces it to stable storage first, as QEMU's bdrv_close does: a run
 * that ends (or is stopped with Ctrl-C) before the guest flushed keeps what the guest wrote.
 * The file's channel is seen through a recording double ({@link ImageChannels}); a plugin's
 * image through a recording {@link DiskImage}.
 */
class ImageCloseFlushTest {
  @TempDir
  Path dir;

  /** What was done to the channels, in order: "force", "close". */
  private final List<String> events = new ArrayList<>();

  private final ImageChannels recording = (path, readOnly) ->
      new Recording(ImageChannels.open0(path, readOnly), events);

  @Test
  void closingAWritableRawImageForcesItFirst() throws IOException {
    Path p = Files.write(dir.resolve("a.img"), new byte[4096]);
    RawImage img = RawImage.open(p, false, recording);
    img.write(0, new byte[] {1, 2, 3}, 0, 3);
    img.close();
    assertThat(events).containsExactly("force", "close");
    img.close(); // a second close (a backend's, then the toolstack's) does nothing
    assertThat(events).containsExactly("force", "close");
  }

  @Test
  void closingAReadOnlyRawImageDoesNotForce() throws IOException {
    Path p = Files.write(dir.resolve("a.img"), new byte[4096]);
    RawImage.open(p, true, recording).close();
    assertThat(events).containsExactly("close");
  }

  @Test
  void closingAWritableQcow2ImageForcesItFirst() throws Exception {
    Path p = dir.resolve("a.qcow2");
    Process q = new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", p.toString(),
        "1M").redirectErrorStream(true).start();
    String out = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(q.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(q.exitValue()).as(out).isZero();
    Qcow2Image img = Qcow2Image.open(p, false, (b, f, d) -> {
      throw new AssertionError("no backing file");
    }, 0, recording);
    img.write(0, new byte[] {1, 2, 3}, 0, 3);
    events.clear(); // an allocating write may force on its own: only the close matters here
    img.close();
    assertThat(events).containsExactly("force", "close");
    img.close();
    assertThat(events).containsExactly("force", "close");
  }

  @Test
  void closingAPluginsWritableImageFlushesItFirst() throws IOException {
    Path p = Files.write(dir.resolve("a.mem"), new byte[] {'M', 'E', 'M'});
    List<String> calls = new ArrayList<>();
    DiskFormat mem = new DiskFormat() {
      @Override
      public String name() {
        return "mem";
      }

      @Override
      public boolean probe(byte[] header) {
        return header.length >= 3 && header[0] == 'M' && header[1] == 'E' && header[2] == 'M';
      }

      @Override
      public DiskImage open(Path path, boolean readOnly) {
        return new RecordingDisk(new MemoryDisk(4096, readOnly), calls);
      }
    };
    DiskImages images = new DiskImages(Map.of("mem", mem));
    DiskImage rw = images.open(p, "mem", false);
    rw.write(0, new byte[] {1}, 0, 1);
    rw.close();
    assertThat(calls).containsExactly("write", "flush", "close");
    rw.close();
    assertThat(calls).containsExactly("write", "flush", "close");

    calls.clear();
    images.open(p, "mem", true).close();
    assertThat(calls).containsExactly("close");
  }

  /** A plugin's image that does not flush on close (nothing says it must): calls recorded. */
  private static final class RecordingDisk implements DiskImage {
    private final MemoryDisk disk;
    private final List<String> calls;

    RecordingDisk(MemoryDisk disk, List<String> calls) {
      this.disk = disk;
      this.calls = calls;
    }

    @Override
    public long sizeBytes() {
      return disk.sizeBytes();
    }

    @Override
    public boolean readOnly() {
      return disk.readOnly();
    }

    @Override
    public void read(long offset, byte[] buf, int off, int len) {
      disk.read(offset, buf, off, len);
    }

    @Override
    public void write(long offset, byte[] buf, int off, int len) throws IOException {
      calls.add("write");
      disk.write(offset, buf, off, len);
    }

    @Override
    public void flush() {
      calls.add("flush");
    }

    @Override
    public void discard(long offset, long length) {
      calls.add("discard");
    }

    @Override
    public String format() {
      return "mem";
    }

    @Override
    public void close() {
      calls.add("close");
    }
  }

  /** A real file channel whose force and close are recorded. */
  private static final class Recording extends FileChannel {
    private final FileChannel ch;
    private final List<String> events;

    Recording(FileChannel ch, List<String> events) {
      this.ch = ch;
      this.events = events;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return ch.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
      return ch.read(dsts, offset, length);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      return ch.write(src);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
      return ch.write(srcs, offset, length);
    }

    @Override
    public long position() throws IOException {
      return ch.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
      ch.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return ch.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
      ch.truncate(size);
      return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
      events.add("force");
      ch.force(metaData);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target)
        throws IOException {
      return ch.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count)
        throws IOException {
      return ch.transferFrom(src, position, count);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return ch.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
      return ch.write(src, position);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
      return ch.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
      return ch.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return ch.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      events.add("close");
      ch.close();
    }
  }
}
