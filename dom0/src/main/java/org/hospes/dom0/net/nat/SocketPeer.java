package org.hospes.dom0.net.nat;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/** A guest connection's far end on the host: a non-blocking {@link SocketChannel}. */
final class SocketPeer implements TcpPeer {
  private final SocketChannel ch;

  SocketPeer(SocketChannel ch) {
    this.ch = ch;
  }

  @Override
  public boolean finishConnect() throws IOException {
    return ch.finishConnect();
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    return ch.read(dst);
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    return ch.write(src);
  }

  @Override
  public void shutdownOutput() throws IOException {
    ch.shutdownOutput();
  }

  @Override
  public void close(boolean reset) {
    try {
      if (reset && ch.isOpen()) {
        ch.setOption(StandardSocketOptions.SO_LINGER, 0);
      }
    } catch (IOException | RuntimeException e) {
      // best effort: the socket may be half-connected
    }
    try {
      ch.close();
    } catch (IOException e) {
      // nothing left to do with it
    }
  }
}
