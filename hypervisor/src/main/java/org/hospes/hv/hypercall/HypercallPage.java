package org.hospes.hv.hypercall;

import org.hospes.hv.domain.Domain;

/**
 * Writes the hypercall page a guest asks for through the hypercall MSR: 128 slots of 32 bytes,
 * slot n holding {@code mov eax, n; vmcall; ret}; slot 23 (iret, PV only) holds {@code ud2}.
 */
public final class HypercallPage {
  public static final int SLOTS = 128;
  public static final int SLOT_SIZE = 32;
  private static final int IRET_SLOT = 23;

  private HypercallPage() {}

  public static byte[] contents() {
    byte[] page = new byte[4096];
    for (int n = 0; n < SLOTS; n++) {
      int o = n * SLOT_SIZE;
      if (n == IRET_SLOT) {
        page[o] = 0x0F;
        page[o + 1] = 0x0B;
        continue;
      }
      page[o] = (byte) 0xB8;
      page[o + 1] = (byte) n;
      page[o + 5] = 0x0F;
      page[o + 6] = 0x01;
      page[o + 7] = (byte) 0xC1;
      page[o + 8] = (byte) 0xC3;
    }
    return page;
  }

  /** The vector of a PV32 guest's hypercall trap (Xen's HYPERCALL_VECTOR). */
  public static final int PV_HYPERCALL_VECTOR = 0x82;

  /**
   * A classic PV32 guest's page (hypercall_page_initialise_ring1_kernel): slot n holds
   * {@code mov eax, n; int 0x82; ret}; the iret slot, which guests jump to rather than call,
   * holds {@code push eax; mov eax, 23; int 0x82}. The ring-1 kernel traps to the hypervisor
   * with the software interrupt, as on Xen; there is no VMX here to make VMCALL exit.
   */
  public static byte[] pvContents() {
    byte[] page = new byte[4096];
    for (int n = 0; n < SLOTS; n++) {
      int o = n * SLOT_SIZE;
      if (n == IRET_SLOT) {
        page[o] = 0x50;
        o++;
      }
      page[o] = (byte) 0xB8;
      page[o + 1] = (byte) n;
      page[o + 5] = (byte) 0xCD;
      page[o + 6] = (byte) PV_HYPERCALL_VECTOR;
      if (n != IRET_SLOT) {
        page[o + 7] = (byte) 0xC3;
      }
    }
    return page;
  }

  public static void install(Domain d, long gpa) {
    byte[] page = contents();
    d.memory().write(gpa, page, 0, page.length);
    d.setHypercallPage(gpa);
  }
}
