package org.hospes.dom0.net.nat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Arp;
import org.hospes.dom0.net.packet.Bytes;
import org.hospes.dom0.net.packet.Checksum;
import org.hospes.dom0.net.packet.Dhcp;
import org.hospes.dom0.net.packet.Ethernet;
import org.hospes.dom0.net.packet.Icmp;
import org.hospes.dom0.net.packet.IpProtocol;
import org.hospes.dom0.net.packet.Ipv4;
import org.hospes.dom0.net.packet.Tcp;
import org.hospes.dom0.net.packet.Udp;

/**
 * The NAT gateway of dom0's virtual switch, in the manner of QEMU's user networking: one switch
 * port that stands for a router at {@link NatConfig#gatewayIp()} (10.0.2.2 by default) and maps
 * the guests' flows onto host sockets.
 *
 * <ul>
 *   <li><b>ARP</b>: answers requests for the gateway's address; learns guests' MACs from their ARP
 *       packets, IPv4 frames and DHCP leases; asks (ARP request) when it must reach a guest it has
 *       not heard from, as a port forward does.
 *   <li><b>ICMP</b>: echo requests to the gateway are answered; echo to other hosts is not proxied
 *       (dropped). Traffic the gateway cannot map gets ICMP destination unreachable (UDP) or RST
 *       (TCP).
 *   <li><b>DHCP</b>: {@link DhcpServer}.
 *   <li><b>UDP</b>: each guest (address, port, destination, port) gets a host
 *       {@link DatagramChannel} connected to the mapped destination; replies come back as
 *       datagrams from the destination the guest used. An ICMP port unreachable the host reports
 *       on that socket goes back to the guest as one.
 *   <li><b>TCP</b>: {@link TcpConnection}, a user-space endpoint per flow relayed to a host
 *       {@link SocketChannel}.
 *   <li><b>Data server</b>: TCP to the gateway's address at {@link NatConfig#dataPort()} (80
 *       by default) reaches {@link DataServer}, an HTTP server in dom0 that serves generated
 *       bytes. It opens no host socket and answers in virtual time, so a guest's transfer from
 *       it gives the same counts on every run.
 *   <li><b>Mapping</b>: the gateway's own address stands for the host's 127.0.0.1 (as QEMU's
 *       10.0.2.2 does), except for the data server's port. Other addresses outside the subnet are reached through the host's network
 *       unless {@link NatConfig#restrict()}, in which case they are refused. Loopback, multicast,
 *       broadcast and 0/8 destinations, other guests' addresses, and IPv4 fragments are dropped.
 *   <li><b>Port forwards</b> ({@link NatConfig#forwards()}): a host TCP listener whose accepted
 *       connections become connections the gateway opens to the guest (its SYN comes from the
 *       gateway's address and an ephemeral port from 49152); a host UDP socket whose datagrams are
 *       sent to the guest, whose replies go back to the host client that sent them.
 * </ul>
 *
 * <p><b>Attaching it.</b> The switch constructs it with a config and a time source, attaches it
 * like any port and calls {@link #poll()} whenever it runs dom0's network work:
 *
 * <pre>{@code
 * NatGateway nat = new NatGateway("nat0", NatConfig.defaults(), clock::nanos);
 * switchPorts.add(nat);
 * nat.attach(vswitch::forward);   // frames from the gateway enter the switch
 * ...
 * nat.poll();                      // host sockets -> guest frames, TCP timers
 * nat.close();                     // at teardown: closes every host socket and listener
 * }</pre>
 *
 * <p>The time source is the hypervisor's virtual clock in nanoseconds (a fake in tests); TCP
 * retransmission, TIME_WAIT and DHCP leases run on it. The gateway starts no threads and is not
 * thread-safe: {@link #deliver}, {@link #poll} and {@link #close} must come from one thread (the
 * switch's), and the {@link FrameSink} must not call {@link #deliver} back synchronously (a switch
 * hands the gateway's frames to other ports, whose replies come later). Host sockets are
 * non-blocking, so nothing here ever waits; the only nondeterminism
 * is when the host's sockets have data. The gateway accepts frames whose destination MAC is its
 * own or broadcast, and ignores the rest, so a flooding switch may hand it everything.
 */
public final class NatGateway implements SwitchPort, AutoCloseable {

  /** The most TCP and UDP flows at once; beyond that new ones are refused (a guest cannot
   * exhaust the host's sockets). */
  public static final int MAX_TCP_FLOWS = 1024;
  public static final int MAX_UDP_FLOWS = 256;
  /** A UDP flow unused this long (virtual time) is closed. */
  static final long UDP_IDLE_NANOS = 120_000_000_000L;
  private static final int FIRST_EPHEMERAL = 49152;
  private static final int MAX_UDP_PAYLOAD = Ethernet.MTU - Ipv4.HEADER - Udp.HEADER;
  private static final int LOOPBACK = 0x7f000001;

  private final String name;
  private final NatConfig config;
  private final LongSupplier nanos;
  private final HostNetwork hostNet;
  private final ArpTable arp = new ArpTable();
  private final DhcpServer dhcp;
  private final SplittableRandom issRandom;
  private final Tcp.Segment seg = new Tcp.Segment();
  private final ByteBuffer udpBuf = ByteBuffer.allocate(65536);
  private final TcpLink tcpLink = new TcpLink();

  private final Map<FlowKey, TcpConnection> tcp = new HashMap<>();
  private final Map<FlowKey, UdpFlow> udp = new HashMap<>();
  private final List<Forward> forwards = new ArrayList<>();
  /** Inbound UDP-forward sessions by the gateway-side port the guest replies to. */
  private final Map<Integer, UdpForwardSession> udpSessions = new HashMap<>();
  private final Map<SocketAddress, UdpForwardSession> udpSessionsByClient = new HashMap<>();

  private FrameSink sink;
  private int ipId;
  private int nextEphemeral = FIRST_EPHEMERAL;
  private final Stats stats = new Stats();

  /** Counters, for logs and tests; only the gateway changes them. */
  public static final class Stats {
    long framesIn;
    long framesOut;
    long dropped;
    long tcpOpened;
    long tcpRefused;
    long udpOpened;
    long retransmissions;
    long dhcpReplies;
    long dataServed;

    public long framesIn() {
      return framesIn;
    }

    public long framesOut() {
      return framesOut;
    }

    /** Frames not for the gateway or not understood (bad checksum, fragment, unknown type). */
    public long dropped() {
      return dropped;
    }

    public long tcpOpened() {
      return tcpOpened;
    }

    /** Guest connects answered with RST because no host socket could be had for them. */
    public long tcpRefused() {
      return tcpRefused;
    }

    public long udpOpened() {
      return udpOpened;
    }

    /** Retransmission timeouts of the gateway's TCP endpoints. */
    public long retransmissions() {
      return retransmissions;
    }

    public long dhcpReplies() {
      return dhcpReplies;
    }

    /** Guest connections to the gateway's own data server ({@link NatConfig#dataPort()}). */
    public long dataServed() {
      return dataServed;
    }
  }

  record FlowKey(int guestIp, int guestPort, int peerIp, int peerPort) {}

  private static final class UdpFlow {
    final FlowKey key;
    final DatagramChannel channel;
    long lastUsed;
    /** The guest's last datagram's IP header and first 8 payload bytes, for an ICMP quote. */
    final byte[] quote = new byte[Ipv4.HEADER + 8];

    UdpFlow(FlowKey key, DatagramChannel channel) {
      this.key = key;
      this.channel = channel;
    }
  }

  private static final class Forward {
    final PortForward spec;
    final NetworkChannel channel;

    Forward(PortForward spec, NetworkChannel channel) {
      this.spec = spec;
      this.channel = channel;
    }
  }

  private static final class UdpForwardSession {
    final Forward forward;
    final SocketAddress client;
    final int gatewayPort;
    long lastUsed;

    UdpForwardSession(Forward forward, SocketAddress client, int gatewayPort) {
      this.forward = forward;
      this.client = client;
      this.gatewayPort = gatewayPort;
    }
  }

  /** A gateway on the host's own network. Opens the port forwards' listeners now. */
  public NatGateway(String name, NatConfig config, LongSupplier nanos) throws IOException {
    this(name, config, nanos, HostNetwork.REAL);
  }

  /**
   * A gateway whose host sockets come from {@code hostNet}. Opens the port forwards' listeners
   * now; an IOException (a port in use) closes those already opened.
   */
  public NatGateway(String name, NatConfig config, LongSupplier nanos, HostNetwork hostNet)
      throws IOException {
    this.name = Objects.requireNonNull(name, "name");
    this.config = Objects.requireNonNull(config, "config");
    this.nanos = Objects.requireNonNull(nanos, "nanos");
    this.hostNet = Objects.requireNonNull(hostNet, "hostNet");
    this.dhcp = new DhcpServer(config);
    this.issRandom = new SplittableRandom(config.seed());
    try {
      for (PortForward f : config.forwards()) {
        InetSocketAddress at = new InetSocketAddress(Addresses.toInet(f.hostIp()), f.hostPort());
        NetworkChannel ch = f.protocol() == PortForward.Protocol.TCP
            ? hostNet.listenTcp(at) : hostNet.listenUdp(at);
        forwards.add(new Forward(f, ch));
      }
    } catch (IOException e) {
      close();
      throw new IOException("port forward: " + e.getMessage(), e);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void attach(FrameSink toSwitch) {
    this.sink = Objects.requireNonNull(toSwitch, "toSwitch");
  }

  public NatConfig config() {
    return config;
  }

  public Stats stats() {
    return stats;
  }

  /** The host address the {@code index}th port forward is bound to (the real port for 0). */
  public InetSocketAddress forwardAddress(int index) throws IOException {
    return (InetSocketAddress) forwards.get(index).channel.getLocalAddress();
  }

  /** Number of open TCP connections (including those in TIME_WAIT). */
  public int tcpFlows() {
    return tcp.size();
  }

  public int udpFlows() {
    return udp.size();
  }

  /** The address bound by DHCP to the client with this hardware address, or 0. */
  public int dhcpAddress(long mac) {
    return dhcp.boundAddress(mac);
  }

  // =============================================================================================
  // Frames from the switch.

  @Override
  public void deliver(byte[] frame, int offset, int length) {
    stats.framesIn++;
    if (offset < 0 || length < Ethernet.HEADER || offset > frame.length - length) {
      stats.dropped++;
      return;
    }
    long dst = Ethernet.dst(frame, offset);
    long src = Ethernet.src(frame, offset);
    if ((dst != config.gatewayMac() && dst != Addresses.BROADCAST_MAC) || Ethernet.isGroup(src)
        || src == 0) {
      stats.dropped++;
      return;
    }
    int type = Ethernet.type(frame, offset);
    int p = offset + Ethernet.HEADER;
    int plen = length - Ethernet.HEADER;
    boolean handled;
    if (type == Ethernet.TYPE_ARP) {
      handled = onArp(frame, p, plen, src);
    } else if (type == Ethernet.TYPE_IPV4) {
      handled = onIpv4(frame, p, plen, src, dst == Addresses.BROADCAST_MAC);
    } else {
      handled = false;
    }
    if (!handled) {
      stats.dropped++;
    }
  }

  private boolean onArp(byte[] f, int p, int len, long ethSrc) {
    if (!Arp.isEthernetIpv4(f, p, len)) {
      return false;
    }
    long sha = Arp.senderMac(f, p);
    int spa = Arp.senderIp(f, p);
    if (config.isGuestAddress(spa) && sha == ethSrc) {
      arp.learn(spa, sha);
      retryPendingSyns(spa);
    }
    if (Arp.oper(f, p) == Arp.OP_REQUEST && Arp.targetIp(f, p) == config.gatewayIp()
        && !Ethernet.isGroup(sha) && sha != 0) {
      emit(Arp.frame(sha, Arp.OP_REPLY, config.gatewayMac(), config.gatewayIp(), sha, spa));
      return true;
    }
    return Arp.oper(f, p) == Arp.OP_REPLY || Arp.oper(f, p) == Arp.OP_REQUEST;
  }

  private boolean onIpv4(byte[] f, int ip, int len, long ethSrc, boolean ethBroadcast) {
    int ihl = Ipv4.validate(f, ip, len);
    if (ihl < 0 || Ipv4.isFragment(f, ip)) {
      return false;
    }
    int total = Ipv4.totalLength(f, ip);
    int src = Ipv4.src(f, ip);
    int dst = Ipv4.dst(f, ip);
    int proto = Ipv4.protocol(f, ip);
    int t = ip + ihl;
    int tlen = total - ihl;
    if (proto == IpProtocol.UDP.code()) {
      int ulen = Udp.validate(f, t, tlen, src, dst);
      if (ulen < 0) {
        return false;
      }
      if (Udp.dstPort(f, t) == Dhcp.SERVER_PORT && Udp.srcPort(f, t) == Dhcp.CLIENT_PORT
          && (dst == Addresses.BROADCAST_IP || dst == config.gatewayIp())
          && (src == 0 || config.isGuestAddress(src))) {
        return onDhcp(f, t + Udp.HEADER, ulen - Udp.HEADER);
      }
    }
    if (ethBroadcast || !config.isGuestAddress(src)) {
      return false;
    }
    arp.learn(src, ethSrc);
    if (dst != config.gatewayIp() && (config.inSubnet(dst) || Ipv4.isSpecial(dst))) {
      return false;
    }
    if (proto == IpProtocol.ICMP.code()) {
      return onIcmp(f, ip, total, ihl, src, dst);
    }
    if (proto == IpProtocol.UDP.code()) {
      int ulen = Bytes.u16(f, t + Udp.LENGTH);
      return onUdp(f, ip, ihl, t, ulen, src, dst);
    }
    if (proto == IpProtocol.TCP.code()) {
      if (!Tcp.parse(f, t, tlen, src, dst, seg)) {
        return false;
      }
      return onTcp(f, ip, total, ihl, src, dst);
    }
    return false;
  }

  // ---- ICMP -------------------------------------------------------------------------------------

  private boolean onIcmp(byte[] f, int ip, int total, int ihl, int src, int dst) {
    int o = ip + ihl;
    int len = total - ihl;
    if (dst != config.gatewayIp() || len < Icmp.HEADER || Checksum.of(f, o, len) != 0
        || Bytes.u8(f, o + Icmp.TYPE) != Icmp.TYPE_ECHO_REQUEST) {
      return false;
    }
    byte[] r = Ipv4.frame(guestMac(src), config.gatewayMac(), nextId(), IpProtocol.ICMP.code(),
        config.gatewayIp(), src, len);
    int ro = Ipv4.payloadOffset();
    System.arraycopy(f, o, r, ro, len);
    Bytes.put8(r, ro + Icmp.TYPE, Icmp.TYPE_ECHO_REPLY);
    Bytes.put8(r, ro + Icmp.CODE, 0);
    Bytes.put16(r, ro + Icmp.CHECKSUM, 0);
    Bytes.put16(r, ro + Icmp.CHECKSUM, Checksum.of(r, ro, len));
    emit(r);
    return true;
  }

  private void unreachable(byte[] f, int ip, int ipLen, int ihl, int guest, int code) {
    emit(Icmp.unreachable(guestMac(guest), config.gatewayMac(), nextId(), config.gatewayIp(), code,
        f, ip, ipLen, ihl));
  }

  // ---- DHCP -------------------------------------------------------------------------------------

  private boolean onDhcp(byte[] f, int off, int len) {
    DhcpServer.Reply r = dhcp.handle(f, off, len, nanos.getAsLong());
    if (r == null) {
      return false;
    }
    if (r.yiaddr() != 0 && r.type() == org.hospes.dom0.net.packet.DhcpMessageType.ACK) {
      arp.learn(r.yiaddr(), r.chaddr());
    }
    byte[] m = r.message();
    emit(Udp.frame(r.dstMac(), config.gatewayMac(), nextId(), config.gatewayIp(),
        Dhcp.SERVER_PORT, r.dstIp(), Dhcp.CLIENT_PORT, m, 0, m.length));
    stats.dhcpReplies++;
    return true;
  }

  // ---- UDP --------------------------------------------------------------------------------------

  private boolean onUdp(byte[] f, int ip, int ihl, int t, int ulen, int src, int dst) {
    int sport = Udp.srcPort(f, t);
    int dport = Udp.dstPort(f, t);
    int data = t + Udp.HEADER;
    int dlen = ulen - Udp.HEADER;
    if (dst == config.gatewayIp()) {
      UdpForwardSession s = udpSessions.get(dport);
      if (s != null && s.forward.spec.guestIp() == src && s.forward.spec.guestPort() == sport) {
        s.lastUsed = nanos.getAsLong();
        try {
          ((DatagramChannel) s.forward.channel).send(ByteBuffer.wrap(f, data, dlen), s.client);
        } catch (IOException e) {
          return false; // the host client went away: a datagram is lost, as UDP allows
        }
        return true;
      }
    }
    if (config.restrict() && dst != config.gatewayIp()) {
      unreachable(f, ip, ihl + ulen, ihl, src, Icmp.CODE_ADMIN_PROHIBITED);
      return true;
    }
    if (sport == 0 || dport == 0) {
      return false;
    }
    FlowKey key = new FlowKey(src, sport, dst, dport);
    UdpFlow flow = udp.get(key);
    long now = nanos.getAsLong();
    if (flow == null) {
      if (udp.size() >= MAX_UDP_FLOWS) {
        evictIdlestUdp();
      }
      try {
        DatagramChannel ch = hostNet.udp(new InetSocketAddress(Addresses.toInet(mapped(dst)),
            dport));
        flow = new UdpFlow(key, ch);
      } catch (IOException | RuntimeException e) {
        unreachable(f, ip, ihl + ulen, ihl, src, Icmp.CODE_HOST_UNREACHABLE);
        return true;
      }
      udp.put(key, flow);
      stats.udpOpened++;
    }
    flow.lastUsed = now;
    System.arraycopy(f, ip, flow.quote, 0, Ipv4.HEADER);
    Bytes.put8(flow.quote, 0, 0x45); // the quote keeps a 20-byte header even if ours had options
    System.arraycopy(f, t, flow.quote, Ipv4.HEADER, 8);
    try {
      flow.channel.write(ByteBuffer.wrap(f, data, dlen));
    } catch (PortUnreachableException e) {
      emit(Icmp.unreachable(guestMac(src), config.gatewayMac(), nextId(), config.gatewayIp(),
          Icmp.CODE_PORT_UNREACHABLE, flow.quote, 0, flow.quote.length, Ipv4.HEADER));
    } catch (IOException e) {
      closeUdp(flow);
      udp.remove(key);
    }
    return true;
  }

  private void evictIdlestUdp() {
    UdpFlow idlest = null;
    for (UdpFlow u : udp.values()) {
      if (idlest == null || u.lastUsed - idlest.lastUsed < 0) {
        idlest = u;
      }
    }
    if (idlest != null) {
      udp.remove(idlest.key);
      closeUdp(idlest);
    }
  }

  private int mapped(int dst) {
    return dst == config.gatewayIp() ? LOOPBACK : dst;
  }

  // ---- TCP --------------------------------------------------------------------------------------

  private boolean onTcp(byte[] f, int ip, int total, int ihl, int src, int dst) {
    FlowKey key = new FlowKey(src, seg.srcPort, dst, seg.dstPort);
    TcpConnection c = tcp.get(key);
    if (c != null && c.state == TcpConnection.State.TIME_WAIT && seg.has(Tcp.SYN)
        && !seg.has(Tcp.ACK_FLAG)) {
      tcp.remove(key); // a new incarnation of the same four-tuple
      c = null;
    }
    if (c != null) {
      c.onSegment(seg);
      if (c.isClosed()) {
        tcp.remove(key);
      }
      return true;
    }
    if (seg.has(Tcp.RST)) {
      return true;
    }
    if (!seg.has(Tcp.SYN) || seg.has(Tcp.ACK_FLAG) || seg.has(Tcp.FIN)) {
      resetUnknown(src, dst);
      return true;
    }
    if (seg.srcPort == 0 || seg.dstPort == 0 || tcp.size() >= MAX_TCP_FLOWS
        || (config.restrict() && dst != config.gatewayIp())) {
      refuse(src, dst);
      return true;
    }
    TcpPeer peer;
    if (dst == config.gatewayIp() && config.dataPort() != 0 && seg.dstPort == config.dataPort()) {
      peer = new DataServer(); // dom0's own: no host socket, all in virtual time
      stats.dataServed++;
    } else {
      try {
        peer = new SocketPeer(
            hostNet.connect(new InetSocketAddress(Addresses.toInet(mapped(dst)), seg.dstPort)));
      } catch (IOException | RuntimeException e) {
        refuse(src, dst);
        return true;
      }
    }
    c = TcpConnection.fromGuestSyn(src, dst, seg, peer, tcpLink, issRandom.nextInt());
    tcp.put(key, c);
    stats.tcpOpened++;
    if (peer.immediate()) {
      c.poll(); // connected already: the SYN-ACK goes out now, not at the next poll
    }
    return true;
  }

  /** RFC 9293 §3.10.7.1: a segment for no connection gets a RST that its sender will accept. */
  private void resetUnknown(int src, int dst) {
    if (seg.has(Tcp.ACK_FLAG)) {
      sendTcpRaw(src, seg.srcPort, dst, seg.dstPort, seg.ack, 0, Tcp.RST, 0);
    } else {
      sendTcpRaw(src, seg.srcPort, dst, seg.dstPort, 0, seg.seq + seg.seqLength(),
          Tcp.RST | Tcp.ACK_FLAG, 0);
    }
  }

  private void refuse(int src, int dst) {
    stats.tcpRefused++;
    sendTcpRaw(src, seg.srcPort, dst, seg.dstPort, 0, seg.seq + 1, Tcp.RST | Tcp.ACK_FLAG, 0);
  }

  private void sendTcpRaw(int guest, int guestPort, int peer, int peerPort, int seq, int ack,
      int flags, int window) {
    emit(Tcp.frame(guestMac(guest), config.gatewayMac(), nextId(), peer, peerPort, guest,
        guestPort, seq, ack, flags, window, -1, null, 0, 0));
  }

  private final class TcpLink implements TcpConnection.Link {
    @Override
    public long now() {
      return nanos.getAsLong();
    }

    @Override
    public boolean send(TcpConnection c, int seqNo, int ack, int flags, int window, int mss,
        byte[] data, int off, int len) {
      long mac = arp.lookup(c.guestIp);
      if (mac < 0) {
        requestArp(c.guestIp);
        return false;
      }
      emit(Tcp.frame(mac, config.gatewayMac(), nextId(), c.peerIp, c.peerPort, c.guestIp,
          c.guestPort, seqNo, ack, flags, window, mss, data, off, len));
      return true;
    }

    @Override
    public void retransmitted() {
      stats.retransmissions++;
    }
  }

  private void requestArp(int ip) {
    emit(Arp.frame(Addresses.BROADCAST_MAC, Arp.OP_REQUEST, config.gatewayMac(),
        config.gatewayIp(), 0, ip));
  }

  /** A guest just made itself known: connections waiting for its MAC send their SYN now. */
  private void retryPendingSyns(int ip) {
    for (TcpConnection c : new ArrayList<>(tcp.values())) {
      if (c.guestIp == ip && c.state == TcpConnection.State.SYN_SENT && c.unacknowledged() != 0) {
        c.resendSyn();
      }
    }
  }

  // =============================================================================================
  // The host side.

  /**
   * Does the host-side work: accepts port-forward connections, moves data from host sockets to
   * the guests and back, finishes host connects, and runs TCP timers and idle UDP expiry in virtual
   * time. Returns how many things happened (0: nothing to do).
   */
  public int poll() {
    int work = 0;
    long now = nanos.getAsLong();
    for (Forward fw : forwards) {
      work += fw.spec.protocol() == PortForward.Protocol.TCP ? acceptTcp(fw) : receiveUdp(fw);
    }
    for (UdpFlow u : new ArrayList<>(udp.values())) {
      work += readUdp(u, now);
    }
    for (Iterator<UdpForwardSession> it = udpSessions.values().iterator(); it.hasNext(); ) {
      UdpForwardSession s = it.next();
      if (now - s.lastUsed > UDP_IDLE_NANOS) {
        it.remove();
        udpSessionsByClient.remove(s.client);
      }
    }
    for (Map.Entry<FlowKey, TcpConnection> e : new ArrayList<>(tcp.entrySet())) {
      TcpConnection c = e.getValue();
      if (c.poll()) {
        work++;
      }
      if (c.isClosed()) {
        tcp.remove(e.getKey(), c);
      }
    }
    return work;
  }

  private int acceptTcp(Forward fw) {
    int n = 0;
    ServerSocketChannel server = (ServerSocketChannel) fw.channel;
    while (true) {
      SocketChannel ch;
      try {
        ch = server.accept();
      } catch (IOException e) {
        return n;
      }
      if (ch == null) {
        return n;
      }
      n++;
      int port = allocatePort(fw.spec.guestIp(), fw.spec.guestPort());
      if (port < 0 || tcp.size() >= MAX_TCP_FLOWS) {
        closeQuietly(ch);
        continue;
      }
      try {
        ch.configureBlocking(false);
      } catch (IOException e) {
        closeQuietly(ch);
        continue;
      }
      FlowKey key = new FlowKey(fw.spec.guestIp(), fw.spec.guestPort(), config.gatewayIp(), port);
      tcp.put(key, TcpConnection.toGuest(fw.spec.guestIp(), fw.spec.guestPort(),
          config.gatewayIp(), port, new SocketPeer(ch), tcpLink, issRandom.nextInt()));
      stats.tcpOpened++;
    }
  }

  private int receiveUdp(Forward fw) {
    int n = 0;
    DatagramChannel ch = (DatagramChannel) fw.channel;
    long now = nanos.getAsLong();
    while (true) {
      udpBuf.clear();
      SocketAddress from;
      try {
        from = ch.receive(udpBuf);
      } catch (IOException e) {
        return n;
      }
      if (from == null) {
        return n;
      }
      n++;
      udpBuf.flip();
      if (udpBuf.remaining() > MAX_UDP_PAYLOAD) {
        continue; // would need IP fragmentation; dropped
      }
      UdpForwardSession s = udpSessionsByClient.get(from);
      if (s == null || s.forward != fw) {
        int port = allocatePort(fw.spec.guestIp(), fw.spec.guestPort());
        if (port < 0) {
          continue;
        }
        s = new UdpForwardSession(fw, from, port);
        udpSessions.put(port, s);
        udpSessionsByClient.put(from, s);
      }
      s.lastUsed = now;
      long mac = arp.lookup(fw.spec.guestIp());
      if (mac < 0) {
        requestArp(fw.spec.guestIp());
        continue; // like a datagram lost while the router resolves the address
      }
      emit(Udp.frame(mac, config.gatewayMac(), nextId(), config.gatewayIp(), s.gatewayPort,
          fw.spec.guestIp(), fw.spec.guestPort(), udpBuf.array(), 0, udpBuf.remaining()));
    }
  }

  private int readUdp(UdpFlow u, long now) {
    int n = 0;
    while (true) {
      udpBuf.clear();
      int got;
      try {
        got = u.channel.read(udpBuf);
      } catch (PortUnreachableException e) {
        emit(Icmp.unreachable(guestMac(u.key.guestIp()), config.gatewayMac(), nextId(),
            config.gatewayIp(), Icmp.CODE_PORT_UNREACHABLE, u.quote, 0, u.quote.length,
            Ipv4.HEADER));
        n++;
        continue;
      } catch (IOException e) {
        udp.remove(u.key);
        closeUdp(u);
        return n + 1;
      }
      if (got <= 0) {
        break;
      }
      n++;
      u.lastUsed = now;
      if (got > MAX_UDP_PAYLOAD) {
        continue;
      }
      emit(Udp.frame(guestMac(u.key.guestIp()), config.gatewayMac(), nextId(), u.key.peerIp(),
          u.key.peerPort(), u.key.guestIp(), u.key.guestPort(), udpBuf.array(), 0, got));
    }
    if (now - u.lastUsed > UDP_IDLE_NANOS) {
      udp.remove(u.key);
      closeUdp(u);
    }
    return n;
  }

  /** A gateway-side port not in use towards this guest endpoint, or -1. */
  private int allocatePort(int guestIp, int guestPort) {
    for (int i = 0; i < 65536 - FIRST_EPHEMERAL; i++) {
      int p = nextEphemeral;
      nextEphemeral = p == 65535 ? FIRST_EPHEMERAL : p + 1;
      if (!tcp.containsKey(new FlowKey(guestIp, guestPort, config.gatewayIp(), p))
          && !udpSessions.containsKey(p)) {
        return p;
      }
    }
    return -1;
  }

  // =============================================================================================

  private long guestMac(int ip) {
    long m = arp.lookup(ip);
    return m < 0 ? Addresses.BROADCAST_MAC : m;
  }

  private int nextId() {
    ipId = (ipId + 1) & 0xffff;
    return ipId;
  }

  private void emit(byte[] frame) {
    FrameSink s = sink;
    if (s != null) {
      stats.framesOut++;
      s.send(this, frame, 0, frame.length);
    }
  }

  /** Closes every host socket and listener. */
  @Override
  public void close() {
    for (TcpConnection c : tcp.values()) {
      c.close(false);
    }
    tcp.clear();
    for (UdpFlow u : udp.values()) {
      closeUdp(u);
    }
    udp.clear();
    for (Forward fw : forwards) {
      closeQuietly(fw.channel);
    }
    forwards.clear();
  }

  private static void closeUdp(UdpFlow u) {
    closeQuietly(u.channel);
  }

  private static void closeQuietly(java.nio.channels.Channel ch) {
    try {
      ch.close();
    } catch (IOException e) {
      // closing: nothing more to do
    }
  }
}
