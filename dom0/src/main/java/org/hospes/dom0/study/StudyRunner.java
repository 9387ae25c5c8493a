package org.hospes.dom0.study;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import org.hospes.dom0.machine.ExitStatus;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.hospes.dom0.bench.KernelSources;
import org.hospes.x86.jit.Engine;

/**
 * Runs every run of a study, several at once on the host's cores (runs share nothing and
 * each is deterministic), and returns the records in the study's order, whatever order they
 * finished in. Progress goes to {@code progress}, one line per finished run.
 */
public final class StudyRunner {
  private final Path baseDir;
  private final int threads;
  private final PrintStream progress;
  /** Set by {@link #requestStop}: runs not yet started are skipped. */
  private volatile boolean stopRequested;

  /**
   * @param baseDir what kernel paths in the study are relative to
   * @param threads runs at once (at least 1)
   */
  public StudyRunner(Path baseDir, int threads, PrintStream progress) {
    this.baseDir = baseDir;
    this.threads = Math.max(1, threads);
    this.progress = progress;
  }

  /**
   * Asks the study to stop (Ctrl-C): runs not started yet are skipped, runs under way finish
   * (each is bounded and deterministic; a half run would be a record no one could compare), and
   * {@link #run} returns the finished ones.
   */
  public void requestStop() {
    stopRequested = true;
  }

  /** True once {@link #requestStop} was called. */
  public boolean stopRequested() {
    return stopRequested;
  }

  public List<RunRecord> run(StudySpec study) throws IOException, InterruptedException {
    return run(study, images(study));
  }

  /**
   * Each workload's kernel image by workload name, sample kernels and SDK programs
   * ({@link SdkWorkloads}) built first if needed.
   */
  public Map<String, byte[]> images(StudySpec study) throws IOException, InterruptedException {
    Map<String, byte[]> images = new HashMap<>();
    for (int i = 0; i < study.workloads().size(); i++) {
      StudySpec.Workload w = study.workloads().get(i);
      if (stopRequested) {
        break; // stopped while building: no run will start, so nothing more is built
      }
      try {
        if (w.isSdk()) {
          SdkWorkloads.build(w, baseDir, images, () -> stopRequested);
        } else {
          images.put(w.name(), Files.readAllBytes(kernel(w)));
        }
      } catch (IllegalArgumentException e) {
        // A kernel or SDK source the study names and that is not there: an error in the
        // study file as much as a bad value is, so it names the line of that key too.
        throw new IllegalArgumentException(study.origin(i, w.isSdk() ? "sdk" : "kernel")
            + e.getMessage(), e);
      }
    }
    return images;
  }

  /**
   * Runs the study on this host's threads with the kernel images given: every run's record in
   * the study's order, or after {@link #requestStop} those that finished.
   */
  public List<RunRecord> run(StudySpec study, Map<String, byte[]> images)
      throws InterruptedException {
    List<RunSpec> runs = study.runs();
    RunRecord[] out = new RunRecord[runs.size()];
    AtomicInteger done = new AtomicInteger();
    // The engine is chosen per processor from a system property when it is built, so runs
    // go engine by engine; within one engine they run in parallel.
    Map<String, List<RunSpec>> byEngine = new LinkedHashMap<>();
    for (RunSpec r : runs) {
      byEngine.computeIfAbsent(r.engine(), k -> new ArrayList<>()).add(r);
    }
    String saved = System.getProperty(Engine.PROPERTY);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (Map.Entry<String, List<RunSpec>> e : byEngine.entrySet()) {
        System.setProperty(Engine.PROPERTY, Engine.parse(e.getKey()).cliName());
        List<Future<RunRecord>> fs = new ArrayList<>();
        for (RunSpec r : e.getValue()) {
          fs.add(pool.submit(() -> {
            if (stopRequested) {
              return null;
            }
            RunRecord rec = StudyRun.run(r, SdkWorkloads.image(r, images),
                study.maxInstructions(r.workload()));
            int n = done.incrementAndGet();
            synchronized (progress) {
              progress.println(progressLine(n, runs.size(), rec));
              progress.flush();
            }
            return rec;
          }));
        }
        for (int i = 0; i < fs.size(); i++) {
          try {
            RunRecord rec = fs.get(i).get();
            if (rec != null) {
              out[rec.spec().index() - 1] = rec;
            }
          } catch (ExecutionException x) {
            throw new IllegalStateException("run " + e.getValue().get(i).label() + " failed: "
                + x.getCause(), x.getCause());
          }
        }
      }
    } finally {
      pool.shutdownNow();
      if (saved == null) {
        System.clearProperty(Engine.PROPERTY);
      } else {
        System.setProperty(Engine.PROPERTY, saved);
      }
    }
    return java.util.Arrays.stream(out).filter(java.util.Objects::nonNull).toList();
  }

  /**
   * The progress line of the {@code n}th finished run of {@code total}. A crashed run's says
   * what the guest wrote last: "shutdown: crash" alone left the user nothing to go on, as the
   * results keep no console.
   */
  public static String progressLine(int n, int total, RunRecord rec) {
    return String.format(Locale.ROOT, "study: [%d/%d] %s: %s%s%s%s", n, total, rec.spec().label(),
        rec.endReason(), rec.exitStatus() == ExitStatus.INSTRUCTION_LIMIT ? LIMIT_HINT : "",
        rec.exitStatus() == ExitStatus.GUEST_CRASHED && !rec.lastOutput().isEmpty()
            ? "; its last output: " + rec.lastOutput() : "",
        rec.hostMillis() > 0 ? String.format(Locale.ROOT, " (%.1f s host)",
            rec.hostMillis() / 1000.0) : "");
  }

  /**
   * What a run that reached its instruction limit adds to its progress line: which setting
   * stopped it. The limit alone read as a hang or a crash of the guest.
   */
  static final String LIMIT_HINT = "; raise the study's maxInstructions to let it finish";

  /**
   * The kernel file of a workload: a path (relative to the study file) if one exists, else a
   * sample kernel of samples/kernels built with the workload's make variables.
   */
  Path kernel(StudySpec.Workload w) throws IOException, InterruptedException {
    Path p = baseDir.resolve(w.kernel());
    if (Files.isRegularFile(p)) {
      return p;
    }
    if (w.io() != null) {
      throw new IllegalArgumentException("workload " + w.name() + ": Debian's kernel is not at "
          + p + " (samples/linux/fetch-debian-kernel.sh fetches it, or give kernel:)");
    }
    if (!w.kernel().matches("[A-Za-z0-9_-]+")) {
      throw new IllegalArgumentException("workload " + w.name() + ": kernel " + p
          + ": no such file");
    }
    Path root = KernelSources.findRoot();
    if (!Files.isRegularFile(KernelSources.kernelsDir(root).resolve(w.kernel() + ".c"))) {
      // Said before make runs, so the message is one line, not make's log.
      throw new IllegalArgumentException("workload " + w.name() + ": kernel " + w.kernel()
          + ": no file " + p + " and no sample kernel samples/kernels/" + w.kernel() + ".c");
    }
    StringBuilder dir = new StringBuilder("study");
    new java.util.TreeMap<>(w.make()).forEach((k, v) -> dir.append('-').append(k).append(v));
    Path build = KernelSources.kernelsDir(root).resolve("build").resolve(dir.toString());
    KernelSources.make(root, build, w.make(), List.of(w.kernel()));
    return KernelSources.elf(build, w.kernel());
  }
}
