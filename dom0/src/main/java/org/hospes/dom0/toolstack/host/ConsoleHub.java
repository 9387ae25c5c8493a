package org.hospes.dom0.toolstack.host;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * One domain's console on the host, as xenconsoled keeps it: the last {@value #HISTORY} bytes
 * the guest wrote (shown to whoever attaches, so a banner printed before the user attached is
 * not lost) and the consoles attached now. The guest writes on the host's run thread; each
 * attached console has its own writer thread, so a slow reader never holds the guest up (one
 * that falls {@value #MAX_BACKLOG} bytes behind is dropped).
 */
final class ConsoleHub extends OutputStream {
  static final int HISTORY = 64 * 1024;
  static final int MAX_BACKLOG = 1 << 20;

  private final byte[] history = new byte[HISTORY];
  private long written;
  private final List<Attached> attached = new ArrayList<>();
  private boolean closed;

  /** The guest wrote a byte (run thread). */
  @Override
  public synchronized void write(int b) {
    history[(int) (written++ % HISTORY)] = (byte) b;
    for (int i = attached.size() - 1; i >= 0; i--) {
      if (!attached.get(i).offer(b)) {
        attached.remove(i).end();
      }
    }
  }

  /** What the guest wrote, at most the last {@value #HISTORY} bytes. */
  synchronized byte[] history() {
    int n = (int) Math.min(written, HISTORY);
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      out[i] = history[(int) ((written - n + i) % HISTORY)];
    }
    return out;
  }

  /** Attaches a console writing to {@code sink}: the history first, then what comes. */
  synchronized Attached attach(OutputStream sink, String name, Runnable onEnd) {
    Attached a = new Attached(sink, name, onEnd);
    a.offer(history());
    if (closed) {
      a.end();
    } else {
      attached.add(a);
    }
    return a;
  }

  synchronized void detach(Attached a) {
    attached.remove(a);
    a.end();
  }

  /** The domain is gone: attached consoles end once they have written what is pending. */
  synchronized void end() {
    closed = true;
    for (Attached a : attached) {
      a.end();
    }
    attached.clear();
  }

  /** One attached console: bytes pending for it and the thread that writes them. */
  static final class Attached {
    private final OutputStream sink;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private final Thread writer;
    private final Runnable onEnd;
    private boolean ended;

    Attached(OutputStream sink, String name, Runnable onEnd) {
      this.sink = sink;
      this.onEnd = onEnd;
      this.writer = new Thread(this::pump, "hospes-console-" + name);
      writer.setDaemon(true);
      writer.start();
    }

    synchronized boolean offer(int b) {
      if (ended || pending.size() >= MAX_BACKLOG) {
        return false;
      }
      pending.write(b);
      notifyAll();
      return true;
    }

    synchronized void offer(byte[] b) {
      pending.write(b, 0, b.length);
      notifyAll();
    }

    synchronized void end() {
      ended = true;
      notifyAll();
    }

    /** Waits until everything pending is written and the console ended. */
    void await() throws InterruptedException {
      writer.join();
    }

    private void pump() {
      try {
        while (true) {
          byte[] chunk;
          boolean last;
          synchronized (this) {
            while (pending.size() == 0 && !ended) {
              wait();
            }
            chunk = pending.toByteArray();
            pending.reset();
            last = ended;
          }
          if (chunk.length > 0) {
            sink.write(chunk);
            sink.flush();
          }
          if (last) {
            break;
          }
        }
      } catch (IOException | InterruptedException e) {
        synchronized (this) {
          ended = true;
        }
      }
      onEnd.run();
    }
  }
}
