package org.hospes.hv.domain;

/** Scheduling state of a vCPU (Xen's runstates). */
public enum VcpuState {
  RUNNABLE,
  RUNNING,
  BLOCKED,
  OFFLINE
}
