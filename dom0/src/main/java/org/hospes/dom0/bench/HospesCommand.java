package org.hospes.dom0.bench;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How {@code hospes bench} starts Hospes in a fresh process for the workloads whose figure is a
 * whole process's wall time (start-up, the Linux boot): through the {@code ./hospes} launcher
 * when this process came from it, so that the measurement includes what a user's run includes
 * (the launcher script, the class-data-sharing archive); otherwise (a test under Maven, say)
 * with {@code java -cp} and this process's class path.
 *
 * @param prefix the command up to and including the CLI's main class (or the launcher)
 * @param env variables added to the environment
 * @param description what the report says was run
 * @param cdsArchive the launcher's class-data-sharing archive, or null without the launcher
 */
record HospesCommand(List<String> prefix, Map<String, String> env, String description,
    Path cdsArchive) {

  HospesCommand {
    prefix = List.copyOf(prefix);
    env = Map.copyOf(env);
  }

  /**
   * A note for the report when the launcher runs without its class-data-sharing archive: the
   * launcher writes it as the first run after a build exits, and until then (this bench's own
   * JVM may be that run) every launch goes without it and starts slower. Null otherwise.
   */
  String cdsNote() {
    if (cdsArchive == null) {
      return null;
    }
    if (Files.isRegularFile(cdsArchive)) {
      // As the launcher judges it: an archive is this java's only when it names this java.
      String dumpedBy = archiveJava(cdsArchive.resolveSibling("hospes-cds.jvm"));
      if (dumpedBy != null && sameFile(dumpedBy, thisJava())) {
        return null;
      }
      if (dumpedBy != null) {
        return "the launcher's class-data-sharing archive (" + cdsArchive + ") was made by another"
            + " java (" + dumpedBy + "), which this one (" + thisJava() + ") cannot map, so"
            + " these launches went without it; the next guest runs make it again for this java:"
            + " run the bench again for the usual figures.";
      }
    }
    return "the launcher has no class-data-sharing archive yet (" + cdsArchive + "; the first"
        + " guest run after a build lists its classes and the next launch builds the archive"
        + " from that list, perhaps during this bench), so these"
        + " launches went without it: run the bench again for the usual figures.";
  }

  /**
   * The java that the launcher recorded as the archive's maker ({@code hospes-cds.jvm}), or null
   * when it recorded none (an archive of an older launcher, which this one makes again).
   */
  private static String archiveJava(Path recorded) {
    try {
      String java = Files.readString(recorded).strip();
      return java.isEmpty() ? null : java;
    } catch (IOException e) {
      return null;
    }
  }

  private static String thisJava() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Whether two java paths are one file (the launcher records {@code /usr/bin/java}, say). */
  private static boolean sameFile(String a, String b) {
    try {
      return Path.of(a).toRealPath().equals(Path.of(b).toRealPath());
    } catch (IOException | RuntimeException e) {
      return a.equals(b);
    }
  }

  /** {@code prefix} followed by the CLI's arguments. */
  List<String> with(List<String> args) {
    List<String> c = new ArrayList<>(prefix);
    c.addAll(args);
    return c;
  }

  /**
   * The launcher {@code <root>/hospes} if this JVM runs from that tree's jar (as the launcher
   * starts it), with {@code HOSPES_NO_BUILD=1} (the jar is current: this process runs it);
   * otherwise {@code java -cp <this class path> org.hospes.dom0.cli.HospesCli}.
   */
  static HospesCommand current(Path root) {
    return of(root, System.getProperty("java.class.path", ""));
  }

  /** As {@link #current} for a JVM whose class path is {@code classPath}. */
  static HospesCommand of(Path root, String classPath) {
    Path launcher = root.resolve("hospes");
    String first = classPath.split(File.pathSeparator, 2)[0];
    Path target = root.resolve("dom0").resolve("target").toAbsolutePath().normalize();
    boolean fromLauncher = !first.isEmpty()
        && Path.of(first).toAbsolutePath().normalize().getParent() != null
        && Path.of(first).toAbsolutePath().normalize().getParent().equals(target)
        && Path.of(first).getFileName().toString().startsWith("hospes-dom0-");
    if (fromLauncher && Files.isRegularFile(launcher) && Files.isExecutable(launcher)) {
      return new HospesCommand(List.of(launcher.toString()), Map.of("HOSPES_NO_BUILD", "1"),
          "the " + launcher + " launcher", target.resolve("hospes-cds.jsa"));
    }
    return javaCommand(classPath);
  }

  /** {@code java -cp classPath org.hospes.dom0.cli.HospesCli}, with this process's JVM. */
  static HospesCommand javaCommand(String classPath) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new HospesCommand(List.of(java, "-cp", classPath, "org.hospes.dom0.cli.HospesCli"),
        Map.of(), "java -cp <this class path> (not the launcher: no class-data-sharing archive)",
        null);
  }
}
