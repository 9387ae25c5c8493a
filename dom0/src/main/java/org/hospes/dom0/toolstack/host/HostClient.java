package org.hospes.dom0.toolstack.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;

/** The verbs' side of the socket: one request, one reply; or a console stream. */
public final class HostClient {
  private final HostPaths paths;

  public HostClient(HostPaths paths) {
    this.paths = paths;
  }

  public HostPaths paths() {
    return paths;
  }

  /** Sends {@code request} and returns the reply's result; HostException for an error reply. */
  public JsonNode call(ObjectNode request) throws HostException {
    try (SocketChannel ch = connect()) {
      Wire.write(SocketStreams.out(ch), request);
      return result(Wire.read(SocketStreams.in(ch)));
    } catch (IOException e) {
      throw new HostException("the host closed the connection: " + e.getMessage(), false);
    }
  }

  /** True if a host answers on the socket. */
  public boolean isRunning() {
    try {
      call(Wire.request("ping"));
      return true;
    } catch (HostException e) {
      return false;
    }
  }

  /**
   * True if a host answers and is not stopping: asked when a console's stream ended, whose
   * end alone does not say whether the domain ended or the host stopped (it destroys the
   * domains, which ends their consoles, only after it has begun to stop).
   */
  public boolean isRunningOn() {
    try {
      return !call(Wire.request("ping")).path("stopping").asBoolean(false);
    } catch (HostException e) {
      return false;
    }
  }

  /** An attached console: the guest's bytes come from {@link #in}, keys go to {@link #out}. */
  public record Console(SocketChannel channel, String name, InputStream in, OutputStream out)
      implements AutoCloseable {
    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  /** Attaches to {@code domain}'s console. */
  public Console console(String domain) throws HostException {
    SocketChannel ch = connect();
    try {
      ObjectNode req = Wire.request("console");
      req.put("domain", domain);
      OutputStream out = SocketStreams.out(ch);
      InputStream in = SocketStreams.in(ch);
      Wire.write(out, req);
      JsonNode r = result(Wire.read(in));
      return new Console(ch, r.path("name").asText(domain), in, out);
    } catch (IOException | HostException e) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // The first error is the one to report.
      }
      if (e instanceof HostException h) {
        throw h;
      }
      throw new HostException("the host closed the connection: " + e.getMessage(), false);
    }
  }

  private SocketChannel connect() throws HostException {
    if (!Files.exists(paths.socket())) {
      throw new HostException.NoHost();
    }
    SocketChannel ch = null;
    try {
      ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      ch.connect(UnixDomainSocketAddress.of(paths.socket()));
      return ch;
    } catch (IOException e) {
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // Not connected: nothing to close.
        }
      }
      throw new HostException.NoHost(); // a socket file left by a host that died
    }
  }

  private static JsonNode result(JsonNode reply) throws HostException {
    if (reply == null) {
      throw new HostException("the host closed the connection without answering", false);
    }
    if (reply.path("v").asInt(-1) != Wire.VERSION) {
      throw new HostException("the host speaks protocol version " + reply.path("v").asText()
          + ", this client " + Wire.VERSION + " (different builds: restart the host)", false);
    }
    if (!reply.path("ok").asBoolean(false)) {
      throw new HostException(reply.path("error").asText("the host refused the request"),
          !"internal".equals(reply.path("kind").asText()));
    }
    return reply.path("result");
  }
}
