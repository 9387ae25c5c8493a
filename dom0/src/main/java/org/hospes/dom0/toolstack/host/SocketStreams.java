package org.hospes.dom0.toolstack.host;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Streams over a blocking socket channel that one thread may read while another writes (a
 * console: keys in, guest output out). {@code Channels.newInputStream} and
 * {@code newOutputStream} share the channel's blocking lock, so a blocked read there would hold
 * up every write.
 */
final class SocketStreams {
  private SocketStreams() {}

  static InputStream in(SocketChannel ch) {
    return new InputStream() {
      private final ByteBuffer one = ByteBuffer.allocate(1);

      @Override
      public int read() throws IOException {
        one.clear();
        int n;
        while ((n = ch.read(one)) == 0) {
          Thread.onSpinWait();
        }
        return n < 0 ? -1 : one.get(0) & 0xFF;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        int n;
        while ((n = ch.read(ByteBuffer.wrap(b, off, len))) == 0) {
          Thread.onSpinWait();
        }
        return n;
      }
    };
  }

  static OutputStream out(SocketChannel ch) {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b, off, len);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
    };
  }
}
