package org.hospes.dom0.backend.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import org.hospes.hv.testing.TestProperties;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.memory.GuestMemory;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;

/**
 * A hostile guest on its PV console ring: 100,000 steps of well-formed writes, writes that
 * overrun the ring, out_prod and out_cons moved anywhere (far ahead, backwards, across 2^32),
 * random bytes anywhere in the page, and dom0's input into in[] behind indices the guest moved.
 * After each notification the backend's output must be exactly what xenconsoled would take:
 * out[out_cons .. out_prod) when that is at most a ring's worth, with out_cons advanced, and
 * nothing at all (the page untouched) otherwise; never more than 2048 bytes. Input may touch
 * only in[] and in_prod, and only as much as the guest's indices leave room for. A second
 * guest's console prints exactly what it wrote, and dom0 never fails. The seed and the step are
 * printed on failure.
 */
class ConsoleRingFuzzTest {
  private static final long SEED = TestProperties.longValue("hospes.consfuzz.seed", 0x5EED_C0DEL);
  private static final int STEPS = TestProperties.count("hospes.consfuzz.steps", 100_000);
  private static final long RING = 0x10L << 12;

  private final Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(),
      new DefaultCostModel());
  private Random rnd;
  private int step;
  private String what = "";

  private static final class Console {
    final Domain d;
    final int port;
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ConsoleBackend backend;

    Console(Hypervisor hv, String name) {
      d = hv.createHvmDomain(name, DomainMode.PVH, 4);
      port = hv.control().allocUnboundFor(d.domid(), 0);
      backend = ConsoleBackend.connect(hv.control(), d.domid(), RING >>> 12, port, out,
          hv.costModel());
    }

    GuestMemory mem() {
      return d.memory();
    }

    int r32(int off) {
      return mem().read32(RING + off);
    }

    void w32(int off, int v) {
      mem().write32(RING + off, v);
    }

    byte[] page() {
      byte[] p = new byte[4096];
      mem().read(RING, p, 0, p.length);
      return p;
    }
  }

  @Test
  void aHostileConsoleRingGetsXenconsoledsAnswerAndNoMore() {
    long t0 = System.nanoTime();
    try {
      run();
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("ConsoleRingFuzzTest seed 0x" + Long.toHexString(SEED)
          + ", step " + step + " (" + what + "): " + e.getMessage(), e);
    }
    System.out.printf("console fuzz: %d steps in %.1f s%n", STEPS,
        (System.nanoTime() - t0) / 1e9);
  }

  private void run() {
    rnd = new Random(SEED);
    Console bad = new Console(hv, "hostile");
    Console good = new Console(hv, "bystander");
    ByteArrayOutputStream goodWrote = new ByteArrayOutputStream();
    bad.w32(ConsoleBackend.OUT_CONS, -1000);
    bad.w32(ConsoleBackend.OUT_PROD, -1000);
    int valid = 0;
    int broken = 0;
    int inputs = 0;
    for (step = 0; step < STEPS; step++) {
      switch (rnd.nextInt(12)) {
        case 0, 1, 2 -> {
          // A write as a driver makes it, perhaps more than there is room for.
          int n = rnd.nextInt(10) == 0 ? rnd.nextInt(5000) : rnd.nextInt(200);
          what = "write of " + n;
          int prod = bad.r32(ConsoleBackend.OUT_PROD);
          for (int i = 0; i < n; i++) {
            bad.mem().write8(RING + ConsoleBackend.OUT
                + (prod + i & ConsoleBackend.OUT_SIZE - 1), rnd.nextInt(256));
          }
          bad.w32(ConsoleBackend.OUT_PROD, prod + n);
        }
        case 3 -> {
          int cons = bad.r32(ConsoleBackend.OUT_CONS);
          int p = switch (rnd.nextInt(4)) {
            case 0 -> cons + rnd.nextInt(ConsoleBackend.OUT_SIZE + 1);
            case 1 -> cons + ConsoleBackend.OUT_SIZE + 1 + rnd.nextInt(1 << 30);
            case 2 -> cons - 1 - rnd.nextInt(5000);
            default -> rnd.nextInt();
          };
          what = "out_prod moved to " + Integer.toUnsignedString(p);
          bad.w32(ConsoleBackend.OUT_PROD, p);
        }
        case 4 -> {
          int c = rnd.nextBoolean() ? rnd.nextInt() : bad.r32(ConsoleBackend.OUT_PROD)
              - rnd.nextInt(3000);
          what = "out_cons moved to " + Integer.toUnsignedString(c);
          bad.w32(ConsoleBackend.OUT_CONS, c);
        }
        case 5 -> {
          byte[] junk = new byte[1 + rnd.nextInt(64)];
          rnd.nextBytes(junk);
          int at = rnd.nextInt(4096 - junk.length + 1);
          what = junk.length + " random bytes at " + at;
          bad.mem().write(RING + at, junk, 0, junk.length);
        }
        case 6 -> {
          what = "indices mended";
          bad.w32(ConsoleBackend.OUT_CONS, bad.r32(ConsoleBackend.OUT_PROD));
        }
        case 7 -> {
          inputs++;
          input(bad);
          continue;
        }
        default -> {
          what = "notification";
        }
      }
      if (rnd.nextInt(4) != 0) {
        switch (notifyAndCheck(bad)) {
          case 1 -> valid++;
          case 2 -> broken++;
          default -> { }
        }
      }
      if (rnd.nextInt(8) == 0) {
        byte[] line = ("line " + step + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        goodWrote.write(line, 0, line.length);
        int prod = good.r32(ConsoleBackend.OUT_PROD);
        for (byte x : line) {
          good.mem().write8(RING + ConsoleBackend.OUT + (prod++ & ConsoleBackend.OUT_SIZE - 1),
              x);
        }
        good.w32(ConsoleBackend.OUT_PROD, prod);
        good.d.eventChannels().send(good.port);
        hv.control().serve(hv.now());
      }
    }
    assertThat(good.out.toByteArray()).isEqualTo(goodWrote.toByteArray());
    assertThat(hv.control().handlerFailures()).as(hv.control().lastHandlerFailure()).isZero();
    assertThat(valid).isGreaterThan(STEPS / 10);
    assertThat(broken).isGreaterThan(STEPS / 20);
    assertThat(inputs).isGreaterThan(STEPS / 20);
    assertThat(bad.backend.badIndices()).isPositive();
  }

  /**
   * Notifies the backend and checks what it took; returns 0 if there was nothing to take, 1 if
   * it took something, 2 if the indices were broken.
   */
  private int notifyAndCheck(Console c) {
    byte[] before = c.page();
    int cons = c.r32(ConsoleBackend.OUT_CONS);
    int prod = c.r32(ConsoleBackend.OUT_PROD);
    int n = prod - cons;
    boolean good = n > 0 && n <= ConsoleBackend.OUT_SIZE;
    assertThat(c.backend.outputPending()).as("output pending").isEqualTo(good);
    c.out.reset();
    c.d.eventChannels().send(c.port);
    hv.control().serve(hv.now());
    byte[] printed = c.out.toByteArray();
    byte[] after = c.page();
    if (good) {
      byte[] expect = new byte[n];
      for (int i = 0; i < n; i++) {
        expect[i] = before[ConsoleBackend.OUT + (cons + i & ConsoleBackend.OUT_SIZE - 1)];
      }
      assertThat(printed).as("printed").isEqualTo(expect);
      assertThat(c.r32(ConsoleBackend.OUT_CONS)).as("out_cons").isEqualTo(prod);
      // Nothing else in the page changed.
      System.arraycopy(before, ConsoleBackend.OUT_CONS, after, ConsoleBackend.OUT_CONS, 4);
    } else {
      assertThat(printed).as("printed from a broken ring").isEmpty();
    }
    assertThat(Arrays.mismatch(after, before)).as("page changed at").isEqualTo(-1);
    assertThat(c.backend.outputPending()).isFalse();
    return n == 0 ? 0 : good ? 1 : 2;
  }

  /** dom0 types into the guest's in[]: only as much as fits, only in[] and in_prod change. */
  private void input(Console c) {
    byte[] data = new byte[rnd.nextInt(3000)];
    rnd.nextBytes(data);
    if (rnd.nextInt(3) == 0) {
      c.w32(ConsoleBackend.IN_PROD, rnd.nextBoolean() ? rnd.nextInt()
          : c.r32(ConsoleBackend.IN_CONS) + rnd.nextInt(ConsoleBackend.IN_SIZE + 1));
    }
    if (rnd.nextInt(3) == 0) {
      c.w32(ConsoleBackend.IN_CONS, rnd.nextBoolean() ? rnd.nextInt()
          : c.r32(ConsoleBackend.IN_PROD) - rnd.nextInt(ConsoleBackend.IN_SIZE + 1));
    }
    int cons = c.r32(ConsoleBackend.IN_CONS);
    int prod = c.r32(ConsoleBackend.IN_PROD);
    int used = prod - cons;
    what = "input of " + data.length + " with in indices " + Integer.toUnsignedString(cons) + "/"
        + Integer.toUnsignedString(prod);
    byte[] before = c.page();
    int took = c.backend.input(data);
    byte[] after = c.page();
    int room = used < 0 || used > ConsoleBackend.IN_SIZE ? 0 : ConsoleBackend.IN_SIZE - used;
    assertThat(took).as("bytes taken").isEqualTo(Math.min(room, data.length));
    for (int i = 0; i < took; i++) {
      int at = ConsoleBackend.IN + (prod + i & ConsoleBackend.IN_SIZE - 1);
      assertThat(after[at]).isEqualTo(data[i]);
      after[at] = before[at];
    }
    if (took > 0 || room > 0) {
      assertThat(c.r32(ConsoleBackend.IN_PROD)).isEqualTo(prod + took);
      System.arraycopy(before, ConsoleBackend.IN_PROD, after, ConsoleBackend.IN_PROD, 4);
    }
    assertThat(Arrays.mismatch(after, before)).as("page changed at").isEqualTo(-1);
    hv.control().serve(hv.now());
  }
}
