package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.dom0.xenstore.XsWire;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * libxl makes /local/domain/N, with the domain's name and domid, for every domain it builds: an
 * HVM guest with no PV drivers as well as a Xen-aware one. The host toolstack does the same,
 * and removes them when it lets the domain go, as libxl__destroy_domid does.
 */
class HvmDomainNodesTest {
  @TempDir
  Path dir;

  @Test
  void aPlainHvmGuestHasItsNameAndDomidInXenstoreUntilItGoes() throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    byte[] spin = ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xEB, (byte) 0xFE});
    GuestDomain g = host.start(DomainSpec.of("web", dir.resolve("web.elf"), ""), spin);
    int domid = g.domain().domid();
    String dom = "/local/domain/" + domid;
    assertThat(host.xenstore()).as("dom0's xenstored runs").isNotNull();
    assertThat(host.xenstore().read(dom + "/name")).isEqualTo("web");
    assertThat(host.xenstore().read(dom + "/domid")).isEqualTo(Integer.toString(domid));
    // Dom0 owns the nodes; the guest may read them (libxl__domain_make's permissions).
    assertThat(host.xenstore().request(XsWire.GET_PERMS, dom + "/name\0").text())
        .isEqualTo("n0\0r" + domid + "\0");

    host.destroy("web", "xl destroy");
    host.forget("web");
    assertThat(host.xenstore().read(dom)).as("removed with the domain").isNull();
  }
}
