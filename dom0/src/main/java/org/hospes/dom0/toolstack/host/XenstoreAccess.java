package org.hospes.dom0.toolstack.host;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;

/**
 * xenstore-ls, -read and -write as dom0 (run thread): requests through xenstored's own
 * protocol, so permissions, quotas and watches apply as for any other client of dom0's.
 */
final class XenstoreAccess {
  /** A tree deeper than this is cut (xenstored's own limit on path length keeps it finite). */
  private static final int MAX_NODES = 100_000;

  private final XenstoreService xs;

  XenstoreAccess(XenstoreService xs) {
    this.xs = xs;
  }

  Object handle(String op, String path, String value) throws HostException {
    switch (op) {
      case "xenstore-read":
        return Map.of("value", read(path));
      case "xenstore-write": {
        XsMessage m = xs.request(XsWire.WRITE, path + "\0" + value);
        check(m, path);
        return Map.of("path", path);
      }
      case "xenstore-ls": {
        String root = path.isEmpty() ? "/" : path;
        List<String> lines = new ArrayList<>();
        read(root); // an unknown path is an error, as in xenstore-ls
        list(root, 0, lines);
        return Map.of("lines", lines);
      }
      default:
        throw new IllegalStateException(op);
    }
  }

  private String read(String path) throws HostException {
    if (path.isEmpty()) {
      throw new HostException("xenstore: give a path, e.g. /local/domain/1/name", true);
    }
    XsMessage m = xs.request(XsWire.READ, path + "\0");
    check(m, path);
    return m.text();
  }

  /** xenstore-ls's layout: one node a line, indented one space per level, KEY = "VALUE". */
  private void list(String path, int depth, List<String> out) throws HostException {
    XsMessage dir = xs.request(XsWire.DIRECTORY, path + "\0");
    check(dir, path);
    for (String child : dir.fields()) {
      if (child.isEmpty()) {
        continue;
      }
      if (out.size() >= MAX_NODES) {
        out.add("... (cut at " + MAX_NODES + " nodes)");
        return;
      }
      String full = path.endsWith("/") ? path + child : path + "/" + child;
      XsMessage v = xs.request(XsWire.READ, full + "\0");
      String value = v.type() == XsWire.ERROR ? "" : v.text();
      out.add(" ".repeat(depth) + child + " = \"" + escape(value) + "\"");
      list(full, depth + 1, out);
    }
  }

  private static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static void check(XsMessage m, String path) throws HostException {
    if (m.type() == XsWire.ERROR) {
      String errno = m.text().replace("\0", "").trim();
      String why = switch (errno) {
        case "ENOENT" -> "no such node";
        case "EACCES" -> "permission denied";
        case "EINVAL" -> "not a valid path";
        default -> errno;
      };
      throw new HostException("xenstore: " + path + ": " + why + " (" + errno + ")", true);
    }
  }
}
