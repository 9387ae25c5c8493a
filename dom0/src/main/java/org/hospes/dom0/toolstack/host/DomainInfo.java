package org.hospes.dom0.toolstack.host;

/**
 * One domain as the host reports it to {@code list}, {@code top} and {@code sched-credit}: raw
 * counts since the domain was built (clients take differences for rates).
 *
 * @param state xl's six state letters, e.g. {@code "r-----"} or {@code "-b----"}
 * @param mode hvm, hvm-shadow, pvh, or "dom0"
 * @param runningCycles virtual time the domain's vCPUs spent running (1 GHz clock: ns)
 * @param events event-channel upcalls delivered to it
 */
public record DomainInfo(String name, int domid, long memKiB, int vcpus, String state,
    String mode, int weight, int cap, long runningCycles, long instructions, long hypercalls,
    long events, long exits) {

  /** CPU time in seconds, as xl list's Time(s). */
  public double cpuSeconds() {
    return runningCycles / 1e9;
  }
}
