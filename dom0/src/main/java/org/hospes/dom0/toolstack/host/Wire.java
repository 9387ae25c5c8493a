package org.hospes.dom0.toolstack.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The host's control protocol: one JSON object per line each way over the Unix socket.
 *
 * <p>A request is {@code {"v":1,"op":"list", ...arguments}}. Its reply is
 * {@code {"v":1,"ok":true,"result":...}} or {@code {"v":1,"ok":false,"error":"one line",
 * "kind":"usage"|"internal"}}. One request per connection, except {@code console}: after its ok
 * reply the connection carries raw bytes, the guest's output one way and the user's keys the
 * other, until either side closes it. A daemon refuses a request whose {@code v} it does not
 * speak, so a client and a host from different builds fail with a message, not garbage.
 */
public final class Wire {
  public static final int VERSION = 1;
  /** A request line longer than this is refused: a config is small, a stray binary is not. */
  static final int MAX_LINE = 1 << 20;

  public static final ObjectMapper JSON = new ObjectMapper();

  private Wire() {}

  /** A request for {@code op}; callers add its arguments. */
  public static ObjectNode request(String op) {
    ObjectNode n = JSON.createObjectNode();
    n.put("v", VERSION);
    n.put("op", op);
    return n;
  }

  static ObjectNode ok(Object result) {
    ObjectNode n = JSON.createObjectNode();
    n.put("v", VERSION);
    n.put("ok", true);
    n.set("result", JSON.valueToTree(result));
    return n;
  }

  static ObjectNode error(String kind, String message) {
    ObjectNode n = JSON.createObjectNode();
    n.put("v", VERSION);
    n.put("ok", false);
    n.put("kind", kind);
    n.put("error", message);
    return n;
  }

  /** Writes one line and flushes. */
  public static void write(OutputStream out, JsonNode message) throws IOException {
    byte[] b = JSON.writeValueAsBytes(message);
    byte[] line = new byte[b.length + 1];
    System.arraycopy(b, 0, line, 0, b.length);
    line[b.length] = '\n';
    out.write(line);
    out.flush();
  }

  /**
   * Reads one line byte by byte (so nothing after it, console bytes, is consumed) and parses
   * it; null at the end of the stream.
   */
  public static JsonNode read(InputStream in) throws IOException {
    java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
    for (int b; (b = in.read()) != '\n'; ) {
      if (b < 0) {
        if (line.size() == 0) {
          return null;
        }
        break;
      }
      if (line.size() >= MAX_LINE) {
        throw new IOException("message longer than " + MAX_LINE + " bytes");
      }
      line.write(b);
    }
    return JSON.readTree(line.toString(StandardCharsets.UTF_8));
  }
}
