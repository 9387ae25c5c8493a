package org.hospes.hv.time;

import java.util.Arrays;
import org.hospes.abi.VcpuOp;

/**
 * One vCPU's runstate accounting (vcpu_runstate_info): the current state, when it was entered,
 * and the time spent in each state so far, in Xen system time (virtual ns). The hypervisor moves
 * it at every schedule; a guest reads it through VCPUOP_get_runstate_info or an area it
 * registered (Linux's steal-time accounting needs one).
 */
public final class Runstate {
  public static final int RUNNING = 0;
  public static final int RUNNABLE = 1;
  public static final int BLOCKED = 2;
  public static final int OFFLINE = 3;

  /** Xen's vcpu_create: a guest's vCPU starts RUNSTATE_offline (its domain is paused). */
  private int state = OFFLINE;
  private long entryTime;
  private final long[] time = new long[4];
  /** Guest-virtual address of the registered runstate area, or 0. */
  private int areaVa;

  /**
   * A new vCPU: in {@code initial} from {@code now} (Xen's vcpu_create sets the state and
   * state_entry_time = NOW()), with no time in any state before it existed.
   */
  public void start(int initial, long now) {
    state = initial;
    entryTime = now;
    Arrays.fill(time, 0);
  }

  public void transition(int newState, long now) {
    if (newState == state) {
      return;
    }
    time[state] += Math.max(0, now - entryTime);
    state = newState;
    entryTime = now;
  }

  /** When the current state was entered. */
  public long entryTime() {
    return entryTime;
  }

  public int state() {
    return state;
  }

  public long timeIn(int s, long now) {
    return time[s] + (s == state ? Math.max(0, now - entryTime) : 0);
  }

  public int areaVa() {
    return areaVa;
  }

  public void setAreaVa(int va) {
    this.areaVa = va;
  }

  /** The vcpu_runstate_info image (x86_32, 44 bytes) as of {@code now}. */
  public byte[] image(long now) {
    byte[] b = new byte[VcpuOp.RUNSTATE_INFO_SIZE];
    putLe32(b, VcpuOp.RUNSTATE_STATE, state);
    putLe64(b, VcpuOp.RUNSTATE_ENTRY_TIME, entryTime);
    for (int s = 0; s < 4; s++) {
      // time[] counts completed periods; the current state's time runs up to entryTime.
      putLe64(b, VcpuOp.RUNSTATE_TIME + 8 * s, time[s]);
    }
    return b;
  }

  private static void putLe32(byte[] b, int off, int v) {
    for (int k = 0; k < 4; k++) {
      b[off + k] = (byte) (v >>> (8 * k));
    }
  }

  private static void putLe64(byte[] b, int off, long v) {
    for (int k = 0; k < 8; k++) {
      b[off + k] = (byte) (v >>> (8 * k));
    }
  }
}
