package org.hospes.dom0.xenstore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** One xenstore message: the xsd_sockmsg header fields and the payload bytes. */
public record XsMessage(int type, int reqId, int txId, byte[] payload) {

  public static XsMessage of(int type, int reqId, int txId, String payload) {
    return new XsMessage(type, reqId, txId, payload.getBytes(StandardCharsets.ISO_8859_1));
  }

  public String text() {
    return new String(payload, StandardCharsets.ISO_8859_1);
  }

  /** The payload split at NULs; a final empty piece after a trailing NUL is dropped. */
  public List<String> fields() {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < payload.length; i++) {
      if (payload[i] == 0) {
        out.add(new String(payload, start, i - start, StandardCharsets.ISO_8859_1));
        start = i + 1;
      }
    }
    if (start < payload.length) {
      out.add(new String(payload, start, payload.length - start, StandardCharsets.ISO_8859_1));
    }
    return out;
  }

  public byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(XsWire.HEADER_SIZE + payload.length)
        .order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(type).putInt(reqId).putInt(txId).putInt(payload.length).put(payload);
    return b.array();
  }
}
