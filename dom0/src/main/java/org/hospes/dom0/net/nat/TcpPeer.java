package org.hospes.dom0.net.nat;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The far end of a guest TCP connection that the gateway terminates ({@link TcpConnection}): a
 * host socket ({@link SocketPeer}) or a service inside dom0 ({@link DataServer}). The calls are
 * those of a non-blocking {@link java.nio.channels.SocketChannel}, which is what the gateway
 * relayed to before it had services of its own.
 */
interface TcpPeer {

  /** Whether the connect has completed (false: not yet); an IOException if it was refused. */
  boolean finishConnect() throws IOException;

  /** Bytes for the guest into {@code dst}: how many, 0 for none yet, -1 at the end. */
  int read(ByteBuffer dst) throws IOException;

  /** Takes bytes the guest sent from {@code src}: how many (0: none taken now). */
  int write(ByteBuffer src) throws IOException;

  /** The guest sent FIN: no more bytes will be written. */
  void shutdownOutput() throws IOException;

  /** Drops the peer; {@code reset} closes a host socket abortively (RST to the host). */
  void close(boolean reset);

  /**
   * Whether the peer answers within the call that gave it its input, in virtual time: a
   * service in dom0 does, so the gateway reads its answer at once rather than at its next poll
   * (a host socket's data arrives on the host's schedule, and is read at the poll).
   */
  default boolean immediate() {
    return false;
  }
}
