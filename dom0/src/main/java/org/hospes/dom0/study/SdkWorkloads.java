package org.hospes.dom0.study;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.hospes.dom0.bench.KernelSources;
import org.hospes.dom0.boot.loader.BootMode;

/**
 * The study workloads that are guest SDK programs: built with the SDK's Makefile twice from the
 * same sources, as a PVH guest (which boots in pvh, and at its PVH entry in hvm and hvm-shadow)
 * and as a classic PV guest ({@code make pvsdk}) for pv. The PV image is kept under the
 * workload's name plus {@link #PV_SUFFIX}.
 */
public final class SdkWorkloads {
  /** Key suffix of a workload's PV image in the image map. */
  public static final String PV_SUFFIX = "@pv";

  private SdkWorkloads() {}

  /** The image run {@code spec} boots, from the map {@link StudyRunner#images} made. */
  public static byte[] image(RunSpec spec, Map<String, byte[]> images) {
    String name = spec.workload().name();
    if (spec.workload().isSdk() && BootMode.byName(spec.mode()).orElse(null) == BootMode.PV) {
      return images.get(name + PV_SUFFIX);
    }
    return images.get(name);
  }

  /** Builds workload {@code w}'s two images into {@code images}. */
  static void build(StudySpec.Workload w, Path baseDir, Map<String, byte[]> images)
      throws IOException, InterruptedException {
    Path root = KernelSources.findRoot();
    List<Path> sources = new ArrayList<>();
    for (String s : w.sdk()) {
      sources.addAll(sources(s, baseDir, root, w.name()));
    }
    Path build = root.resolve("samples/guests/build/study");
    Files.createDirectories(build);
    String guest = w.name().replaceAll("[^A-Za-z0-9_.-]", "_");
    images.put(w.name(), Files.readAllBytes(make(root, build, guest, sources, null)));
    images.put(w.name() + PV_SUFFIX, Files.readAllBytes(make(root, build, guest, sources,
        "pvsdk")));
  }

  /** A source file (relative to the study file), or the C files of sample samples/guests/NAME. */
  private static List<Path> sources(String s, Path baseDir, Path root, String workload)
      throws IOException {
    Path p = baseDir.resolve(s);
    if (Files.isRegularFile(p)) {
      return List.of(p.toAbsolutePath());
    }
    Path sample = root.resolve("samples/guests").resolve(s);
    if (s.matches("[A-Za-z0-9_-]+") && Files.isDirectory(sample)) {
      try (Stream<Path> files = Files.list(sample)) {
        List<Path> c = files.filter(f -> f.toString().endsWith(".c")).sorted().toList();
        if (!c.isEmpty()) {
          return c;
        }
      }
    }
    throw new IllegalArgumentException("workload " + workload + ": sdk source " + p
        + ": no such file (nor a sample of samples/guests)");
  }

  private static Path make(Path root, Path build, String guest, List<Path> sources,
      String target) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("make", "-s", "-C",
        root.resolve("guest-sdk/c").toString(), "GUEST=" + guest, "BUILD=" + build));
    if (target != null) {
      cmd.add(target);
    }
    StringBuilder srcs = new StringBuilder("SRCS=");
    for (Path s : sources) {
      srcs.append(s).append(' ');
    }
    cmd.add(srcs.toString().trim());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed:\n"
          + new String(out, StandardCharsets.UTF_8));
    }
    return build.resolve(guest + (target == null ? "" : "-" + target) + ".elf");
  }
}
