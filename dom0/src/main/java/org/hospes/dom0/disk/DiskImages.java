package org.hospes.dom0.disk;

import com.google.inject.Binder;
import com.google.inject.multibindings.MapBinder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.hospes.hv.HospesPlugin;

/**
 * The disk image formats Hospes knows, by name: "qcow2" and "raw" built in, more from plugins.
 * {@link #open} takes a format name ({@code format=}) or, without one, probes the file: every
 * format but raw is tried first, and raw takes anything, as QEMU's probing does.
 *
 * <p>A plugin (a {@link HospesPlugin} listed for {@link java.util.ServiceLoader}) adds a format
 * with {@code DiskImages.formats(binder()).addBinding("vhd").toInstance(new VhdFormat());};
 * the launcher's {@code HostPlugins} gives this class the map from its one injector.
 */
public final class DiskImages {
  private final Map<String, DiskFormat> formats = new LinkedHashMap<>();

  /** Only the built-in formats. */
  public DiskImages() {
    this(Map.of());
  }

  /** The built-in formats plus {@code extra} (a plugin may not replace a built-in name). */
  public DiskImages(Map<String, DiskFormat> extra) {
    formats.put(Qcow2Format.NAME, new Qcow2Format(this));
    for (Map.Entry<String, DiskFormat> e : extra.entrySet()) {
      if (!e.getKey().equals(RawImage.FORMAT.name())) {
        formats.putIfAbsent(e.getKey(), e.getValue());
      }
    }
    formats.put(RawImage.FORMAT.name(), RawImage.FORMAT);
  }

  /** The format map, for a plugin module to add a binding to. */
  public static MapBinder<String, DiskFormat> formats(Binder binder) {
    return MapBinder.newMapBinder(binder, String.class, DiskFormat.class);
  }

  public Set<String> names() {
    return Collections.unmodifiableSet(new TreeSet<>(formats.keySet()));
  }

  /**
   * Opens {@code path} in {@code format} (null: probe). Errors name the file: missing, not
   * readable, unknown format, or not valid in the format asked for.
   */
  public DiskImage open(Path path, String format, boolean readOnly) throws IOException {
    return open(path, format, readOnly, 0);
  }

  DiskImage openBacking(Path path, String format, int depth) throws IOException {
    return open(path, format, true, depth);
  }

  private DiskImage open(Path path, String format, boolean readOnly, int depth)
      throws IOException {
    try {
      return open0(path, format, readOnly, depth);
    } catch (FileSystemException e) {
      if (e.getReason() != null) {
        throw e;
      }
      // java.nio's message is then the path alone ("disk.img" for a file it may not read),
      // which a user cannot act on: add the reason, as every other file error here has one.
      String file = e.getFile() != null ? e.getFile() : path.toString();
      String reason = e instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : e instanceof java.nio.file.NoSuchFileException ? "no such file"
          : e.getClass().getSimpleName();
      throw new IOException(file + ": " + reason, e);
    }
  }

  private DiskImage open0(Path path, String format, boolean readOnly, int depth)
      throws IOException {
    if (!Files.exists(path)) {
      throw new NoSuchFileException(path.toString(), null, "no such disk image");
    }
    if (Files.isDirectory(path)) {
      throw new IOException(path + ": is a directory, not a disk image");
    }
    DiskFormat f;
    if (format != null) {
      f = formats.get(format);
      if (f == null) {
        throw new IOException(path + ": unknown disk format '" + format + "'; known formats: "
            + String.join(", ", names()));
      }
      if (!f.name().equals(RawImage.FORMAT.name()) && !f.probe(header(path))) {
        throw new IOException(path + ": not a " + format + " image");
      }
    } else {
      f = probe(header(path));
    }
    if (f instanceof Qcow2Format && depth > 0) {
      return Qcow2Image.open(path, readOnly, this::openBacking, depth);
    }
    if (f != RawImage.FORMAT && !(f instanceof Qcow2Format)) {
      // A plugin's: counted among the open images and flushed on close, as the built-in ones.
      ImageLock.Hold hold = ImageLock.hold(path, null, readOnly);
      try {
        return new FlushingClose(f.open(path, readOnly), hold);
      } catch (IOException | RuntimeException e) {
        hold.release();
        throw e;
      }
    }
    DiskImage img = f.open(path, readOnly);
    if (format == null && f == RawImage.FORMAT && !readOnly) {
      List<DiskFormat> others = new ArrayList<>(formats.values());
      others.remove(RawImage.FORMAT);
      return new ProbedRawImage(img, others);
    }
    return img;
  }

  private DiskFormat probe(byte[] header) {
    List<DiskFormat> order = new ArrayList<>(formats.values());
    for (DiskFormat f : order) {
      if (f != RawImage.FORMAT && f.probe(header)) {
        return f;
      }
    }
    return RawImage.FORMAT;
  }

  private static byte[] header(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      return in.readNBytes(512);
    }
  }
}
