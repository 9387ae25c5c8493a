package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.net.nat.DataServer;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.dom0.toolstack.VifSpec;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's "the workload's output stays identical between EPT and shadow paging": one boot
 * per mode, hvm then hvm-shadow, of Debian's unmodified kernel on an HVM PC with every emulated
 * and virtio path at once (ata_piix on the PIIX3's IDE and virtio_blk, each on a copy of the same
 * ext4 image; e1000 and virtio_net on dom0's NAT network). The guest ({@code identity-init.sh})
 * mounts each disk, writes, syncs, remounts and reads back, then on each NIC leases an address,
 * pings the gateway and fetches 1 MiB from dom0's data server (no host socket). With
 * {@code printk.time=0} the two consoles must be the same line for line, but for the lines
 * {@link #normalise} rewrites, each for a reason found and written there. Afterwards
 * {@code e2fsck -fn} finds both images clean and debugfs reads what each driver wrote.
 */
@Tag("linux-long")
class DebianLinuxIdentityTest {
  static final int FETCH = 1 << 20;

  @TempDir
  Path tmp;

  static List<String> modules() {
    return Stream.of(
        List.of("scsi_common.ko", "scsi_mod.ko", "libata.ko", "ata_piix.ko",
            "crct10dif_common.ko", "crct10dif_generic.ko", "crc-t10dif.ko", "crc64.ko",
            "crc64_rocksoft_generic.ko", "crc64-rocksoft.ko", "t10-pi.ko", "sd_mod.ko"),
        DebianLinuxVirtioTest.VIRTIO_PCI, List.of("virtio_blk.ko"), Ext4DiskGuest.EXT4,
        List.of("e1000.ko", "failover.ko", "net_failover.ko", "virtio_net.ko"))
        .flatMap(List::stream).toList();
  }

  /**
   * The lines that legitimately differ between EPT and shadow paging, made equal:
   * <ul>
   *   <li>Wall-clock readings. The virtual clock advances by modelled cycles, and shadow
   *       paging's exits (page faults, INVLPG, CR3 loads) cost more of them than EPT's, so at
   *       the same point of the boot the clock reads later (about 3.5 s against 1 s at
   *       {@code sched_clock}). The CMOS RTC, the audit subsystem's stamp and sched_clock's
   *       stability check print those readings: their numbers are replaced. For the same
   *       reason Linux's one-time warning that an hrtimer interrupt ran long ("hrtimer:
   *       interrupt took N ns", printed when one took over a tick of the guest's clock) is
   *       dropped: under shadow paging the faults taken inside the handler cost virtual time.
   *       And "random: crng init done" is dropped wherever it comes: the kernel's random pool
   *       counts entropy from the cycle counter at interrupts, so when it has enough (if it
   *       does before poweroff) depends on how fast virtual time went.
   *   <li>Until session 43 a shadow-paged vCPU had no NX (its shadows were 2-level), and the NX
   *       lines were dropped here. Its PAE shadows now carry the guest's XD bits, so the NX
   *       lines must be the same in both.
   * </ul>
   * Nothing else is touched: the async initramfs unpack, whose "Freeing initrd memory" line
   * moved with timing, is made synchronous by {@code initramfs_async=0} instead.
   */
  static List<String> normalise(String console) {
    Pattern clock = Pattern.compile("^(audit: type=2000 audit\\(|rtc_cmos rtc_cmos: setting system"
        + " clock to |sched_clock: Marking stable \\().*");
    List<String> out = new ArrayList<>();
    for (String line : console.split("\r?\n")) {
      if (line.startsWith("hrtimer: interrupt took ")
          || line.equals("random: crng init done")) {
        continue;
      }
      var m = clock.matcher(line);
      out.add(m.matches() ? line.replaceAll("[0-9]+", "#") : line);
    }
    return out;
  }

  record Boot(String console, RunResult result, long ms, Path ide, Path virtio) {}

  Boot boot(String mode, Path image, byte[] initrd) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(mode));
    Path ide = Files.copy(image, dir.resolve("ide.img"));
    Path virtio = Files.copy(image, dir.resolve("virtio.img"));
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.byCliName(mode), 256, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    List<DiskImage> open = new ArrayList<>();
    for (String d : List.of(ide + ",format=raw,bus=ide", virtio + ",format=raw,bus=virtio")) {
      DiskSpec spec = DiskSpec.parse(d, 0, null);
      DiskImage img = spec.open();
      open.add(img);
      m.addDisk(spec, img);
    }
    m.addVif(VifSpec.parse("net=nat,model=e1000", null));
    m.addVif(VifSpec.parse("net=nat,model=virtio", null));
    Path vmlinuz = DebianKernel.vmlinuz();
    String cmdline = "console=ttyS0 cryptomgr.notests printk.time=0 initramfs_async=0 modules="
        + String.join(",", modules()) + " disks=sda,vda fetch=" + FETCH;
    long t0 = System.nanoTime();
    m.load(new LinuxKernelLoader(), KernelFiles.read(vmlinuz), vmlinuz.toString(),
        new BootRequest(cmdline, List.of(new BootModule(initrd, "initrd"))), null);
    RunResult r = m.run(20_000_000_000L);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    for (DiskImage img : open) {
      img.close();
    }
    m.networks().close();
    String text = console.toString(StandardCharsets.ISO_8859_1);
    Files.writeString(Path.of("target", "debian-identity-" + mode + ".log"), text);
    System.out.printf("identity %s: %s, %d ms host, virtual %d cycles%n", mode, r, ms,
        m.hypervisor().now());
    assertThat(r.exitStatus()).as("%s: %s; %s", mode, r, diag).isZero();
    return new Boot(text, r, ms, ide, virtio);
  }

  @Test
  @Timeout(value = 3600, unit = TimeUnit.SECONDS)
  void theWorkloadsConsoleIsTheSameUnderEptAndShadowPaging() throws Exception {
    Path image = Ext4DiskGuest.ext4Image(tmp);
    byte[] initrd = DebianKernel.busyboxInitramfs("identity-init.sh", modules(),
        Map.of("usr/share/udhcpc/default.script", "udhcpc.script"));
    String busyboxMd5 = java.util.HexFormat.of().formatHex(java.security.MessageDigest
        .getInstance("MD5").digest(Files.readAllBytes(Path.of("/bin/busybox"))));
    String dataMd5 = DataServer.md5Hex(FETCH);
    List<Boot> boots = new ArrayList<>();
    for (String mode : List.of("hvm", "hvm-shadow")) {
      Boot b = boot(mode, image, initrd);
      boots.add(b);
      assertThat(b.console()).as("%s console", mode)
          .contains("identity: sda (ata_piix): written through ata_piix, copy md5 "
              + busyboxMd5)
          .contains("identity: vda (virtio_blk): written through virtio_blk, copy md5 "
              + busyboxMd5)
          .containsPattern("udhcpc-script: eth0 is 10\\.0\\.2\\.\\d+ netmask 255\\.255\\.255\\.0,"
              + " router 10\\.0\\.2\\.2")
          .contains("identity: eth0 (e1000): ping 3 packets transmitted, 3 packets received")
          .contains("identity: eth0 (e1000): fetched " + FETCH + " bytes, md5 " + dataMd5)
          .contains("identity: eth1 (virtio_net): ping 3 packets transmitted, 3 packets"
              + " received")
          .contains("identity: eth1 (virtio_net): fetched " + FETCH + " bytes, md5 " + dataMd5)
          .contains("identity: done")
          .doesNotContain("failed")
          .doesNotContain("soft lockup");
      for (Path img : List.of(b.ide(), b.virtio())) {
        Ext4DiskGuest.run(tmp, "e2fsck", "-fn", img.toString());
      }
      assertThat(Ext4DiskGuest.run(tmp, "debugfs", "-R", "cat /hello.txt", b.ide().toString()))
          .contains("written through ata_piix");
      assertThat(Ext4DiskGuest.run(tmp, "debugfs", "-R", "cat /hello.txt",
          b.virtio().toString())).contains("written through virtio_blk");
    }
    List<String> ept = normalise(boots.get(0).console());
    List<String> shadow = normalise(boots.get(1).console());
    String diff = diff(ept, shadow);
    assertThat(diff).as("lines that differ between hvm (<) and hvm-shadow (>)").isEmpty();
    assertThat(ept.size()).isGreaterThan(300);
  }

  /** The lines of {@code a} and {@code b} that differ, position by position, for the message. */
  static String diff(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < Math.max(a.size(), b.size()) && out.size() < 60; i++) {
      String x = i < a.size() ? a.get(i) : "(none)";
      String y = i < b.size() ? b.get(i) : "(none)";
      if (!x.equals(y)) {
        out.add(i + "< " + x);
        out.add(i + "> " + y);
      }
    }
    return out.stream().collect(Collectors.joining("\n"));
  }
}
