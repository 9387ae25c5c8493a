package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.hospes.abi.Hypercall;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.XenErrno;
import org.hospes.abi.XenVersion;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every XENVER_ sub-op as Xen 4.17's do_xen_version answers a domU, table-driven: the return
 * value, and the exact bytes written into a buffer pre-filled with 0xEE (so both the string and
 * its zero padding, and how far the write reaches, are checked).
 */
class XenVersionHypercallTest {
  private static final int BUF = 0x9000;
  private static final byte FILL = (byte) 0xEE;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain d;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    d = hv.createHvmDomain("guest", DomainMode.PVH, 2);
  }

  /** One row: sub-op, argument, expected result, expected bytes at the argument (or null). */
  record Row(String name, int cmd, int arg, int result, byte[] written) {}

  private static byte[] padded(String s, int size) {
    byte[] b = new byte[size];
    byte[] src = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(src, 0, b, 0, src.length);
    return b;
  }

  private static byte[] le32(int... words) {
    byte[] b = new byte[4 * words.length];
    for (int i = 0; i < words.length; i++) {
      for (int k = 0; k < 4; k++) {
        b[4 * i + k] = (byte) (words[i] >>> (8 * k));
      }
    }
    return b;
  }

  private List<Row> rows() {
    byte[] compile = new byte[XenVersion.COMPILE_INFO_SIZE];
    byte[] javac = ("javac " + Runtime.version().feature()).getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(javac, 0, compile, XenVersion.COMPILE_COMPILER, javac.length);
    byte[] by = "hospes".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(by, 0, compile, XenVersion.COMPILE_BY, by.length);
    return List.of(
        new Row("version", XenVersion.VERSION, BUF, 4 << 16 | 17, null),
        new Row("extraversion", XenVersion.EXTRAVERSION, BUF, 0, padded("-hospes", 16)),
        new Row("compile_info", XenVersion.COMPILE_INFO, BUF, 0, compile),
        new Row("capabilities", XenVersion.CAPABILITIES, BUF, 0,
            padded("xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p ", 1024)),
        new Row("changeset", XenVersion.CHANGESET, BUF, 0, padded("hospes", 64)),
        new Row("platform_parameters", XenVersion.PLATFORM_PARAMETERS, BUF, 0, new byte[4]),
        // submap 0 of a PVH domU on 4.17: writable_page_tables, auto_translated_physmap,
        // hvm_callback_vector, hvm_safe_pvclock, vnode, not_direct_mapped.
        new Row("get_features[0]", XenVersion.GET_FEATURES, BUF, 0, le32(0, 0x0001_2305)),
        new Row("get_features[1]", XenVersion.GET_FEATURES, BUF + 32, XenErrno.EINVAL.negated(),
            le32(1, 0xEEEE_EEEE)),
        new Row("pagesize", XenVersion.PAGESIZE, 0, 4096, null),
        new Row("pagesize(non-null)", XenVersion.PAGESIZE, BUF + 16, XenErrno.EINVAL.negated(),
            new byte[] {FILL, FILL}),
        new Row("guest_handle", XenVersion.GUEST_HANDLE, BUF, 0, XenVersionHypercall.handle(d)),
        new Row("commandline", XenVersion.COMMANDLINE, BUF, 0,
            ("<denied>\0" + "\u00EE").getBytes(StandardCharsets.ISO_8859_1)),
        new Row("build_id", XenVersion.BUILD_ID, BUF + 64, XenErrno.EPERM.negated(),
            new byte[] {FILL, FILL, FILL, FILL}),
        new Row("unknown 11", 11, BUF, XenErrno.ENOSYS.negated(), null),
        new Row("unknown -1", -1, BUF, XenErrno.ENOSYS.negated(), null));
  }

  @Test
  void everySubOpAnswersAsXen417DoesForADomU() {
    for (Row r : rows()) {
      byte[] fill = new byte[2048];
      Arrays.fill(fill, FILL);
      d.memory().write(BUF, fill, 0, fill.length);
      d.memory().write32(BUF, 0);           // get_features[0]: submap_idx 0
      d.memory().write32(BUF + 32, 1);      // get_features[1]: submap_idx 1
      int result = hc.dispatch(d.vcpus().get(0), Hypercall.XEN_VERSION.number(), r.cmd, r.arg,
          0, 0, 0);
      assertThat(result).as(r.name).isEqualTo(r.result);
      if (r.written != null) {
        byte[] got = new byte[r.written.length];
        d.memory().read(r.arg, got, 0, got.length);
        assertThat(got).as(r.name + " bytes").isEqualTo(r.written);
      }
    }
  }

  @Test
  void aBufferTheGuestCannotWriteIsEfault() {
    int bad = 0x7FF000;
    for (int cmd : new int[] {XenVersion.EXTRAVERSION, XenVersion.COMPILE_INFO,
        XenVersion.CAPABILITIES, XenVersion.CHANGESET, XenVersion.PLATFORM_PARAMETERS,
        XenVersion.GET_FEATURES, XenVersion.GUEST_HANDLE, XenVersion.COMMANDLINE}) {
      assertThat(hc.dispatch(d.vcpus().get(0), Hypercall.XEN_VERSION.number(), cmd, bad, 0, 0,
          0)).as("cmd %d", cmd).isEqualTo(XenErrno.EFAULT.negated());
    }
    // build_id is refused before the buffer is looked at.
    assertThat(hc.dispatch(d.vcpus().get(0), Hypercall.XEN_VERSION.number(), XenVersion.BUILD_ID,
        bad, 0, 0, 0)).isEqualTo(XenErrno.EPERM.negated());
  }

  /**
   * compat do_xen_version: virt_start is HYPERVISOR_COMPAT_VIRT_START(d) for a PV vCPU and 0 for
   * a translated one. A PV guest was told 0, the HVM answer, as if it had no hole.
   */
  @Test
  void platformParametersGiveAPvGuestTheStartOfItsHypervisorHole() {
    Domain pv = PvTestDomains.create(hv, "pv");
    byte[] fill = {FILL, FILL, FILL, FILL, FILL, FILL, FILL, FILL};
    assertThat(pv.pv().mmu().copyToGuest(BUF, fill)).isTrue();
    assertThat(hc.dispatch(pv.vcpus().get(0), Hypercall.XEN_VERSION.number(),
        XenVersion.PLATFORM_PARAMETERS, BUF, 0, 0, 0)).isZero();
    byte[] got = new byte[8];
    assertThat(pv.pv().mmu().copyFromGuest(BUF, got)).isTrue();
    // 0xF5800000 little-endian, and nothing written past the 4-byte compat struct.
    assertThat(got).containsExactly(0x00, 0x00, 0x80, 0xF5, FILL, FILL, FILL, FILL);
    assertThat(VcpuHypercalls.le32(got, 0)).isEqualTo(PvMmuAbi.HYPERVISOR_VIRT_START);

    // HVM and PVH domains have no hole: 0, whatever was in the buffer.
    for (DomainMode mode : new DomainMode[] {DomainMode.HVM_EPT, DomainMode.HVM_SHADOW,
        DomainMode.PVH}) {
      Domain t = hv.createHvmDomain("t-" + mode.cliName(), mode, 2);
      t.memory().write(BUF, fill, 0, fill.length);
      assertThat(hc.dispatch(t.vcpus().get(0), Hypercall.XEN_VERSION.number(),
          XenVersion.PLATFORM_PARAMETERS, BUF, 0, 0, 0)).as(mode.cliName()).isZero();
      byte[] b = new byte[8];
      t.memory().read(BUF, b, 0, b.length);
      assertThat(b).as(mode.cliName()).containsExactly(0, 0, 0, 0, FILL, FILL, FILL, FILL);
    }
  }

  /**
   * arch_get_xen_caps is host-wide: every guest, PV or translated, reads the same string, and
   * on a PAE x86_32 host with HVM it names the PV ABI first. Hospes used to leave the PV ABI
   * out, though it runs PV guests.
   */
  @Test
  void capabilitiesAreOneHostWideStringNamingThePvAbiToo() {
    String want = "xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p ";
    Domain pv = PvTestDomains.create(hv, "pv");
    byte[] got = new byte[XenVersion.CAPABILITIES_LEN];
    assertThat(hc.dispatch(pv.vcpus().get(0), Hypercall.XEN_VERSION.number(),
        XenVersion.CAPABILITIES, BUF, 0, 0, 0)).isZero();
    assertThat(pv.pv().mmu().copyFromGuest(BUF, got)).isTrue();
    assertThat(got).isEqualTo(padded(want, XenVersion.CAPABILITIES_LEN));
    for (DomainMode mode : new DomainMode[] {DomainMode.HVM_EPT, DomainMode.HVM_SHADOW,
        DomainMode.PVH}) {
      Domain t = hv.createHvmDomain("c-" + mode.cliName(), mode, 2);
      assertThat(hc.dispatch(t.vcpus().get(0), Hypercall.XEN_VERSION.number(),
          XenVersion.CAPABILITIES, BUF, 0, 0, 0)).isZero();
      t.memory().read(BUF, got, 0, got.length);
      assertThat(got).as(mode.cliName()).isEqualTo(padded(want, XenVersion.CAPABILITIES_LEN));
    }
  }

  /**
   * Submap 0 for a PV domU is do_xen_version's PV set: vnode, mmu_pt_update_preserve_ad,
   * highmem_assist, gnttab_map_avail_bits and direct_mapped, plus pae_pgdir_above_4gb while
   * VMASST_TYPE_pae_extended_cr3 is on; none of the HVM bits (a PV guest that believed in
   * writable_page_tables or auto_translated_physmap would write its page tables directly and
   * use pfns where machine frames are due).
   */
  @Test
  void getFeaturesGivesAPvGuestThePvBits() {
    Domain pv = PvTestDomains.create(hv, "pv");
    int pvBits = 1 << 13 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 17;
    assertThat(features(pv)).isEqualTo(pvBits);
    assertThat(hc.dispatch(pv.vcpus().get(0), Hypercall.VM_ASSIST.number(), 0,
        org.hospes.hv.pv.PvVcpu.VMASST_TYPE_PAE_EXTENDED_CR3, 0, 0, 0)).isZero();
    assertThat(features(pv)).isEqualTo(pvBits | 1 << 4);
    assertThat(hc.dispatch(pv.vcpus().get(0), Hypercall.VM_ASSIST.number(), 1,
        org.hospes.hv.pv.PvVcpu.VMASST_TYPE_PAE_EXTENDED_CR3, 0, 0, 0)).isZero();
    assertThat(features(pv)).isEqualTo(pvBits);
  }

  private int features(Domain pv) {
    assertThat(pv.pv().mmu().copyToGuest(BUF, new byte[] {0, 0, 0, 0, FILL, FILL, FILL, FILL}))
        .isTrue();
    assertThat(hc.dispatch(pv.vcpus().get(0), Hypercall.XEN_VERSION.number(),
        XenVersion.GET_FEATURES, BUF, 0, 0, 0)).isZero();
    byte[] got = new byte[8];
    assertThat(pv.pv().mmu().copyFromGuest(BUF, got)).isTrue();
    return VcpuHypercalls.le32(got, 4);
  }

  @Test
  void theGuestHandleIsStablePerDomainAndDiffersBetweenDomains() {
    Domain other = hv.createHvmDomain("other", DomainMode.PVH, 2);
    assertThat(XenVersionHypercall.handle(d)).isEqualTo(XenVersionHypercall.handle(d))
        .isNotEqualTo(XenVersionHypercall.handle(other));
  }
}
