package org.hospes.study.spark;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.CollectionAccumulator;
import org.hospes.dom0.study.RunRecord;
import org.hospes.dom0.study.RunSpec;
import org.hospes.dom0.study.StudyExecutor;
import org.hospes.dom0.study.StudyRun;
import org.hospes.dom0.study.StudySpec;
import org.hospes.x86.jit.Engine;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Runs a study's runs as Spark tasks, one task per run, so that a study that outgrows one host
 * goes to a cluster ({@code spark://...}) with no distribution code of our own; {@code local[*]}
 * uses this host's cores. The kernel images travel as a broadcast variable; each task runs
 * {@link StudyRun#run(RunSpec, byte[], long)}, which is deterministic, and the records come
 * back in the study's order, so the results directory is the same as a local run's.
 *
 * <p>The processor's engine (interpreter or translator) is chosen from a system property when
 * a processor is built, so runs go to Spark one engine at a time, each task setting the
 * property of its job's engine: two engines never share an executor JVM at once.
 *
 * <p>Ctrl-C ({@link #requestStop}) stops it as it stops a local study: the runs not started
 * are skipped and the finished ones returned, also while Spark is still starting.
 */
public final class SparkStudyExecutor implements StudyExecutor {

  @Override
  public String name() {
    return "spark";
  }

  /**
   * The tokens of the studies asked to stop. A task reads it before its run: with a local
   * master the executors are threads of this JVM and see it, so the runs not started are
   * skipped and the runs under way finish, as on this JVM's own threads. Executors in other
   * JVMs (a cluster) cannot see it; there the jobs are cancelled.
   */
  private static final Set<String> STOPPED = ConcurrentHashMap.newKeySet();

  private final String token = UUID.randomUUID().toString();
  private volatile boolean stopRequested;
  private volatile JavaSparkContext context;

  @Override
  public void requestStop() {
    stopRequested = true;
    STOPPED.add(token);
    JavaSparkContext sc = context;
    if (sc != null && !sc.isLocal()) {
      sc.cancelAllJobs();
    }
  }

  @Override
  public List<RunRecord> run(StudySpec study, Map<String, byte[]> images, String master,
      PrintStream progress) throws Exception {
    List<RunSpec> runs = study.runs();
    Map<String, List<RunSpec>> byEngine = new LinkedHashMap<>();
    for (RunSpec r : runs) {
      byEngine.computeIfAbsent(r.engine(), k -> new ArrayList<>()).add(r);
    }
    SparkConf conf = new SparkConf().setAppName("hospes study " + study.name())
        .set("spark.ui.enabled", "false");
    if (master != null) {
      conf.setMaster(master);
    } else {
      conf.setIfMissing("spark.master", "local[*]");
    }
    if (stopRequested) {
      return List.of();
    }
    // Spark takes seconds to start and says nothing meanwhile: a silent pause looked hung.
    synchronized (progress) {
      progress.println("study: starting Spark (" + conf.get("spark.master") + ")");
      progress.flush();
    }
    String saved = System.getProperty(Engine.PROPERTY);
    // By run index: the study's order whatever order the tasks ended in.
    Map<Integer, RunRecord> finished = new TreeMap<>();
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      context = sc;
      if (stopRequested) {
        // Stopped while Spark started (the constructor cannot be cut short): no run starts.
        return List.of();
      }
      // Each run's record also goes here, so that the runs finished before a cancelled job
      // are kept, and the progress line is said only for a task that ran its run.
      CollectionAccumulator<RunRecord> ran = sc.sc().collectionAccumulator("hospes runs");
      long ranId = ran.id();
      AtomicInteger done = new AtomicInteger();
      sc.sc().addSparkListener(new SparkListener() {
        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
          if (end.taskInfo().successful() && CollectionConverters.asJava(
              end.taskInfo().accumulables()).stream().anyMatch(a -> a.id() == ranId)) {
            synchronized (progress) {
              progress.printf("study: [%d/%d] finished on Spark (%s)%n", done.incrementAndGet(),
                  runs.size(), end.taskInfo().host());
              progress.flush();
            }
          }
        }
      });
      Broadcast<HashMap<String, byte[]>> shared = sc.broadcast(new HashMap<>(images));
      Long max = study.maxInstructions(); // null: each workload's default
      String stopToken = token;
      for (Map.Entry<String, List<RunSpec>> e : byEngine.entrySet()) {
        if (stopRequested) {
          break;
        }
        String engine = Engine.parse(e.getKey()).cliName();
        List<RunRecord> got;
        try {
          got = sc.parallelize(e.getValue(), e.getValue().size())
              .map(spec -> runOne(spec, engine, shared.value(), max, stopToken, ran)).collect();
        } catch (Exception x) {
          if (!stopRequested) {
            throw x;
          }
          // Cancelled by the stop (a cluster's executors): the runs that finished are kept.
          got = List.copyOf(ran.value());
        }
        for (RunRecord r : got) {
          if (r != null) { // null: a run skipped after the stop
            finished.put(r.spec().index(), r);
          }
        }
      }
    } finally {
      context = null;
      STOPPED.remove(token);
      if (saved == null) {
        System.clearProperty(Engine.PROPERTY);
      } else {
        System.setProperty(Engine.PROPERTY, saved);
      }
    }
    return List.copyOf(finished.values());
  }

  /**
   * One task: on an executor, in whatever JVM Spark gave it. Null, having run nothing, once
   * the study was asked to stop (seen only in the driver's JVM: a local master).
   */
  private static RunRecord runOne(RunSpec spec, String engine, Map<String, byte[]> images,
      Long max, String stopToken, CollectionAccumulator<RunRecord> ran) {
    if (STOPPED.contains(stopToken)) {
      return null;
    }
    System.setProperty(Engine.PROPERTY, engine);
    RunRecord r = StudyRun.run(spec, org.hospes.dom0.study.SdkWorkloads.image(spec, images),
        org.hospes.dom0.study.StudySpec.maxInstructions(max, spec.workload()));
    ran.add(r);
    return r;
  }
}
