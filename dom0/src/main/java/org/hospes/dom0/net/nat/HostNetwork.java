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
      SocketChannel ch = SocketChannel.open();
      try {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.connect(to);
        return ch;
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }

    @Override
    public DatagramChannel udp(InetSocketAddress to) throws IOException {
      DatagramChannel ch = DatagramChannel.open();
      try {
        ch.configureBlocking(false);
        ch.connect(to);
        return ch;
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }

    @Override
    public ServerSocketChannel listenTcp(InetSocketAddress at) throws IOException {
      ServerSocketChannel ch = ServerSocketChannel.open();
      try {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        ch.bind(at);
        return ch;
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }

    @Override
    public DatagramChannel listenUdp(InetSocketAddress at) throws IOException {
      DatagramChannel ch = DatagramChannel.open();
      try {
        ch.configureBlocking(false);
        ch.bind(at);
        return ch;
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }
  };
}
