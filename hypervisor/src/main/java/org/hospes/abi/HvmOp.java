package org.hospes.abi;

/** hvm_op (hypercall 34) sub-operations and HVM parameters (public/hvm/hvm_op.h, params.h). */
public final class HvmOp {
  public static final int SET_PARAM = 0;
  public static final int GET_PARAM = 1;
  public static final int PAGETABLE_DYING = 9;
  public static final int GET_TIME = 10;
  /** xen_hvm_param: domid u16 @0, index u32 @4, value u64 @8 (16 bytes). */
  public static final int PARAM_DOMID = 0;
  public static final int PARAM_INDEX = 4;
  public static final int PARAM_VALUE = 8;
  public static final int PARAM_SIZE = 16;

  public static final int PARAM_CALLBACK_IRQ = 0;
  public static final int PARAM_STORE_PFN = 1;
  public static final int PARAM_STORE_EVTCHN = 2;
  public static final int PARAM_PAE_ENABLED = 4;
  public static final int PARAM_CONSOLE_PFN = 17;
  public static final int PARAM_CONSOLE_EVTCHN = 18;
  public static final int NR_PARAMS = 39;
  /**
   * CALLBACK_IRQ bits 63:56 = 0: vCPU 0's upcall_pending drives the GSI in bits 55:0 as a
   * level (GSI 0 aliases "no callback", so it means none).
   */
  public static final int CALLBACK_TYPE_GSI = 0;
  /**
   * CALLBACK_IRQ bits 63:56 = 1: vCPU 0's upcall_pending drives a PCI INTx line as a level:
   * PCI segment bits 47:32, bus 31:16, devfn 15:8, INTx (0-3 = INTA#-INTD#) bits 1:0.
   */
  public static final int CALLBACK_TYPE_PCI_INTX = 1;
  /** CALLBACK_IRQ bits 63:56 = 2: deliver as the vector in bits 7:0. */
  public static final int CALLBACK_TYPE_VECTOR = 2;

  private HvmOp() {}
}
