package org.hospes.x86;

import static org.hospes.x86.Cpu.EAX;
import static org.hospes.x86.Cpu.EBX;
import static org.hospes.x86.Cpu.ECX;
import static org.hospes.x86.Cpu.EDX;

/**
 * CPUID. The processor reports a P6-family model and advertises a feature only once it works:
 * FPU, PSE, TSC, MSR, PAE, CX8, SEP, PGE and CMOV (with CMOV and FPU, FCMOV and FCOMI), CLFSH,
 * MMX, FXSR, SSE and SSE2 ({@link Simd}), and NX in leaf 0x80000001. APIC only with a local APIC connected ({@link Cpu#setApicBaseMsr})
 * and globally enabled. SSE3 and later are absent.
 *
 * <p>Not DE or MCE, though the Pentium M this reports itself as has both, and QEMU's qemu32
 * model reports both: DE's I/O breakpoints are not modelled ({@link Breakpoints}), and there
 * is no machine-check architecture (no MCA, whose absence makes Linux leave CR4.MCE alone
 * anyway). Their CR4 bits are therefore reserved ({@link Cpu#CR4_VALID}).
 */
final class CpuId {
  static final int FEATURE_FPU = 1 << 0;
  static final int FEATURE_PSE = 1 << 3;
  static final int FEATURE_TSC = 1 << 4;
  static final int FEATURE_MSR = 1 << 5;
  static final int FEATURE_PAE = 1 << 6;
  static final int FEATURE_CX8 = 1 << 8;
  static final int FEATURE_APIC = 1 << 9;
  static final int FEATURE_SEP = 1 << 11;
  static final int FEATURE_PGE = 1 << 13;
  static final int FEATURE_CMOV = 1 << 15;
  static final int FEATURE_CLFSH = 1 << 19;
  static final int FEATURE_MMX = 1 << 23;
  static final int FEATURE_FXSR = 1 << 24;
  static final int FEATURE_SSE = 1 << 25;
  static final int FEATURE_SSE2 = 1 << 26;

  /** CPUID 0x80000001 EDX: execute disable (EFER.NXE, XD in PAE entries). */
  static final int EXT_FEATURE_NX = 1 << 20;

  static final int FEATURES = FEATURE_FPU | FEATURE_PSE | FEATURE_TSC | FEATURE_MSR | FEATURE_PAE
      | FEATURE_CX8 | FEATURE_SEP | FEATURE_PGE | FEATURE_CMOV | FEATURE_CLFSH | FEATURE_MMX
      | FEATURE_FXSR | FEATURE_SSE | FEATURE_SSE2;

  /** CPUID.1:EBX bits 15-8: CLFLUSH line size in 8-byte units (64 bytes). */
  static final int CLFLUSH_LINE = 8 << 8;

  /**
   * Family 6, model 13, stepping 8: a Pentium M "Dothan" C0, the P6-family part with SSE2, PAE
   * and NX, as this processor has (and no SSE3). Kernels key errata on the model; P6 models below
   * 3 with low steppings are taken to have a broken SYSENTER.
   */
  static final int SIGNATURE = 0x06D8;

  private static final String VENDOR = "GenuineIntel";
  private static final String BRAND = "Hospes virtual i686 processor";

  private CpuId() {}

  static void exec(Cpu c) {
    int[] r = c.r;
    int leaf = r[EAX];
    switch (leaf) {
      case 0:
        r[EAX] = 1;
        r[EBX] = ascii(VENDOR, 0);
        r[EDX] = ascii(VENDOR, 4);
        r[ECX] = ascii(VENDOR, 8);
        break;
      case 1:
        r[EAX] = SIGNATURE;
        r[EBX] = CLFLUSH_LINE;
        r[ECX] = 0;
        // APIC follows IA32_APIC_BASE's global enable (SDM vol. 3, 11.4.3); initial APIC ID 0.
        ApicBaseMsr apic = c.apicBaseMsr();
        r[EDX] = apic != null && (apic.readApicBase() & ApicBaseMsr.ENABLE) != 0
            ? FEATURES | FEATURE_APIC : FEATURES;
        break;
      case 0x8000_0000:
        r[EAX] = 0x8000_0004;
        r[EBX] = 0;
        r[ECX] = 0;
        r[EDX] = 0;
        break;
      case 0x8000_0001:
        // No SYSCALL, LM or LAHF: those are 64-bit-only on Intel parts; no RDTSCP.
        r[EAX] = 0;
        r[EBX] = 0;
        r[ECX] = 0;
        r[EDX] = EXT_FEATURE_NX;
        break;
      case 0x8000_0002:
      case 0x8000_0003:
      case 0x8000_0004: {
        int base = (leaf - 0x8000_0002) * 16;
        r[EAX] = ascii(BRAND, base);
        r[EBX] = ascii(BRAND, base + 4);
        r[ECX] = ascii(BRAND, base + 8);
        r[EDX] = ascii(BRAND, base + 12);
        break;
      }
      default:
        // Leaves above the maximum return the highest basic leaf's data on Intel parts;
        // zeros are what most software expects from an absent leaf.
        r[EAX] = 0;
        r[EBX] = 0;
        r[ECX] = 0;
        r[EDX] = 0;
        break;
    }
  }

  /** Four characters of {@code s} from {@code at}, little-endian, NUL-padded. */
  private static int ascii(String s, int at) {
    int v = 0;
    for (int k = 0; k < 4; k++) {
      int ch = at + k < s.length() ? s.charAt(at + k) : 0;
      v |= (ch & 0xFF) << (8 * k);
    }
    return v;
  }
}
