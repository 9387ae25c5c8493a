package org.hospes.dom0.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.BzImage;
import org.hospes.dom0.boot.ElfFile;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.NewcArchive;
import org.hospes.dom0.boot.XenElfNotes;
import org.hospes.dom0.study.LinuxIo;

/**
 * The files of {@code hospes bench --linux}: the vmlinux both emulators boot at its PVH entry,
 * and the initramfs.
 *
 * <p>QEMU's {@code -kernel} takes the PVH entry of an ELF only (a bzImage goes through the Linux
 * boot protocol instead), so a bzImage (Debian's package ships one) is unpacked to its vmlinux
 * once, as Xen's domain builder does, and Hospes boots that same file: both load the same
 * uncompressed kernel and neither pays for decompression.
 *
 * @param vmlinux the ELF both boot (in the work directory when it was unpacked)
 * @param initrd the initramfs both get
 * @param kernelSource what the vmlinux came from, for the report
 * @param initrdSource what the initramfs is, for the report
 */
record LinuxBootImages(Path vmlinux, Path initrd, String kernelSource, String initrdSource) {

  /** What the generated /init prints (through the kernel log) before it powers off. */
  static final String MARKER = "hospes-bench: /init reached";
  /** The busybox that runs the generated /init: busybox-static:i386's. */
  static final Path BUSYBOX = Path.of("/bin/busybox");

  /**
   * The images for a run. {@code kernel} null: Debian's 686-pae kernel where
   * {@code samples/linux/fetch-debian-kernel.sh} caches it ({@code -Dhospes.linux.vmlinuz}
   * overrides, as for the tests); {@code initrd} null: a busybox initramfs whose /init prints
   * {@link #MARKER} and powers off, written to {@code workDir}.
   *
   * @throws BenchSetupException with a one-line, user-facing reason (and how to fix it)
   */
  static LinuxBootImages prepare(Path kernel, Path initrd, Path workDir)
      throws BenchSetupException, IOException {
    Path k = kernel;
    if (k == null) {
      k = Path.of(LinuxIo.defaultKernel());
      if (!Files.isRegularFile(k)) {
        throw new BenchSetupException("Debian's 686-pae kernel is not at " + k + ": fetch it"
            + " with samples/linux/fetch-debian-kernel.sh (once; it uses apt, as root or through"
            + " sudo; ./test runs it too), or give --kernel FILE (a bzImage or a vmlinux with a"
            + " PVH entry)");
      }
    }
    byte[] image;
    try {
      image = KernelFiles.read(k);
    } catch (BootException e) {
      throw new BenchSetupException("--kernel " + k + ": " + e.getMessage());
    }
    Path vmlinux = k;
    String source = k.toString();
    try {
      if (BzImage.isBzImage(image)) {
        image = BzImage.vmlinux(image);
        vmlinux = workDir.resolve("vmlinux");
        Files.write(vmlinux, image);
        source = "the vmlinux unpacked from " + k;
      }
      ElfFile elf = ElfFile.parse(image);
      if (!XenElfNotes.read(image, elf).has(XenElfNotes.PHYS32_ENTRY)) {
        throw new BenchSetupException("--kernel " + k + ": the ELF has no PVH entry"
            + " (XEN_ELFNOTE_PHYS32_ENTRY; a kernel built with CONFIG_PVH has it), which Hospes's"
            + " pvh mode and QEMU's -kernel both boot");
      }
    } catch (BootException e) {
      throw new BenchSetupException("--kernel " + k + ": " + e.getMessage()
          + " (a bzImage or a vmlinux with a PVH entry is needed)");
    }
    if (initrd != null) {
      if (!Files.isRegularFile(initrd)) {
        throw new BenchSetupException("--initrd " + initrd + ": "
            + (Files.exists(initrd) ? "not a regular file" : "no such file"));
      }
      return new LinuxBootImages(vmlinux, initrd, source, initrd.toString());
    }
    Path generated = workDir.resolve("initramfs.cpio");
    Files.write(generated, busyboxInitramfs());
    return new LinuxBootImages(vmlinux, generated, source,
        "generated: " + BUSYBOX + " and an /init that prints \"" + MARKER + "\" and powers off");
  }

  /** /dev, /proc, /bin/busybox and the /init script, as a newc archive. */
  static byte[] busyboxInitramfs() throws BenchSetupException, IOException {
    if (!Files.isRegularFile(BUSYBOX)) {
      throw new BenchSetupException(BUSYBOX + " is missing: the generated initramfs runs"
          + " busybox-static:i386's (apt-get install busybox-static:i386; ./test installs it),"
          + " or give --initrd FILE");
    }
    byte[] init;
    try (InputStream in = LinuxBootImages.class.getResourceAsStream("linux-bench-init.sh")) {
      if (in == null) {
        throw new IOException("linux-bench-init.sh is missing from the class path");
      }
      init = in.readAllBytes();
    }
    return new NewcArchive()
        .directory("dev")
        .directory("proc")
        .directory("bin")
        .file("bin/busybox", Files.readAllBytes(BUSYBOX), 0755)
        .file("init", init, 0755)
        .finish();
  }
}
