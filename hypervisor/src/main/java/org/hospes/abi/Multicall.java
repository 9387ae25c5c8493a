package org.hospes.abi;

/**
 * multicall (hypercall 13: call_list, nr_calls), x86_32 (public/xen.h): an array of
 * multicall_entry, each op u32 IN @0, result u32 OUT @4 (0 or a negative errno), args[6] u32 IN
 * @8 (EBX, ECX, EDX, ESI, EDI, EBP order). xen_ulong_t is 4 bytes on x86_32.
 */
public final class Multicall {
  public static final int ENTRY_OP = 0;
  public static final int ENTRY_RESULT = 4;
  public static final int ENTRY_ARGS = 8;
  public static final int NR_ARGS = 6;
  public static final int ENTRY_SIZE = 32;

  private Multicall() {}
}
