package org.hospes.dom0.study;

/**
 * One run of a study: a workload in one mode with one set of parameters. Serializable: a
 * {@link StudyExecutor} may ship it to another JVM.
 */
public record RunSpec(int index, StudySpec.Workload workload, String mode, int ramMiB,
    String scheduler, String costModel, String engine, int repetition)
    implements java.io.Serializable {

  /** What the progress line and the summary call this run. */
  public String label() {
    return workload.name() + " " + mode + " ram=" + ramMiB + " sched=" + scheduler + " cost="
        + costModel + " engine=" + engine + " rep=" + repetition;
  }
}
