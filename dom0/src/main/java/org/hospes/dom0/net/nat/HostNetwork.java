package org.hospes.dom0.net.nat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Where the gateway's flows meet the host: the sockets it opens. Every channel comes back
 * non-blocking; the gateway polls them from {@link NatGateway#poll()}. Production uses
 * {@link #REAL}; a test can substitute one that refuses, so that hostile input never reaches the
 * host's network.
 */
public interface HostNetwork {

  /** Starts a TCP connect to {@code to}; the gateway finishes it with {@code finishConnect}. */
  SocketChannel connect(InetSocketAddress to) throws IOException;

  /** A UDP socket connected to {@code to}, on an ephemeral local port. */
  DatagramChannel udp(InetSocketAddress to) throws IOException;

  /** A TCP listener for a port forward. */
  ServerSocketChannel listenTcp(InetSocketAddress at) throws IOException;

  /** A bound UDP socket for a port forward. */
  DatagramChannel listenUdp(InetSocketAddress at) throws IOException;

  /** The host's own sockets. */
  HostNetwork REAL = new HostNetwork() {
    @Override
    public SocketChannel connect(InetSocketAddress to) throws IOException {
      return setUp(SocketChannel.open(), ch -> {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.connect(to);
      });
    }

    @Override
    public DatagramChannel udp(InetSocketAddress to) throws IOException {
      return setUp(DatagramChannel.open(), ch -> {
        ch.configureBlocking(false);
        ch.connect(to);
      });
    }

    @Override
    public ServerSocketChannel listenTcp(InetSocketAddress at) throws IOException {
      return setUp(ServerSocketChannel.open(), ch -> {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        ch.bind(at);
      });
    }

    @Override
    public DatagramChannel listenUdp(InetSocketAddress at) throws IOException {
      return setUp(DatagramChannel.open(), ch -> {
        ch.configureBlocking(false);
        ch.bind(at);
      });
    }
  };

  /** What is done to a fresh channel before it is handed out. */
  @FunctionalInterface
  interface SetUp<C> {
    void apply(C channel) throws IOException;
  }

  /** {@code ch} after {@code setUp}; closed if that fails, so a refused address leaks nothing. */
  private static <C extends java.nio.channels.Channel> C setUp(C ch, SetUp<C> setUp)
      throws IOException {
    try {
      setUp.apply(ch);
      return ch;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }
}
