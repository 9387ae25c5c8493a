package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.net.Networks.NetRef;
import org.hospes.dom0.testing.CapturedCli;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VifSpecTest {
  @TempDir
  Path dir;

  @Test
  void theShorthandAndXlsKeysGiveTheSameInterface() {
    VifSpec a = VifSpec.parse("mac=00:16:3E:12:34:56,net=bridge:xenbr0,model=xen", null);
    VifSpec b = VifSpec.parse("mac=00:16:3e:12:34:56,bridge=xenbr0,type=vif,backend=0", null);
    assertThat(a).isEqualTo(b);
    assertThat(a.mac()).isEqualTo("00:16:3e:12:34:56");
    assertThat(a.net()).isEqualTo(new NetRef("bridge", "xenbr0"));
  }

  @Test
  void defaultsAreNatAndXensOuiWithBytesFromDomidAndIndex() {
    VifSpec v = VifSpec.parse("", null);
    assertThat(v.net()).isEqualTo(VifSpec.DEFAULT_NET);
    assertThat(v.macFor(1, 0)).isEqualTo("00:16:3e:00:01:00");
    assertThat(v.macFor(300, 2)).isEqualTo("00:16:3e:01:2c:02");
    assertThat(v.macFor(300, 2)).isEqualTo(VifSpec.parse("net=routed", null).macFor(300, 2));
  }

  @Test
  void pcapAndIpAreTaken() {
    VifSpec v = VifSpec.parse("net=routed,ip=10.0.3.5,pcap=cap/g.pcap", dir);
    assertThat(v.ip()).isEqualTo(0x0A000305);
    assertThat(v.pcap()).isEqualTo(dir.resolve("cap/g.pcap"));
  }

  @Test
  void badInputGetsOneLineReasons() {
    assertThatThrownBy(() -> VifSpec.parse("mac=00:16:3e:1:2:3", null))
        .hasMessageContaining("six hex pairs");
    assertThatThrownBy(() -> VifSpec.parse("mac=01:00:5e:00:00:01", null))
        .hasMessageContaining("multicast");
    assertThatThrownBy(() -> VifSpec.parse("type=tap", null))
        .hasMessageContaining("type=ioemu: model=e1000 or virtio-net");
    assertThatThrownBy(() -> VifSpec.parse("model=rtl8139", null))
        .hasMessageContaining("model=rtl8139 is not offered");
    assertThatThrownBy(() -> VifSpec.parse("backend=2", null))
        .hasMessageContaining("backend=0");
    assertThatThrownBy(() -> VifSpec.parse("net=nat,bridge=br0", null))
        .hasMessageContaining("given twice");
    assertThatThrownBy(() -> VifSpec.parse("rate=10Mb/s", null))
        .hasMessageContaining("unknown key 'rate'");
    assertThatThrownBy(() -> VifSpec.parse("ip=10.0.3", null)).hasMessageContaining("IPv4");
    assertThatThrownBy(() -> VifSpec.parse("bridge", null)).hasMessageContaining("KEY=VALUE");
  }

  @Test
  void modelVirtioAndXlsIoemuTypeMakeAVirtioNetDevice() {
    assertThat(VifSpec.parse("model=virtio", null).virtio()).isTrue();
    assertThat(VifSpec.parse("type=ioemu,model=virtio-net,bridge=xenbr0", null).virtio())
        .isTrue();
    assertThat(VifSpec.parse("model=xen", null).virtio()).isFalse();
    assertThat(VifSpec.parse("", null).model()).isNull();
    assertThat(DomainSpec.parse("h=k.elf,mode=hvm,vif=[model=virtio]", dir).vifs().get(0)
        .virtio()).isTrue();
    assertThatThrownBy(() -> DomainSpec.parse("h=k.elf,mode=hvm,vif=[model=xen]", dir))
        .hasMessageContaining("model=xen vifs need mode=pvh, pvhvm or pv");
    assertThatThrownBy(() -> DomainSpec.parse("h=k.elf,mode=pvh,vif=[model=e1000]", dir))
        .hasMessageContaining("model=e1000 vifs are PCI devices and need an hvm mode");
  }

  @Test
  void e1000IsTheDefaultInHvmModesAndOfferedBesideTheVifInPvhvm() {
    VifSpec plain = VifSpec.parse("net=nat", null);
    assertThat(plain.modelIn(DomainMode.HVM_EPT)).isEqualTo(VifSpec.Model.E1000);
    assertThat(plain.modelIn(DomainMode.HVM_SHADOW)).isEqualTo(VifSpec.Model.E1000);
    assertThat(plain.modelIn(DomainMode.PVH)).isEqualTo(VifSpec.Model.XEN);
    assertThat(plain.e1000In(DomainMode.PVHVM)).isTrue();
    assertThat(plain.vifIn(DomainMode.PVHVM)).isTrue();
    assertThat(plain.e1000In(DomainMode.PVH)).isFalse();
    VifSpec xen = VifSpec.parse("model=xen", null);
    assertThat(xen.e1000In(DomainMode.PVHVM)).isFalse();
    assertThat(xen.vifIn(DomainMode.PVHVM)).isTrue();
    VifSpec e1000 = VifSpec.parse("model=e1000", null);
    assertThat(e1000.e1000In(DomainMode.PVHVM)).isTrue();
    assertThat(e1000.vifIn(DomainMode.PVHVM)).isFalse();
    assertThat(VifSpec.parse("type=ioemu,model=virtio-net", null).model())
        .isEqualTo(VifSpec.Model.VIRTIO);
    assertThat(DomainSpec.parse("h=k.elf,mode=hvm,vif=[net=nat]", dir).vifs().get(0)
        .e1000In(DomainMode.HVM_EPT)).isTrue();
  }

  /**
   * A key given twice is refused naming it, as DeviceSpec and DomainSpec refuse a repeated key
   * and as net= with bridge= already was: it used to be taken silently, the later one winning
   * (two mac= gave the second address, two pcap= wrote only the second file).
   */
  @Test
  void aKeyGivenTwiceIsRefusedNamingIt() throws Exception {
    assertThatThrownBy(() -> VifSpec.parse("mac=00:16:3e:00:00:10,mac=00:16:3e:00:00:11", null))
        .hasMessage("vif 'mac=00:16:3e:00:00:10,mac=00:16:3e:00:00:11': mac given twice");
    for (String twice : new String[] {"net=nat,net=routed", "pcap=a.pcap,pcap=b.pcap",
        "ip=10.0.3.5,ip=10.0.3.6", "model=e1000,model=virtio", "type=vif,type=ioemu",
        "backend=0,backend=Domain-0", "bridge=br0,bridge=br1", "MAC=00:16:3e:00:00:10,"
        + "mac=00:16:3e:00:00:11"}) {
      String key = twice.substring(0, twice.indexOf('=')).toLowerCase(java.util.Locale.ROOT);
      assertThatThrownBy(() -> VifSpec.parse(twice, null)).as(twice)
          .hasMessage("vif '" + twice + "': " + key + " given twice");
    }
    // An unknown key stays an unknown key, however often it is given.
    assertThatThrownBy(() -> VifSpec.parse("rate=1,rate=2", null))
        .hasMessageContaining("unknown key 'rate'");
    assertThatThrownBy(() -> DomainSpec.parse("a=k.elf,mode=pvh,vif=[ip=10.0.3.5,ip=10.0.3.6]",
        dir)).hasMessage("a: vif 'ip=10.0.3.5,ip=10.0.3.6': ip given twice");
    Path k = Files.write(dir.resolve("k.elf"), new byte[] {0x7f, 'E', 'L', 'F'});
    CapturedCli c = new CapturedCli();
    assertThat(c.run("run", "--mode", "pvh", "--vif", "pcap=a.pcap,pcap=b.pcap", k.toString()))
        .isEqualTo(2);
    assertThat(c.stderr()).isEqualTo("hospes: --vif: vif 'pcap=a.pcap,pcap=b.pcap': pcap given"
        + " twice" + System.lineSeparator());
  }

  /**
   * mac=00:00:00:00:00:00 is the default address, as libxl takes an all-zero MAC as unset:
   * before, the interface got the zero address, which Linux's e1000 refuses ("Invalid MAC
   * Address") and no switch can learn.
   */
  @Test
  void anAllZeroMacIsTheDefaultAddressAsInLibxl() {
    VifSpec v = VifSpec.parse("mac=00:00:00:00:00:00,net=bridge:br0", null);
    assertThat(v.mac()).isNull();
    assertThat(v.macFor(3, 1)).isEqualTo("00:16:3e:00:03:01");
  }

  /**
   * xl's type= as libxl takes it. type=vif is the PV interface alone: in pvhvm no e1000 beside
   * it (before, it was ignored, and pvhvm offered the card too). type=ioemu is the HVM default:
   * in pvhvm a card and the vif, so that a guest that unplugs the card (Linux with
   * xen-netfront does, mask bit 1) still has the vif (before, type=ioemu made it model=e1000,
   * the card alone, and such a guest was left with no interface at all).
   */
  @Test
  void xlsTypeVifIsThePvInterfaceAloneAndIoemuTheModesDefault() {
    VifSpec vif = VifSpec.parse("type=vif,bridge=xenbr0", null);
    assertThat(vif.e1000In(DomainMode.PVHVM)).isFalse();
    assertThat(vif.vifIn(DomainMode.PVHVM)).isTrue();
    VifSpec ioemu = VifSpec.parse("type=ioemu,bridge=xenbr0", null);
    assertThat(ioemu.e1000In(DomainMode.PVHVM)).isTrue();
    assertThat(ioemu.vifIn(DomainMode.PVHVM)).isTrue();
    assertThat(ioemu.modelIn(DomainMode.HVM_EPT)).isEqualTo(VifSpec.Model.E1000);
    assertThat(ioemu.vifIn(DomainMode.HVM_EPT)).isFalse();
    assertThat(VifSpec.parse("model=virtio-net,type=ioemu", null).virtio()).isTrue();
    assertThatThrownBy(() -> VifSpec.parse("model=e1000,type=vif", null))
        .hasMessage("vif 'model=e1000,type=vif': type=vif is a PV interface and model=e1000 an"
            + " emulated one; give type=ioemu for an emulated card");
    assertThatThrownBy(() -> VifSpec.parse("type=ioemu,model=xen", null))
        .hasMessageContaining("type=ioemu is an emulated interface and model=xen a PV one");
    assertThatThrownBy(() -> DomainSpec.parse("h=k.elf,mode=hvm,vif=[type=vif]", dir))
        .hasMessageContaining("vifs need mode=pvh, pvhvm or pv");
  }

  @Test
  void runManySpecsTakeVifsBracketedOrNot() {
    DomainSpec d = DomainSpec.parse("a=k.elf,mode=pvh,vif=[mac=00:16:3e:00:00:0a,net=routed,"
        + "ip=10.0.3.9],vif=bridge=br0,vif=,disk=[x.img,mode=ro],cmdline=console=hvc0", dir);
    assertThat(d.vifs()).hasSize(3);
    assertThat(d.vifs().get(0).net()).isEqualTo(new NetRef("routed", null));
    assertThat(d.vifs().get(0).ip()).isEqualTo(0x0A000309);
    assertThat(d.vifs().get(1).net()).isEqualTo(new NetRef("bridge", "br0"));
    assertThat(d.vifs().get(2).net()).isEqualTo(VifSpec.DEFAULT_NET);
    assertThat(d.disks()).hasSize(1);
    assertThat(d.cmdline()).isEqualTo("console=hvc0");
    assertThat(d.withRam(32).vifs()).isEqualTo(d.vifs());
    assertThatThrownBy(() -> DomainSpec.parse("a=k.elf,mode=hvm,vif=[model=xen]", dir))
        .hasMessageContaining("vifs need mode=pvh, pvhvm or pv");
    assertThatThrownBy(() -> DomainSpec.parse("a=k.elf,mode=pvh,vif=[mac=zz,net=routed]", dir))
        .hasMessageStartingWith("a: vif 'mac=zz,net=routed': mac must be six hex pairs");
    assertThat(d.mode()).isEqualTo(DomainMode.PVH);
  }

  @Test
  void theCliRefusesUnknownOrUnbuiltNetworksWithStatus2() throws Exception {
    Path k = dir.resolve("k.elf");
    Files.write(k, new byte[] {0x7f, 'E', 'L', 'F'});
    CapturedCli c2 = new CapturedCli();
    assertThat(c2.run("run", "--mode", "pvh", "--vif", "net=vlan:3", k.toString()))
        .isEqualTo(2);
    assertThat(c2.stderr()).contains("--vif: net=vlan:3: unknown topology 'vlan'");
    CapturedCli c3 = new CapturedCli();
    assertThat(c3.run("run", "--mode", "pvh", "--vif", "net=bridge", k.toString()))
        .isEqualTo(2);
    assertThat(c3.stderr()).contains("--vif: net=bridge: bridge networks are named");
  }

  @Test
  void theCliSaysWhichModesTakeWhichModel() throws Exception {
    Path k = dir.resolve("k.elf");
    Files.write(k, new byte[] {0x7f, 'E', 'L', 'F'});
    CapturedCli a = new CapturedCli();
    assertThat(a.run("run", "--mode", "pvh", "--vif", "model=e1000", k.toString())).isEqualTo(2);
    assertThat(a.stderr()).contains("--vif ...,model=e1000 needs an hvm mode");
    CapturedCli b = new CapturedCli();
    assertThat(b.run("run", "--mode", "hvm", "--vif", "model=xen", k.toString())).isEqualTo(2);
    assertThat(b.stderr()).contains("--vif ...,model=xen needs --mode pvh, pvhvm or pv");
    CapturedCli c = new CapturedCli();
    assertThat(c.run("run", "--mode", "native", "--vif", "net=nat", k.toString())).isEqualTo(2);
    assertThat(c.stderr()).contains("--vif does nothing in native mode");
  }
}
