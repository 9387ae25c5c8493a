package org.hospes.abi;

/** Xen's CPUID leaves for HVM guests (public/arch-x86/cpuid.h). */
public final class XenCpuid {
  public static final int BASE = 0x4000_0000;
  /** "XenVMMXenVMM" in EBX, ECX, EDX. */
  public static final int SIGNATURE_EBX = 0x566e_6558;
  public static final int SIGNATURE_ECX = 0x6558_4d4d;
  public static final int SIGNATURE_EDX = 0x4d4d_566e;
  /** The MSR whose write installs the hypercall page (leaf 2, EBX). */
  public static final int HYPERCALL_MSR = 0x4000_0000;
  /** Leaf 4 EAX flags. */
  public static final int HVM_VCPU_ID_PRESENT = 1 << 3;
  public static final int HVM_DOMID_PRESENT = 1 << 4;

  private XenCpuid() {}
}
