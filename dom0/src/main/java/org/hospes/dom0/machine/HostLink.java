package org.hospes.dom0.machine;

/**
 * What the host does between run slices, on the run thread: pass the user's input to the guest
 * and say when the run must end from outside (a signal, the escape key, stdout gone). Slices end
 * at instruction boundaries, so a run stopped here is stopped cleanly and its counters are whole.
 */
public interface HostLink {

  /** A link with no input that never stops a run. */
  HostLink NONE = new HostLink() {
    @Override
    public String afterSlice() {
      return null;
    }
  };

  /**
   * Called after every slice: delivers input that arrived since the last call.
   *
   * @return null to go on, or a short reason the run must stop now ("interrupted by a signal")
   */
  String afterSlice();

  /**
   * The guest is idle and nothing inside the machine can wake it. Blocks until host input has
   * been delivered to the guest (true: run on) or no input can come any more (false: the guest
   * halted for good). A stop request also returns true, so the next {@link #afterSlice} ends it.
   */
  default boolean awaitInput() {
    return false;
  }

  /**
   * The exit status of a run this link stopped: 128 plus the signal's number when a signal
   * stopped it (130 for SIGINT, 143 for SIGTERM, as a shell reports a process the signal
   * killed), otherwise {@link ExitStatus#STOPPED}.
   */
  default int stopStatus() {
    return ExitStatus.STOPPED;
  }
}
