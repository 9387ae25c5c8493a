package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;

class DomainSpecTest {

  @Test
  void defaultsAndAllOptions() {
    DomainSpec d = DomainSpec.parse("web=k/hello.elf", null);
    assertThat(d).isEqualTo(new DomainSpec("web", Path.of("k/hello.elf"), DomainMode.HVM_EPT,
        16, 256, 0, null));
    DomainSpec e = DomainSpec.parse(" db = /k/x.elf , mode=hvm,ram=64, weight=512,cap=25,"
        + "cmdline=find=a, b,c ", Path.of("/base"));
    assertThat(e.name()).isEqualTo("db");
    assertThat(e.kernel()).isEqualTo(Path.of("/k/x.elf"));
    assertThat(e.ramMiB()).isEqualTo(64);
    assertThat(e.weight()).isEqualTo(512);
    assertThat(e.cap()).isEqualTo(25);
    assertThat(e.cmdline()).isEqualTo("find=a, b,c");
    assertThat(e.loader()).as("chosen by mode and image").isNull();
    // xl.cfg's type: pv, pvh, hvm (quotes as xl writes them are fine).
    assertThat(DomainSpec.parse("a=k.elf,type=pv", null).mode()).isEqualTo(DomainMode.PV);
    assertThat(DomainSpec.parse("a=k.elf,type=\"pvh\"", null).mode()).isEqualTo(DomainMode.PVH);
    assertThat(DomainSpec.parse("a=k.elf,type=hvm", null).mode())
        .isEqualTo(DomainMode.HVM_EPT);
    assertThat(DomainSpec.parse("a=k.elf,mode=pv", null).mode()).isEqualTo(DomainMode.PV);
    assertThat(DomainSpec.parse("a=k.elf,mode=hvm-shadow,loader=pvh", null).loader())
        .isEqualTo("pvh");
    assertThat(DomainSpec.parse("a=k.elf,loader=elf", null).withRam(8).loader())
        .isEqualTo("elf");
    assertThat(DomainSpec.parse("a=k.elf, ram=4 ,  cmdline = x=1, y", null).cmdline())
        .isEqualTo("x=1, y");
    assertThat(DomainSpec.parse("a=rel.elf", Path.of("/conf")).kernel())
        .isEqualTo(Path.of("/conf/rel.elf"));
  }

  @Test
  void badSpecsSayWhatIsWrongInOneLine() {
    assertBad("hello", "is not a domain spec (expected NAME=KERNEL");
    assertBad("=k.elf", "is not a domain spec");
    assertBad("a=", "a: no kernel given");
    assertBad("a b=k.elf", "bad domain name 'a b'");
    assertBad("a=k.elf,ram", "a: 'ram' is not KEY=VALUE");
    assertBad("a=k.elf,ram=lots", "a: ram must be a number, got 'lots'");
    assertBad("a=k.elf,ram=0", "a: ram must be 1..1024 MiB, got 0");
    assertBad("a=k.elf,mode=xen", "a: unknown mode 'xen' (valid: hvm, hvm-shadow, pvhvm, pvh, pv)");
    assertBad("a=k.elf,type=hvm-shadow", "a: unknown type 'hvm-shadow' (valid: pv, pvh, hvm, pvhvm)");
    assertBad("a=k.elf,colour=red", "a: unknown option 'colour'");
    assertBad("a=k.elf,ram=8,ram=9", "a: ram given twice");
    assertBad("a=k.elf,type=hvm,mode=pvh", "a: mode=pvh and type=hvm disagree; give one of them");
    assertBad("a=k.elf,mode=hvm-shadow,type=hvm", "a: mode=hvm-shadow and type=hvm disagree");
    assertBad("a=k.elf,weight=0", "a: weight must be 1..65535");
    assertBad("a=k.elf,cap=101", "a: cap must be 0..100");
    assertBad("a=k.elf,vcpus=0", "a: vcpus must be 1..64, got 0");
    assertBad("a=k.elf,vcpus=2,mode=pv", "a: vcpus=2 needs mode=hvm, hvm-shadow, pvhvm or pvh");
    assertBad("a=k.elf,vcpus=2,cap=201", "a: cap must be 0..200");
    // Not xl's hint, whose lists (N,M-K) a spec cannot hold.
    assertBad("a=k.elf,cpus=x", "a: cpus: 'x' in CPU list 'x' is not a physical CPU number"
        + " 0..63 (a spec's cpus= takes all, N or N-M; its commas separate keys)");
    // Not "unknown option 'slot'": the bracket that was left open.
    assertBad("a=k.elf,device=[edu,slot=6", "a: device=[edu,slot=6: '[' without a closing ']'"
        + " (device=[...] holds one device with its commas)");
    assertBad("a=k.elf,disk=[a.img,vdev=xvdb],vif = [bridge=x", "a: vif = [bridge=x: '['"
        + " without a closing ']'");
    // Two disks on one vdev (the first is xvda by its position) wrote one vbd directory twice
    // and failed with an internal NullPointerException from xenstore.
    assertBad("a=k.elf,mode=pvh,disk=a.img,disk=[b.img,vdev=xvda]", "a: two disks are xvda;"
        + " give each its own vdev (a disk without one is xvda, xvdb, ... by its position)");
    // In hvm the hint is about IDE positions, not pvh's xvdX names.
    assertBad("a=k.elf,mode=hvm,disk=[a.img,vdev=hda],disk=[b.img,vdev=hda]", "a: "
        + "two disks are hda; give each its own vdev (in hvm a disk is an IDE disk: vdev hda, hdb,"
        + " hdc or hdd names its position, and a disk without one, or with an xvdX one, takes"
        + " the first free of them)");
    // In pvhvm xvda's emulated copy and hda are both IDE disk 0: the second was left out
    // without a word (libxl hands QEMU both, which refuses to start).
    assertBad("a=k.elf,mode=pvhvm,disk=[a.img,vdev=xvda],disk=[b.img,vdev=hda]", "a: xvda and"
        + " hda are both the emulated IDE disk hda (in pvhvm a vbd xvdX, X below e, is also the"
        + " IDE disk of its index, as with xl); give one of them another vdev");
    assertBad("a=k.elf,mode=pvhvm,disk=[a.img,vdev=hdb],disk=[b.img,vdev=xvdb]", "a: hdb and"
        + " xvdb are both the emulated IDE disk hdb");
  }

  /** Disks whose IDE positions do not meet are accepted: xvde and on are vbds only in pvhvm. */
  @Test
  void pvhvmDisksOnDistinctIdePositionsAreAccepted() {
    DomainSpec.parse("a=k.elf,mode=pvhvm,disk=[a.img,vdev=xvda],disk=[b.img,vdev=hdb],"
        + "disk=[c.img,vdev=xvde]", null);
    // In hvm xvda is an IDE disk in the first free position, not position 0.
    DomainSpec.parse("a=k.elf,mode=hvm,disk=[a.img,vdev=xvda],disk=[b.img,vdev=hda]", null);
  }

  /** The syntax that run-many's help and its errors show names every option it takes. */
  @Test
  void theSyntaxShownNamesEveryOption() {
    for (String key : new String[] {"mode", "type", "ram", "vcpus", "weight", "cap", "cpus",
        "loader", "initrd", "module", "disk", "vif", "device", "cmdline"}) {
      assertThat(DomainSpec.SYNTAX).as(key).contains("[," + key + "=");
    }
    assertThat(DomainSpec.SYNTAX).contains("[,type=pv|pvh|hvm]");
  }

  @Test
  void vcpusAreKeptAndAllowACapPerVcpu() {
    DomainSpec s = DomainSpec.parse("a=k.elf,vcpus=4,cap=400,mode=pvh", null);
    assertThat(s.vcpus()).isEqualTo(4);
    assertThat(s.cap()).isEqualTo(400);
    assertThat(s.withRam(32).vcpus()).isEqualTo(4);
    assertThat(DomainSpec.parse("a=k.elf", null).vcpus()).isEqualTo(1);
    // A PVHVM domain is an HVM domain: it takes vCPUs as hvm does.
    assertThat(DomainSpec.parse("a=k.elf,vcpus=2,mode=pvhvm", null).vcpus()).isEqualTo(2);
  }

  @Test
  void modeAndTypeThatAgreeAreAccepted() {
    assertThat(DomainSpec.parse("a=k.elf,type=hvm,mode=hvm", null).mode())
        .isEqualTo(org.hospes.hv.domain.DomainMode.HVM_EPT);
  }

  @Test
  void hostLinesAreSettingsAndHostEqualsIsADomain() {
    assertThat(HostSettings.isHostLine("host pcpus=2")).isTrue();
    assertThat(HostSettings.isHostLine("host bogus=1")).isTrue();
    assertThat(HostSettings.isHostLine("host=k.elf")).isFalse();
    assertThat(HostSettings.isHostLine("host = k.elf")).isFalse();
    assertThatThrownBy(() -> HostSettings.parse("host bogus=1"))
        .hasMessage("host: unknown setting 'bogus' (valid: pcpus; expected host pcpus=N)");
    assertThat(HostSettings.parse("host pcpus=3").pcpus()).isEqualTo(3);
  }

  private static void assertBad(String spec, String message) {
    assertThatThrownBy(() -> DomainSpec.parse(spec, null))
        .isInstanceOf(DomainSpec.SpecException.class)
        .hasMessageContaining(message)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void consoleLinesAreWholeAndPrefixed() {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    LineConsole a = new LineConsole("a", sink);
    LineConsole b = new LineConsole("b", sink);
    for (byte x : "one\ntw".getBytes(StandardCharsets.US_ASCII)) {
      a.write(x);
    }
    for (byte x : "uno\n".getBytes(StandardCharsets.US_ASCII)) {
      b.write(x);
    }
    a.write('o');
    a.write('\n');
    b.write('x');
    b.close();
    assertThat(sink.toString(StandardCharsets.US_ASCII))
        .isEqualTo("[a] one\n[b] uno\n[a] two\n[b] x\n");
    assertThat(a.text()).isEqualTo("one\ntwo\n");
  }

  @Test
  void devicesFromPluginsInRunManySpecs() {
    DomainSpec d = DomainSpec.parse(
        "e=k.elf,mode=hvm,device=edu,disk=a.img,device=[edu,slot=9,dma_mask=0xfff],cmdline=x,y",
        java.nio.file.Path.of("/h"));
    assertThat(d.devices()).extracting(s -> s.toString())
        .containsExactly("edu", "edu,slot=9,dma_mask=0xfff");
    assertThat(d.disks()).hasSize(1);
    assertThat(d.cmdline()).isEqualTo("x,y");
    assertThat(d.withRam(32).devices()).isEqualTo(d.devices());
    assertThat(DomainSpec.parse("e=k.elf,mode=pvhvm,device=edu", null).devices()).hasSize(1);
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> DomainSpec.parse("e=k.elf,mode=pvh,device=edu", null))
        .hasMessage("e: device= adds a device to the device model; mode pvh has none (use hvm,"
            + " hvm-shadow or pvhvm)");
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> DomainSpec.parse("e=k.elf,device=[edu,a=1,a=2]", null))
        .hasMessage("e: device edu: option a given twice");
  }
}
