package org.hospes.dom0.backend.console;

import java.io.IOException;
import java.io.OutputStream;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.ForeignPage;
import org.hospes.hv.cost.CostModel;

/**
 * dom0's backend of a guest's PV console (public/io/console.h, xencons_interface): the guest
 * writes into out[2048] and advances out_prod; on each event the backend copies out[out_cons ..
 * out_prod) to its OutputStream and advances out_cons. Input (in[1024]) can be queued with
 * {@link #input}. Indices that cannot be right (more than a ring's worth between them, or the
 * producer behind the consumer) are left alone and nothing is copied, as xenconsoled's
 * buffer_append does, until the guest puts them right: a guest that breaks its ring loses its
 * own output, never dom0's stability, and never makes dom0 print what it did not write.
 *
 * <p>out[] is copied in chunks of {@value #CHUNK} bytes. dom0's vCPU is preempted at its next
 * scheduling point whatever it runs, so when its slice ends between two chunks (after at least
 * one in that leg) the backend stops there ({@link DomainControl#preemptionDue}): it writes what
 * it copied, moves out_cons past it and notifies the guest, which may then write more; the rest
 * is copied first in dom0's next slice ({@link DomainControl#continueLater}) from that out_cons,
 * so no byte is printed twice or lost. That leg's notification is one more hypercall.
 */
public final class ConsoleBackend {
  public static final int IN = 0;
  public static final int IN_SIZE = 1024;
  public static final int OUT = 1024;
  public static final int OUT_SIZE = 2048;
  public static final int IN_CONS = 3072;
  public static final int IN_PROD = 3076;
  public static final int OUT_CONS = 3080;
  public static final int OUT_PROD = 3084;
  /** The bytes of out[] copied between two chances of preemption: a quarter of the ring. */
  public static final int CHUNK = 512;

  private final DomainControl control;
  private final ForeignPage page;
  private final int localPort;
  private final OutputStream sink;
  private final CostModel cost;
  private long bytes;
  private long badIndices;
  private long preemptions;

  private ConsoleBackend(DomainControl control, ForeignPage page, int localPort,
      OutputStream sink, CostModel cost) {
    this.control = control;
    this.page = page;
    this.localPort = localPort;
    this.sink = sink;
    this.cost = cost;
  }

  /** Maps the guest's console page, binds to its console port and listens for its events. */
  public static ConsoleBackend connect(DomainControl control, int domid, long gfn, int port,
      OutputStream sink, CostModel cost) {
    ForeignPage page = control.mapForeign(domid, gfn);
    int local = control.channels().bindInterdomain(domid, port);
    if (local < 0) {
      page.unmap();
      throw new IllegalArgumentException("cannot bind console port " + port + ": " + local);
    }
    ConsoleBackend b = new ConsoleBackend(control, page, local, sink, cost);
    control.listen(local, (p, now) -> b.drain());
    // That domain's death alone, and then forgotten (not a watcher dom0 keeps for good).
    control.onDeathOf(domid, () -> {
      if (page.isMapped()) {
        b.copyOut(0, false); // all of it: the ring goes away with the domain
        b.disconnect();
      }
    });
    return b;
  }

  /** Bytes copied out of the ring so far. */
  public long bytes() {
    return bytes;
  }

  public long badIndices() {
    return badIndices;
  }

  /** Times dom0's slice ended between two chunks and the rest waited for its next slice. */
  public long preemptions() {
    return preemptions;
  }

  /** Copies what the guest produced; returns modelled cycles. */
  public long drain() {
    if (!page.isMapped()) {
      return 0;
    }
    return copyOut(cost.hypercall(), true);
  }

  /**
   * Copies out[out_cons .. out_prod) to the sink, {@value #CHUNK} bytes at a time; with {@code
   * preemptible}, stops between two chunks when dom0's slice has ended and leaves the rest to
   * a continuation. {@code spent}: the leg's cycles so far. Returns the leg's cycles.
   */
  private long copyOut(long spent, boolean preemptible) {
    int cons = page.read32(OUT_CONS);
    int prod = page.read32(OUT_PROD);
    int n = prod - cons;
    if (n == 0) {
      return spent;
    }
    if (n < 0 || n > OUT_SIZE) {
      badIndices++;
      return spent;
    }
    byte[] buf = new byte[n];
    int done = 0;
    while (done < n) {
      if (preemptible && done > 0 && control.preemptionDue(spent + done)) {
        break;
      }
      int end = Math.min(n, done + CHUNK);
      for (int i = done; i < end; i++) {
        buf[i] = (byte) page.read8(OUT + ((cons + i) & (OUT_SIZE - 1)));
      }
      done = end;
    }
    page.write32(OUT_CONS, cons + done);
    bytes += done;
    try {
      sink.write(buf, 0, done);
      sink.flush();
    } catch (IOException e) {
      // The host side went away; the guest keeps running with its output dropped.
    }
    control.channels().send(localPort);
    if (done < n) {
      preemptions++;
      // The next leg notifies the guest again: one more hypercall.
      control.continueLater(now -> page.isMapped() ? copyOut(cost.hypercall(), true) : 0);
    }
    return spent + done;
  }

  /**
   * True while the guest has written to out[] what the backend would copy: not while its
   * indices are broken, which nothing will copy until the guest mends them.
   */
  public boolean outputPending() {
    if (!page.isMapped()) {
      return false;
    }
    int n = page.read32(OUT_PROD) - page.read32(OUT_CONS);
    return n > 0 && n <= OUT_SIZE;
  }

  /**
   * Queues input for the guest (as far as in[] has room) and signals its console port; returns
   * the bytes accepted (0 once the guest is gone).
   */
  public int input(byte[] data) {
    if (!page.isMapped()) {
      return 0;
    }
    int cons = page.read32(IN_CONS);
    int prod = page.read32(IN_PROD);
    int used = prod - cons;
    if (used < 0 || used > IN_SIZE) {
      badIndices++;
      return 0;
    }
    int n = Math.min(IN_SIZE - used, data.length);
    for (int i = 0; i < n; i++) {
      page.write8(IN + ((prod + i) & (IN_SIZE - 1)), data[i]);
    }
    page.write32(IN_PROD, prod + n);
    control.channels().send(localPort);
    return n;
  }

  public void disconnect() {
    control.unlisten(localPort);
    control.channels().close(localPort);
    page.unmap();
  }
}
