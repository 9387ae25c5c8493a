package org.hospes.study.spark;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.hospes.dom0.study.RunRecord;
import org.hospes.dom0.study.RunSpec;
import org.hospes.dom0.study.StudyExecutor;
import org.hospes.dom0.study.StudyRun;
import org.hospes.dom0.study.StudySpec;
import org.hospes.x86.jit.Engine;

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
 */
public final class SparkStudyExecutor implements StudyExecutor {

  @Override
  public String name() {
    return "spark";
  }

  @Override
  public List<RunRecord> run(StudySpec study, Map<String, byte[]> images, String master,
      PrintStream progress) {
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
    String saved = System.getProperty(Engine.PROPERTY);
    RunRecord[] out = new RunRecord[runs.size()];
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      AtomicInteger done = new AtomicInteger();
      sc.sc().addSparkListener(new SparkListener() {
        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
          if (end.taskInfo().successful()) {
            synchronized (progress) {
              progress.printf("study: [%d/%d] finished on Spark (%s)%n", done.incrementAndGet(),
                  runs.size(), end.taskInfo().host());
              progress.flush();
            }
          }
        }
      });
      Broadcast<HashMap<String, byte[]>> shared = sc.broadcast(new HashMap<>(images));
      long max = study.maxInstructions();
      for (Map.Entry<String, List<RunSpec>> e : byEngine.entrySet()) {
        String engine = Engine.parse(e.getKey()).cliName();
        List<RunRecord> got = sc.parallelize(e.getValue(), e.getValue().size())
            .map(spec -> runOne(spec, engine, shared.value(), max)).collect();
        for (RunRecord r : got) {
          out[r.spec().index() - 1] = r;
        }
      }
    } finally {
      if (saved == null) {
        System.clearProperty(Engine.PROPERTY);
      } else {
        System.setProperty(Engine.PROPERTY, saved);
      }
    }
    return List.of(out);
  }

  /** One task: on an executor, in whatever JVM Spark gave it. */
  private static RunRecord runOne(RunSpec spec, String engine, Map<String, byte[]> images,
      long max) {
    System.setProperty(Engine.PROPERTY, engine);
    return StudyRun.run(spec, org.hospes.dom0.study.SdkWorkloads.image(spec, images), max);
  }
}
