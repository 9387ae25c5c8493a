package org.hospes.samples.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.LoadSegment;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.BootTarget;
import org.hospes.dom0.boot.loader.BootedKernel;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.x86.Cpu;

/**
 * A third-party kernel format, to show the loader extension point: a raw flat binary behind a
 * 16-byte header of this sample's own design (all fields little-endian u32):
 *
 * <pre>
 *   0  magic      "HFLT"
 *   4  load       physical address the bytes after the header are copied to
 *   8  entry      offset of the entry point from {@code load}
 *  12  bss        bytes to zero after the image
 * </pre>
 *
 * The kernel starts in flat 32-bit protected mode (paging and interrupts off) at
 * {@code load + entry} with EAX = {@link #BOOT_MAGIC}, EBX = the address of the NUL-terminated
 * command line (0 if none), ECX = the RAM size in bytes. The command line goes at
 * {@link #CMDLINE_ADDRESS}, in low memory. {@code samples/loaders/flat/hello.asm} is such a
 * kernel ({@code nasm -f bin}).
 */
public final class FlatBinaryLoader implements KernelLoader {
  public static final String NAME = "flat";
  /** Above elf (100), below multiboot (200): an image with both headers is a Multiboot one. */
  public static final int PRIORITY = 150;
  public static final int MAGIC = 0x544C_4648; // "HFLT" read as a little-endian u32
  public static final int HEADER_SIZE = 16;
  public static final int BOOT_MAGIC = 0x464C_4154; // "TALF"
  public static final long CMDLINE_ADDRESS = 0x1000;
  private static final int CMDLINE_MAX = 0x1000;

  private static final Profile PROFILE =
      new Profile(NAME, PRIORITY, Set.of(BootMode.NATIVE, BootMode.HVM, BootMode.HVM_SHADOW));

  @Override
  public Profile profile() {
    return PROFILE;
  }

  @Override
  public boolean recognises(byte[] image) {
    return image.length >= HEADER_SIZE && header(image).getInt(0) == MAGIC;
  }

  @Override
  public BootedKernel load(byte[] image, BootRequest request, BootTarget target)
      throws BootException {
    if (!recognises(image)) {
      throw new BootException("not a flat binary (no HFLT header)");
    }
    if (!request.modules().isEmpty()) {
      throw new BootException("the flat loader does not pass boot modules");
    }
    ByteBuffer h = header(image);
    long load = h.getInt(4) & 0xFFFF_FFFFL;
    long entry = load + (h.getInt(8) & 0xFFFF_FFFFL);
    long bss = h.getInt(12) & 0xFFFF_FFFFL;
    long size = image.length - HEADER_SIZE;
    long end = load + size + bss;
    if (load < CMDLINE_ADDRESS + CMDLINE_MAX || end > target.ramBytes()) {
      throw new BootException(String.format("image at 0x%x-0x%x must lie within 0x%x and the end"
          + " of RAM (%d MiB)", load, end, CMDLINE_ADDRESS + CMDLINE_MAX,
          target.ramBytes() >> 20));
    }
    if (entry >= load + size) {
      throw new BootException(String.format("entry 0x%x is outside the image", entry));
    }
    LoadSegment segment = new LoadSegment(HEADER_SIZE, load, size, size + bss);
    LoadSegment.writeAll(List.of(segment), image, target.memory());
    long cmdline = 0;
    if (request.cmdline() != null) {
      byte[] text = request.cmdline().getBytes(StandardCharsets.US_ASCII);
      if (text.length >= CMDLINE_MAX) {
        throw new BootException("command line longer than " + (CMDLINE_MAX - 1) + " bytes");
      }
      byte[] z = new byte[text.length + 1];
      System.arraycopy(text, 0, z, 0, text.length);
      target.memory().write(CMDLINE_ADDRESS, z, 0, z.length);
      cmdline = CMDLINE_ADDRESS;
    }
    target.startFlat32(entry);
    Cpu cpu = target.cpu();
    cpu.setReg(Cpu.EAX, BOOT_MAGIC);
    cpu.setReg(Cpu.EBX, (int) cmdline);
    cpu.setReg(Cpu.ECX, (int) target.ramBytes());
    return new BootedKernel(NAME, entry, cmdline, List.of(segment));
  }

  private static ByteBuffer header(byte[] image) {
    return ByteBuffer.wrap(image, 0, HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
  }
}
