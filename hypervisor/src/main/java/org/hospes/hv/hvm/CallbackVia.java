package org.hospes.hv.hvm;

import org.hospes.abi.HvmOp;

/**
 * How vCPU 0's event-channel notifications reach an HVM guest, decoded from
 * HVM_PARAM_CALLBACK_IRQ (public/hvm/params.h) as Xen's hvm_set_callback_via does: a GSI or a
 * PCI INTx line whose level follows vCPU 0's {@code evtchn_upcall_pending}, or a vector injected
 * straight into the vCPU (XENFEAT_hvm_callback_vector, what Linux prefers). Anything else, and
 * GSI 0, which aliases the value 0, means no callback at all.
 *
 * <p>For the PCI INTx method Xen takes the device from bits 15:11 and the pin from bits 1:0 and
 * ignores the segment and bus (an HVM domain has one PCI bus); so does this.
 *
 * @param type NONE, GSI, PCI_INTX or VECTOR
 * @param gsi the GSI (GSI method)
 * @param device the PCI device number 0-31 (PCI INTx method)
 * @param intx 0-3 for INTA#-INTD# (PCI INTx method)
 * @param vector the vector (vector method)
 */
public record CallbackVia(Type type, int gsi, int device, int intx, int vector) {
  /** The delivery methods, with Xen's HVM_PARAM_CALLBACK_TYPE_* numbers (NONE has none). */
  public enum Type {
    NONE(-1), GSI(HvmOp.CALLBACK_TYPE_GSI), PCI_INTX(HvmOp.CALLBACK_TYPE_PCI_INTX),
    VECTOR(HvmOp.CALLBACK_TYPE_VECTOR);

    private final int code;

    Type(int code) {
      this.code = code;
    }

    public int code() {
      return code;
    }
  }

  public static final CallbackVia NONE = new CallbackVia(Type.NONE, 0, 0, 0, 0);

  /** Decodes a CALLBACK_IRQ value. */
  public static CallbackVia decode(long value) {
    int type = (int) (value >>> 56);
    switch (type) {
      case HvmOp.CALLBACK_TYPE_GSI: {
        // Xen keeps the low byte: larger values wrap, as they do there.
        int gsi = (int) (value & 0xFF);
        return gsi == 0 ? NONE : new CallbackVia(Type.GSI, gsi, 0, 0, 0);
      }
      case HvmOp.CALLBACK_TYPE_PCI_INTX:
        return new CallbackVia(Type.PCI_INTX, 0, (int) (value >>> 11) & 31, (int) value & 3, 0);
      case HvmOp.CALLBACK_TYPE_VECTOR: {
        int vector = (int) (value & 0xFF);
        // Vectors below 16 are exceptions: Xen refuses them, so no callback.
        return vector < 0x10 ? NONE : new CallbackVia(Type.VECTOR, 0, 0, 0, vector);
      }
      default:
        return NONE;
    }
  }

  /** True for the methods that drive an interrupt line as a level (GSI, PCI INTx). */
  public boolean isLine() {
    return type == Type.GSI || type == Type.PCI_INTX;
  }

  /** As xl's debug keys print it: "GSI 11", "PCI INTx 00:03 INTA#", "vector 0xf3", "none". */
  public String describe() {
    return switch (type) {
      case NONE -> "none";
      case GSI -> "GSI " + gsi;
      case PCI_INTX -> String.format("PCI INTx 00:%02x INT%c#", device, (char) ('A' + intx));
      case VECTOR -> String.format("vector 0x%02x", vector);
    };
  }
}
