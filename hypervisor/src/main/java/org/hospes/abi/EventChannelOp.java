package org.hospes.abi;

/**
 * event_channel_op (hypercall 32) sub-operations and argument layouts, x86_32
 * (public/event_channel.h). Offsets are bytes into the guest's argument struct; IN fields are
 * written by the guest, OUT fields by the hypervisor.
 */
public final class EventChannelOp {
  public static final int BIND_INTERDOMAIN = 0;
  public static final int BIND_VIRQ = 1;
  public static final int BIND_PIRQ = 2;
  public static final int CLOSE = 3;
  public static final int SEND = 4;
  public static final int STATUS = 5;
  public static final int ALLOC_UNBOUND = 6;
  public static final int BIND_IPI = 7;
  public static final int BIND_VCPU = 8;
  public static final int UNMASK = 9;
  public static final int RESET = 10;
  public static final int INIT_CONTROL = 11;
  public static final int EXPAND_ARRAY = 12;
  public static final int SET_PRIORITY = 13;

  /** alloc_unbound: dom u16 IN, remote_dom u16 IN, port u32 OUT (8 bytes). */
  public static final int ALLOC_UNBOUND_DOM = 0;
  public static final int ALLOC_UNBOUND_REMOTE_DOM = 2;
  public static final int ALLOC_UNBOUND_PORT = 4;
  public static final int ALLOC_UNBOUND_SIZE = 8;
  /** bind_interdomain: remote_dom u16 IN, remote_port u32 IN, local_port u32 OUT (12). */
  public static final int BIND_INTERDOMAIN_REMOTE_DOM = 0;
  public static final int BIND_INTERDOMAIN_REMOTE_PORT = 4;
  public static final int BIND_INTERDOMAIN_LOCAL_PORT = 8;
  public static final int BIND_INTERDOMAIN_SIZE = 12;
  /** bind_virq: virq IN, vcpu IN, port OUT (12). */
  public static final int BIND_VIRQ_VIRQ = 0;
  public static final int BIND_VIRQ_VCPU = 4;
  public static final int BIND_VIRQ_PORT = 8;
  public static final int BIND_VIRQ_SIZE = 12;
  /** bind_ipi: vcpu IN, port OUT (8). */
  public static final int BIND_IPI_VCPU = 0;
  public static final int BIND_IPI_PORT = 4;
  public static final int BIND_IPI_SIZE = 8;
  /** send, close, unmask: port IN (4). */
  public static final int PORT_ONLY_SIZE = 4;
  /** bind_vcpu: port IN, vcpu IN (8). */
  public static final int BIND_VCPU_SIZE = 8;
  /** status: dom u16 IN, port IN, status OUT, vcpu OUT, union OUT (24). */
  public static final int STATUS_DOM = 0;
  public static final int STATUS_PORT = 4;
  public static final int STATUS_STATUS = 8;
  public static final int STATUS_VCPU = 12;
  public static final int STATUS_UNION = 16;
  public static final int STATUS_SIZE = 24;

  /** reset: dom u16 IN (2). */
  public static final int RESET_DOM = 0;
  /** init_control: control_gfn u64 IN, offset IN, vcpu IN, link_bits u8 OUT, pad[7] (24). */
  public static final int INIT_CONTROL_GFN = 0;
  public static final int INIT_CONTROL_OFFSET = 8;
  public static final int INIT_CONTROL_VCPU = 12;
  public static final int INIT_CONTROL_LINK_BITS = 16;
  public static final int INIT_CONTROL_SIZE = 24;
  /** evtchn_fifo_control_block: ready, _rsvd, head[16] (72 bytes). */
  public static final int FIFO_CONTROL_BLOCK_SIZE = 72;
  /** expand_array: array_gfn u64 IN (8). */
  public static final int EXPAND_ARRAY_SIZE = 8;
  /** set_priority: port IN, priority IN (8). */
  public static final int SET_PRIORITY_PORT = 0;
  public static final int SET_PRIORITY_PRIORITY = 4;
  public static final int SET_PRIORITY_SIZE = 8;

  /** Values of status.status. */
  public static final int STATUS_CLOSED = 0;
  public static final int STATUS_UNBOUND = 1;
  public static final int STATUS_INTERDOMAIN = 2;
  public static final int STATUS_PIRQ = 3;
  public static final int STATUS_VIRQ = 4;
  public static final int STATUS_IPI = 5;

  /** VIRQs (public/xen.h). */
  public static final int VIRQ_TIMER = 0;
  public static final int VIRQ_DEBUG = 1;
  public static final int VIRQ_CONSOLE = 2;
  public static final int VIRQ_DOM_EXC = 3;
  public static final int NR_VIRQS = 24;

  /** DOMID_SELF (public/xen.h). */
  public static final int DOMID_SELF = 0x7FF0;

  private EventChannelOp() {}
}
