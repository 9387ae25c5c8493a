package org.hospes.dom0.xenstore;

/** The xenstore wire protocol (public/io/xs_wire.h): message types, header, ring layout. */
public final class XsWire {
  /** XS_CONTROL; xs_wire.h keeps XS_DEBUG as its old name. */
  public static final int CONTROL = 0;
  public static final int DEBUG = CONTROL;
  public static final int DIRECTORY = 1;
  public static final int READ = 2;
  public static final int GET_PERMS = 3;
  public static final int WATCH = 4;
  public static final int UNWATCH = 5;
  public static final int TRANSACTION_START = 6;
  public static final int TRANSACTION_END = 7;
  public static final int INTRODUCE = 8;
  public static final int RELEASE = 9;
  public static final int GET_DOMAIN_PATH = 10;
  public static final int WRITE = 11;
  public static final int MKDIR = 12;
  public static final int RM = 13;
  public static final int SET_PERMS = 14;
  public static final int WATCH_EVENT = 15;
  public static final int ERROR = 16;
  public static final int IS_DOMAIN_INTRODUCED = 17;
  public static final int RESUME = 18;
  public static final int SET_TARGET = 19;
  public static final int RESET_WATCHES = 21;
  public static final int DIRECTORY_PART = 22;

  /** xsd_sockmsg: type u32 @0, req_id u32 @4, tx_id u32 @8, len u32 @12. */
  public static final int HEADER_SIZE = 16;
  public static final int PAYLOAD_MAX = 4096;
  public static final int ABS_PATH_MAX = 3072;
  public static final int REL_PATH_MAX = 2048;

  /** xenstore_domain_interface. */
  public static final int RING_SIZE = 1024;
  public static final int REQ = 0;
  public static final int RSP = 1024;
  public static final int REQ_CONS = 2048;
  public static final int REQ_PROD = 2052;
  public static final int RSP_CONS = 2056;
  public static final int RSP_PROD = 2060;
  public static final int SERVER_FEATURES = 2064;
  public static final int CONNECTION = 2068;
  public static final int ERROR_FIELD = 2072;
  public static final int EVTCHN_PORT = 2076;
  /** Values of the error field. */
  public static final int ERROR_NONE = 0;
  public static final int ERROR_COMM = 1;
  public static final int ERROR_RINGIDX = 2;
  public static final int ERROR_PROTO = 3;

  private static final String[] NAMES = {"CONTROL", "DIRECTORY", "READ", "GET_PERMS", "WATCH",
      "UNWATCH", "TRANSACTION_START", "TRANSACTION_END", "INTRODUCE", "RELEASE",
      "GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM", "SET_PERMS", "WATCH_EVENT", "ERROR",
      "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET", "RESTRICT", "RESET_WATCHES",
      "DIRECTORY_PART"};

  /** The name of message type {@code type} (as xs_wire.h spells it), or its number. */
  public static String name(int type) {
    return type >= 0 && type < NAMES.length ? NAMES[type] : Integer.toString(type);
  }

  private XsWire() {}
}
