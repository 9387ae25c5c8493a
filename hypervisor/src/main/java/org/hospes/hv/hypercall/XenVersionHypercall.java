package org.hospes.hv.hypercall;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.XenErrno;
import org.hospes.abi.XenVersion;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;

/**
 * xen_version (hypercall 17: cmd, arg), every XENVER_ sub-op as Xen 4.17's do_xen_version
 * answers a 32-bit HVM, PVH or PV domU (platform_parameters and get_features differ by type).
 * XSM's dummy policy decides what is denied: version, platform_parameters and get_features
 * always answer; extraversion, compile_info, capabilities, changeset, pagesize and guest_handle
 * answer any guest; commandline and build_id are for the privileged domain only, so a domU
 * reads "&lt;denied&gt;" and gets -EPERM. Every string is written zero-padded to its full buffer
 * (XSA-122). Guest domains are never privileged in Hospes (dom0 is Java code, not a vCPU), so
 * the denied answers are the only ones.
 */
final class XenVersionHypercall {
  /**
   * Xen's arch_get_xen_caps: one host-wide string, the same for every guest whatever its type,
   * naming every guest ABI the host runs, each followed by a space. This host is a PAE x86_32
   * Xen with HVM, so it is what a 32-bit PAE Xen 3.x reported: the PV ABI (xen-3.0-x86_32p),
   * then HVM without and with PAE; no 64-bit ABI.
   */
  static final String CAPABILITIES = "xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p ";
  static final String CHANGESET = "hospes";
  static final String COMPILER = "javac " + Runtime.version().feature();
  static final String COMPILE_BY = "hospes";

  private XenVersionHypercall() {}

  /**
   * Feature submap 0 for {@code d} as Xen 4.17's do_xen_version builds it (common/kernel.c),
   * for a domU without PIRQs: vnode always; pae_pgdir_above_4gb while the domain has
   * VMASST_TYPE_pae_extended_cr3 on (only a PV domain can); writable page tables and
   * auto-translated physmap if paging_mode_translate; then by type: a PV domain gets
   * mmu_pt_update_preserve_ad, highmem_assist (MMUEXT_CLEAR_PAGE/COPY_PAGE) and
   * gnttab_map_avail_bits, any other safe pvclock and the callback vector; last, direct-mapped
   * for a domain that is not translated (its frame numbers are machine frames), else not
   * direct-mapped.
   */
  static int submap0(Domain d) {
    org.hospes.hv.pv.PvVcpu pv = d.pv();
    int map = XenVersion.FEAT_MEMORY_OP_VNODE_SUPPORTED;
    if (pv != null
        && (pv.vmAssist() & 1 << org.hospes.hv.pv.PvVcpu.VMASST_TYPE_PAE_EXTENDED_CR3) != 0) {
      map |= XenVersion.FEAT_PAE_PGDIR_ABOVE_4GB;
    }
    if (pv == null) {
      map |= XenVersion.FEAT_WRITABLE_PAGE_TABLES | XenVersion.FEAT_AUTO_TRANSLATED_PHYSMAP
          | XenVersion.FEAT_HVM_SAFE_PVCLOCK | XenVersion.FEAT_HVM_CALLBACK_VECTOR
          | XenVersion.FEAT_NOT_DIRECT_MAPPED;
    } else {
      map |= XenVersion.FEAT_MMU_PT_UPDATE_PRESERVE_AD | XenVersion.FEAT_HIGHMEM_ASSIST
          | XenVersion.FEAT_GNTTAB_MAP_AVAIL_BITS | XenVersion.FEAT_DIRECT_MAPPED;
    }
    return map;
  }

  /**
   * The domain's handle (xen_domain_handle_t). The toolstack gives no UUID yet; a name-based
   * (version 3) UUID stands in, so it is the same in every run.
   */
  static byte[] handle(Domain d) {
    UUID u = UUID.nameUUIDFromBytes(("hospes-domain:" + d.name())
        .getBytes(StandardCharsets.UTF_8));
    byte[] b = new byte[XenVersion.GUEST_HANDLE_LEN];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (u.getMostSignificantBits() >>> (56 - 8 * i));
      b[8 + i] = (byte) (u.getLeastSignificantBits() >>> (56 - 8 * i));
    }
    return b;
  }

  static int xenVersion(Vcpu v, int cmd, int arg) {
    GuestAccess g = new GuestAccess(v);
    switch (cmd) {
      case XenVersion.VERSION:
        return XenVersion.MAJOR << 16 | XenVersion.MINOR;
      case XenVersion.EXTRAVERSION:
        return string(g, arg, XenVersion.EXTRA, XenVersion.EXTRAVERSION_LEN);
      case XenVersion.COMPILE_INFO: {
        byte[] info = new byte[XenVersion.COMPILE_INFO_SIZE];
        put(info, XenVersion.COMPILE_COMPILER, COMPILER, XenVersion.COMPILE_BY);
        put(info, XenVersion.COMPILE_BY, COMPILE_BY, XenVersion.COMPILE_DOMAIN);
        // No DNS domain and no build stamp: Xen leaves what its build lacks empty too.
        return g.write(arg, info) ? 0 : XenErrno.EFAULT.negated();
      }
      case XenVersion.CAPABILITIES:
        return string(g, arg, CAPABILITIES, XenVersion.CAPABILITIES_LEN);
      case XenVersion.CHANGESET:
        return string(g, arg, CHANGESET, XenVersion.CHANGESET_LEN);
      case XenVersion.PLATFORM_PARAMETERS: {
        // A 32-bit caller gets the compat struct. Xen answers a PV vCPU with the start of its
        // domain's hypervisor hole (HYPERVISOR_COMPAT_VIRT_START(d), what the guest must keep
        // its mappings below) and a translated one with 0: it has no hole.
        byte[] params = new byte[XenVersion.PLATFORM_PARAMETERS_COMPAT_SIZE];
        if (v.domain().pv() != null) {
          putLe32(params, XenVersion.PLATFORM_VIRT_START, pvVirtStart());
        }
        return g.write(arg, params) ? 0 : XenErrno.EFAULT.negated();
      }
      case XenVersion.GET_FEATURES: {
        Integer index = g.readInt(arg + XenVersion.FEATURES_SUBMAP_IDX);
        if (index == null) {
          return XenErrno.EFAULT.negated();
        }
        if (index != 0) {
          return XenErrno.EINVAL.negated();
        }
        return g.writeInt(arg + XenVersion.FEATURES_SUBMAP, submap0(v.domain())) ? 0
            : XenErrno.EFAULT.negated();
      }
      case XenVersion.PAGESIZE:
        // Only a NULL handle is accepted.
        return arg != 0 ? XenErrno.EINVAL.negated() : 4096;
      case XenVersion.GUEST_HANDLE:
        return g.write(arg, handle(v.domain())) ? 0 : XenErrno.EFAULT.negated();
      case XenVersion.COMMANDLINE: {
        // Denied: exactly "<denied>" and its NUL are copied, not the whole buffer.
        byte[] s = (XenVersion.DENIED + "\0").getBytes(StandardCharsets.US_ASCII);
        return g.write(arg, s) ? 0 : XenErrno.EFAULT.negated();
      }
      case XenVersion.BUILD_ID:
        return XenErrno.EPERM.negated();
      default:
        return XenErrno.ENOSYS.negated();
    }
  }

  /**
   * The start of a PV domain's hypervisor hole. Xen lowers a 32-bit PV domain's hole below
   * 0xF5800000 only for a kernel whose XEN_ELFNOTE_HV_START_LOW asks; Hospes's PV loader honours
   * no such note (it refuses segments above the default hole), so every PV domain has the
   * default one, the one its page tables and mmu_update checks use.
   */
  static int pvVirtStart() {
    return PvMmuAbi.HYPERVISOR_VIRT_START;
  }

  private static void putLe32(byte[] b, int at, int value) {
    for (int k = 0; k < 4; k++) {
      b[at + k] = (byte) (value >>> (8 * k));
    }
  }

  private static int string(GuestAccess g, int arg, String s, int size) {
    return g.writeString(arg, s, size) ? 0 : XenErrno.EFAULT.negated();
  }

  private static void put(byte[] b, int at, String s, int end) {
    byte[] src = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(src, 0, b, at, Math.min(src.length, end - at - 1));
  }
}
