package org.hospes.dom0.study;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * Runs a study's runs somewhere other than this JVM's threads: the seam for the optional Apache
 * Spark module ({@code study-spark}), found with {@link java.util.ServiceLoader} when its jars
 * are on the class path. Runs are independent and deterministic, so an executor only has to
 * run {@link StudyRun#run(RunSpec, byte[], long)} for each and give the records back in the
 * study's order: the results are then identical to {@link StudyRunner}'s.
 */
public interface StudyExecutor {

  /** What {@code --spark}-like options call it ("spark"). */
  String name();

  /**
   * Runs every run of {@code study}.
   *
   * @param images each workload's kernel image by workload name
   * @param master where to run (for Spark a master URL such as {@code local[*]})
   * @param progress one line per finished run
   */
  List<RunRecord> run(StudySpec study, Map<String, byte[]> images, String master,
      PrintStream progress) throws Exception;

  /**
   * Asks a {@link #run} under way, from another thread (Ctrl-C's handler), to stop: runs not
   * started are skipped, and {@code run} returns the finished ones, as {@link
   * StudyRunner#requestStop} does. Also before {@code run} has got going (Spark takes seconds
   * to start): it then returns at once with none. An executor that cannot stop runs all.
   */
  default void requestStop() {
  }
}
