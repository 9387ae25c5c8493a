package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Machine memory tells only the processors that may have cached something about a frame: with a
 * thousand single-vCPU domains on one bus, a code write or a newly backed frame must not visit
 * a thousand processors.
 */
class MemoryBusNotificationTest {

  private static final class Recorder implements MemoryBus.CodeWriteListener {
    final List<String> calls = new ArrayList<>();

    @Override
    public void codeWritten(long pa, int len) {
      calls.add("written " + Long.toHexString(pa));
    }

    @Override
    public void codePageAdded(int page) {
      calls.add("added " + page);
    }

    @Override
    public void frameBacked(int frame) {
      calls.add("backed " + frame);
    }
  }

  @Test
  void onlyTheProcessorsThatCachedAFrameHearOfIt() {
    MemoryBus mem = new MemoryBus(1 << 20);
    List<Recorder> all = new ArrayList<>();
    int[] ids = new int[100];
    for (int i = 0; i < ids.length; i++) {
      Recorder r = new Recorder();
      all.add(r);
      ids[i] = mem.addCodeWriteListener(r);
    }
    mem.write32(5 << 12, 1);
    // Processor 7 holds a write TLB entry of frame 6; processor 9 starts caching code from it.
    mem.cachedBy(6, ids[7]);
    mem.codePageAdded(6, ids[9]);
    // Processor 7 writes frame 5 and caches code from it: nobody else is told.
    mem.cachedBy(5, ids[7]);
    mem.codePageAdded(5, ids[7]);
    // A write to that code page reaches processor 7 alone.
    mem.write32(5 << 12, 0x90909090);
    // A frame read as zeros by processor 3 reaches only 3 when it is backed.
    mem.cachedBy(40, ids[3]);
    mem.write8(40 << 12, 1);
    // A frame nobody cached tells nobody.
    mem.write8(41 << 12, 1);

    assertThat(all.get(7).calls).containsExactly("added 6", "written 5000");
    assertThat(all.get(3).calls).containsExactly("backed 40");
    for (int i = 0; i < all.size(); i++) {
      if (i != 3 && i != 7) {
        assertThat(all.get(i).calls).as("processor %d", i).isEmpty();
      }
    }
  }

  @Test
  void aFrameSeveralProcessorsCachedIsToldToAll() {
    MemoryBus mem = new MemoryBus(1 << 20);
    Recorder a = new Recorder();
    Recorder b = new Recorder();
    Recorder c = new Recorder();
    int ia = mem.addCodeWriteListener(a);
    int ib = mem.addCodeWriteListener(b);
    mem.addCodeWriteListener(c);
    mem.cachedBy(12, ia);
    mem.cachedBy(12, ib);
    mem.write8(12 << 12, 1);
    // Who shares a frame is not tracked beyond "several": everyone hears, none is missed.
    assertThat(a.calls).containsExactly("backed 12");
    assertThat(b.calls).containsExactly("backed 12");
    assertThat(c.calls).containsExactly("backed 12");
  }

  @Test
  void aRemovedProcessorHearsNothingAndItsIdIsReused() {
    MemoryBus mem = new MemoryBus(1 << 20);
    Recorder gone = new Recorder();
    int id = mem.addCodeWriteListener(gone);
    mem.cachedBy(8, id);
    mem.removeCodeWriteListener(id);
    assertThat(mem.listenerCount()).isZero();
    mem.write8(8 << 12, 1);
    assertThat(gone.calls).isEmpty();
    Recorder next = new Recorder();
    assertThat(mem.addCodeWriteListener(next)).isEqualTo(id);
  }
}
