package org.hospes.hv.hypercall;

import java.nio.charset.StandardCharsets;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.memory.ShadowPager;

/**
 * Copies hypercall arguments to and from a guest's virtual memory (copy_from_guest and
 * copy_to_guest): through the guest's page tables, then its P2M. It reaches only the domain's own
 * frames; an unmapped or unpopulated address is a fault the caller turns into -EFAULT.
 */
public final class GuestAccess {
  private final Vcpu vcpu;

  public GuestAccess(Vcpu vcpu) {
    this.vcpu = vcpu;
  }

  /** Copies {@code len} bytes from guest virtual {@code va}; null on a fault. */
  public byte[] read(int va, int len) {
    if (len < 0) {
      return null;
    }
    org.hospes.hv.pv.PvVcpu pv = vcpu.domain().pv();
    if (pv != null) {
      // A PV guest's tables name machine frames, all of them its own (the PV MMU sees to it).
      byte[] out = new byte[len];
      return pv.mmu().copyFromGuest(va, out) ? out : null;
    }
    byte[] out = new byte[len];
    int done = 0;
    while (done < len) {
      int a = va + done;
      int chunk = Math.min(len - done, 0x1000 - (a & 0xFFF));
      long gpa = gpa(a, false);
      if (gpa < 0 || vcpu.domain().memory().machineAddress(gpa) < 0) {
        return null;
      }
      vcpu.domain().memory().read(gpa, out, done, chunk);
      done += chunk;
    }
    return out;
  }

  /** Copies {@code data} to guest virtual {@code va}; false on a fault (nothing partial). */
  public boolean write(int va, byte[] data) {
    org.hospes.hv.pv.PvVcpu pv = vcpu.domain().pv();
    if (pv != null) {
      return pv.mmu().copyToGuest(va, data);
    }
    int done = 0;
    // Check every page first so a fault leaves guest memory untouched.
    while (done < data.length) {
      int a = va + done;
      long gpa = gpa(a, true);
      if (gpa < 0 || !vcpu.domain().memory().writable(gpa)) {
        return false;
      }
      done += 0x1000 - (a & 0xFFF);
    }
    done = 0;
    while (done < data.length) {
      int a = va + done;
      int chunk = Math.min(data.length - done, 0x1000 - (a & 0xFFF));
      long gpa = gpa(a, true);
      vcpu.domain().memory().write(gpa, data, done, chunk);
      done += chunk;
    }
    return true;
  }

  public Integer readInt(int va) {
    byte[] b = read(va, 4);
    return b == null ? null
        : (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
  }

  public boolean writeInt(int va, int v) {
    return write(va, new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16),
        (byte) (v >>> 24)});
  }

  /** Writes {@code s} zero-padded to exactly {@code size} bytes (XSA-122: no stale bytes). */
  public boolean writeString(int va, String s, int size) {
    byte[] b = new byte[size];
    byte[] src = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(src, 0, b, 0, Math.min(src.length, size - 1));
    return write(va, b);
  }

  /**
   * Guest-virtual to guest-physical. Under shadow paging the processor's own walk would go
   * through the shadow tables (to machine addresses), so the guest's tables are walked instead.
   */
  private long gpa(int va, boolean write) {
    ShadowPager shadow = vcpu.domain().shadow();
    if (shadow != null) {
      shadow.select(vcpu.id());
      return shadow.guestPhysical(va, write, vcpu.cpu().cpl() == 3);
    }
    return vcpu.cpu().linearToPhysical(va, write);
  }
}
