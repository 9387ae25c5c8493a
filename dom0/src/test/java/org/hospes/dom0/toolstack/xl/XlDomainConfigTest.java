package org.hospes.dom0.toolstack.xl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** xl.cfg files as {@code hospes create} reads them: values, defaults, and errors by line. */
class XlDomainConfigTest {
  @TempDir
  Path dir;

  @BeforeEach
  void kernels() throws IOException {
    Files.write(dir.resolve("k.elf"), new byte[] {1});
    Files.write(dir.resolve("initrd.cpio"), new byte[] {2});
    Files.write(dir.resolve("disk.img"), new byte[512]);
  }

  private XlDomainConfig read(String text) throws IOException {
    Path f = dir.resolve("dom.cfg");
    Files.writeString(f, text);
    return XlDomainConfig.read(f);
  }

  private void fails(String text, String message) {
    assertThatThrownBy(() -> read(text)).isInstanceOf(XlConfigException.class)
        .hasMessage(dir.resolve("dom.cfg") + message);
  }

  @Test
  void aFullPvhConfigWithAListOverSeveralLines() throws IOException {
    XlDomainConfig c = read("""
        # a PVH guest
        name = "web"; type = 'pvh'
        memory = 64
        vcpus = 1
        kernel = "k.elf"
        ramdisk = "initrd.cpio"
        cmdline = "console=hvc0 \\"quoted\\""
        disk = [ "format=raw, vdev=xvda, access=rw, target=disk.img",
                 ]   # trailing comma, as xl allows
        on_crash = "preserve"
        cpu_weight = 512
        cap = 50
        uuid = "ignored"
        """);
    assertThat(c.name()).isEqualTo("web");
    assertThat(c.mode()).isEqualTo(DomainMode.PVH);
    assertThat(c.memoryMiB()).isEqualTo(64);
    assertThat(c.kernel()).isEqualTo(dir.resolve("k.elf").toString());
    assertThat(c.ramdisk()).isEqualTo(dir.resolve("initrd.cpio").toString());
    assertThat(c.cmdline()).isEqualTo("console=hvc0 \"quoted\"");
    assertThat(c.disks()).containsExactly("format=raw, vdev=xvda, access=rw, target=disk.img");
    assertThat(c.onCrashAction()).isEqualTo(OnCrash.PRESERVE);
    var spec = c.toSpec();
    assertThat(spec.weight()).isEqualTo(512);
    assertThat(spec.cap()).isEqualTo(50);
    assertThat(spec.disks()).hasSize(1);
    assertThat(spec.disks().get(0).target()).isEqualTo(dir.resolve("disk.img"));
  }

  @Test
  void defaultsAndHvmWithAndWithoutHap() throws IOException {
    XlDomainConfig c = read("name = \"a\"\nkernel = \"k.elf\"\n");
    assertThat(c.mode()).isEqualTo(DomainMode.PVH);
    assertThat(c.memoryMiB()).isEqualTo(16);
    assertThat(c.onCrashAction()).isEqualTo(OnCrash.DESTROY);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\ntype=\"pv\"\n").mode())
        .isEqualTo(DomainMode.PV);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\ntype=\"hvm\"\nxen_platform_pci=1\n")
        .mode()).isEqualTo(DomainMode.PVHVM);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\ntype=\"hvm\"\nxen_platform_pci=1\n")
        .toSpec().mode()).isEqualTo(DomainMode.PVHVM);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\ntype=\"hvm\"\nxen_platform_pci=0\n")
        .mode()).isEqualTo(DomainMode.HVM_EPT);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\ntype=\"hvm\"\n").mode())
        .isEqualTo(DomainMode.HVM_EPT);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\nbuilder=\"hvm\"\nhap=0\n").mode())
        .isEqualTo(DomainMode.HVM_SHADOW);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\nroot=\"/dev/xvda1\"\nextra=\"quiet\"\n")
        .cmdline()).isEqualTo("root=/dev/xvda1 quiet");
  }

  @Test
  void anHvmDomainTakesVirtioDisksAndVirtioNetVifs() throws IOException {
    XlDomainConfig c = read("""
        name = "v"
        type = "hvm"
        kernel = "k.elf"
        disk = [ "format=raw, vdev=xvda, specification=virtio, target=disk.img" ]
        vif = [ 'type=ioemu, model=virtio-net, bridge=xenbr0' ]
        """);
    var spec = c.toSpec();
    assertThat(spec.mode()).isEqualTo(DomainMode.HVM_EPT);
    assertThat(spec.disks().get(0).virtio()).isTrue();
    assertThat(spec.vifs().get(0).virtio()).isTrue();
  }

  @Test
  void vcpusGiveHvmAndPvhDomainsThatManyVcpus() throws IOException {
    XlDomainConfig c = read("name=\"a\"\nkernel=\"k.elf\"\ntype=\"hvm\"\nvcpus=4\ncap=300\n");
    assertThat(c.vcpus()).isEqualTo(4);
    assertThat(c.toSpec().vcpus()).isEqualTo(4);
    assertThat(c.toSpec().cap()).isEqualTo(300);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\nvcpus=2\n").toSpec().vcpus()).isEqualTo(2);
    assertThat(read("name=\"a\"\nkernel=\"k.elf\"\n").toSpec().vcpus()).isEqualTo(1);
    XlDomainConfig pvhvm =
        read("name=\"a\"\nkernel=\"k.elf\"\ntype=\"hvm\"\nxen_platform_pci=1\nvcpus=2\n");
    assertThat(pvhvm.toSpec().mode()).isEqualTo(DomainMode.PVHVM);
    assertThat(pvhvm.toSpec().vcpus()).isEqualTo(2);
  }

  @Test
  void cpusIsHardAffinityAsACpuList() throws IOException {
    String base = "name=\"a\"\nkernel=\"k.elf\"\n";
    assertThat(read(base).toSpec().cpus()).isEqualTo(-1L);
    assertThat(read(base + "cpus = \"all\"\n").toSpec().cpus()).isEqualTo(-1L);
    assertThat(read(base + "cpus = \"1\"\n").toSpec().cpus()).isEqualTo(0b10L);
    assertThat(read(base + "cpus = \"0-1\"\n").toSpec().cpus()).isEqualTo(0b11L);
    assertThat(read(base + "cpus = \"0,2-3\"\n").toSpec().cpus()).isEqualTo(0b1101L);
    fails(base + "cpus = \"64\"\n", ":3: cpus: '64' in CPU list '64' is not a physical CPU"
        + " number 0..63 (expected all, N, N-M or N,M-K)");
    fails(base + "cpus = \"3-1\"\n", ":3: cpus: '3-1' in CPU list '3-1' is a backwards range");
  }

  @Test
  void errorsNameTheFileTheLineAndTheKey() {
    fails("name = \"a\"\nkernel = \"k.elf\"\nmemory = 4096\n",
        ":3: memory: must be 1..1024 MiB, got 4096");
    fails("name = \"a\"\n\nkernel = \"k.elf\"\nmemroy = 64\n", ":4: memroy: unknown key (Hospes"
        + " knows: builder, cap, cmdline, cpu_weight, cpus, device_model_args, device_model_args_hvm,"
        + " disk, extra, hap, kernel, maxmem, memory, name, on_crash, ramdisk, root, type, vcpus, vif, xen_platform_pci)");
    fails("name = \"a\"\nkernel = \"missing.elf\"\n", ":2: kernel: " + dir.resolve("missing.elf")
        + ": no such file");
    fails("name = \"a\"\nkernel = \".\"\n", ":2: kernel: " + dir + ": a directory, not a file");
    fails("name = \"a\"\nkernel = \"k.elf\"\nramdisk = \"/dev/null\"\n",
        ":3: ramdisk: /dev/null: not a regular file");
    fails("name = \"a\"\nkernel = \"k.elf\"\ntype = \"pv\"\nvcpus = 2\n",
        ":4: vcpus: type \"pv\" domains have one vCPU so far; SMP needs type = \"hvm\""
            + " or \"pvh\"");
    fails("name = \"a\"\nkernel = \"k.elf\"\nvcpus = 65\n",
        ":3: vcpus: must be 1..64 vCPUs, got 65");
    fails("name = \"a\"\nkernel = \"k.elf\"\ntype = \"pvm\"\n",
        ":3: type: 'pvm' is not a domain type (valid: pv, pvh, hvm)");
    fails("name = \"a\"\nkernel = \"k.elf\"\ntype = \"hvm\"\nhap = 0\nxen_platform_pci = 1\n",
        ":4: hap: xen_platform_pci = 1 (PVHVM) runs with EPT; set hap = 1 or"
            + " xen_platform_pci = 0");
    fails("name = \"a\"\nkernel = \"k.elf\"\nvif = [ 'bridge=xenbr0' ]\n", ":3: vif: network"
        + " interfaces in config files are emulated ones for now: type = \"hvm\" and"
        + " vif = ['type=ioemu,model=e1000|virtio-net,...']");
    fails("name = \"a\"\nkernel = \"k.elf\"\non_crash = \"coredump-destroy\"\n",
        ":3: on_crash: 'coredump-destroy' is not supported (valid: destroy, preserve, restart)");
    fails("name = \"a\"\nkernel = k.elf\n",
        ":2: kernel: 'k.elf' is neither a number nor a quoted string (write \"k.elf\")");
    fails("name = \"a\"\nkernel = \"k.elf\ncap = 3\n", ":2: kernel: the string has no closing \"");
    fails("name = \"a\"\ndisk = [ \"x.img\",\n\"y.img\"\nkernel = \"k.elf\"\n",
        ":4: disk: expected ',' or ']' in the list, found 'kernel'");
    fails("kernel = \"k.elf\"\n", ": name: missing (every domain needs name = \"...\")");
    fails("name = \"a b\"\nkernel = \"k.elf\"\n", ":1: name: bad domain name 'a b': use 1-32"
        + " letters, digits, '_', '.' or '-', starting with a letter or digit");
    fails("name = \"a\"\nkernel = \"k.elf\"\ntype = \"hvm\"\ndisk = [\"disk.img\"]\n",
        ":4: disk: disks are PV disks and need type = \"pvh\", or \"hvm\" with"
            + " xen_platform_pci = 1, for now, or specification=virtio in an hvm domain");
    fails("name = \"a\"\nkernel = \"k.elf\"\ndisk = [\"disk.img,access=rx\"]\n",
        ":3: disk: disk 'disk.img,access=rx': access must be ro or rw, got 'rx'");
  }

  @Test
  void aBinaryFileIsNotAConfig() throws IOException {
    Path f = dir.resolve("k.elf");
    Files.write(f, new byte[] {0x7f, 'E', 'L', 'F', 0, 0, (byte) 0xff});
    assertThatThrownBy(() -> XlDomainConfig.read(f)).hasMessage(f + ": not a text file; create"
        + " takes an xl domain configuration (name = \"...\", kernel = \"...\", ...)");
  }

  @Test
  void deviceModelArgsCarryQemusDeviceOptionToThePluginSeam() throws IOException {
    XlDomainConfig c = read("""
        name = "e"; type = "hvm"; kernel = "k.elf"
        device_model_args_hvm = [ "-device", "edu,dma_mask=0xffffff", "-device", "edu" ]
        """);
    assertThat(c.devices()).containsExactly("edu,dma_mask=0xffffff", "edu");
    assertThat(c.toSpec().devices()).extracting(d -> d.toString())
        .containsExactly("edu,dma_mask=0xffffff", "edu");
    fails("""
        name = "e"; type = "hvm"; kernel = "k.elf"
        device_model_args = [ "-m", "64" ]
        """, ":2: device_model_args: Hospes understands only \"-device\", \"NAME[,key=value"
        + "...]\" pairs here (devices of device-model plugins), got '-m'");
    fails("""
        name = "e"; type = "pvh"; kernel = "k.elf"
        device_model_args_hvm = [ "-device", "edu" ]
        """, ":2: device_model_args_hvm: device-model arguments need type = \"hvm\" (a domain"
        + " with a device model)");
    fails("""
        name = "e"; type = "hvm"; kernel = "k.elf"
        device_model_args_hvm = [ "-device", "edu,slot=1,slot=2" ]
        """, ":2: device_model_args_hvm: device edu: option slot given twice");
  }
}
