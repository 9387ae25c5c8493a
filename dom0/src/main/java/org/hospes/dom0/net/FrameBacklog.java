package org.hospes.dom0.net;

import java.util.Objects;

/**
 * The frames an emulated NIC holds while its driver has posted no receive buffer: a NIC's
 * packet FIFO, a fixed number of frames in arrival order. A frame arriving with the backlog
 * empty goes straight to the receiver; otherwise it waits behind the others (order is kept),
 * and when the backlog is full it is dropped. The driver posting buffers {@link #drain}s it.
 *
 * <p>Each slot's buffer is kept and reused, so steady traffic allocates nothing: a slot grows
 * only for a frame larger than any it held before.
 */
public final class FrameBacklog {
  /** What {@link #offer} did with a frame. */
  public enum Outcome {
    /** The receiver took it at once. */
    RECEIVED,
    /** It waits in the backlog. */
    QUEUED,
    /** The backlog was full: the frame is lost. */
    DROPPED
  }

  /** Writes one frame into the guest's buffers; false when the guest has posted none. */
  @FunctionalInterface
  public interface Receiver {
    boolean receive(byte[] frame, int offset, int length);
  }

  /** A slot's first buffer: an Ethernet frame with a VLAN tag and the FCS, rounded up. */
  private static final int MIN_SLOT = 1536;

  private final Receiver receiver;
  private final byte[][] frames;
  private final int[] lengths;
  private int head;
  private int count;

  public FrameBacklog(int capacity, Receiver receiver) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity " + capacity);
    }
    this.receiver = Objects.requireNonNull(receiver);
    this.frames = new byte[capacity][];
    this.lengths = new int[capacity];
  }

  /**
   * Hands the frame to the receiver if nothing is waiting and it takes it; else queues a copy,
   * or drops it when full. What the receiver throws goes to the caller (nothing is queued).
   */
  public Outcome offer(byte[] frame, int offset, int length) {
    if (count == 0 && receiver.receive(frame, offset, length)) {
      return Outcome.RECEIVED;
    }
    if (count == frames.length) {
      return Outcome.DROPPED;
    }
    int slot = (head + count) % frames.length;
    if (frames[slot] == null || frames[slot].length < length) {
      frames[slot] = new byte[Math.max(length, MIN_SLOT)];
    }
    System.arraycopy(frame, offset, frames[slot], 0, length);
    lengths[slot] = length;
    count++;
    return Outcome.QUEUED;
  }

  /**
   * Gives the waiting frames to the receiver, oldest first, until it takes no more.
   *
   * @return how many it took
   */
  public int drain() {
    int taken = 0;
    while (count > 0 && receiver.receive(frames[head], 0, lengths[head])) {
      head = (head + 1) % frames.length;
      count--;
      taken++;
    }
    return taken;
  }

  /** Forgets every waiting frame (a reset, an unplug). */
  public void clear() {
    count = 0;
    head = 0;
  }

  public int size() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }
}
