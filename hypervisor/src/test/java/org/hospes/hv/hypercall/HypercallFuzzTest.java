package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.hospes.abi.ControlOp;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.HvmOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.MemoryOp;
import org.hospes.abi.Multicall;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.SchedOp;
import org.hospes.abi.VcpuOp;
import org.hospes.abi.XenErrno;
import org.hospes.abi.XenVersion;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.hypercall.FuzzAttacker.Kind;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.memory.P2m;
import org.hospes.hv.pv.PageType;
import org.hospes.hv.pv.PvPageTables;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.hv.testing.TestProperties;
import org.hospes.x86.Cpu;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A hostile guest against every hypercall: from a fixed seed, thousands of calls with every
 * hypercall number 0..63 and numbers out of range (negative, huge), issued through the real
 * entry paths ({@code int 0x82} of a classic PV guest; VMCALL of a PVH guest, an HVM guest with
 * EPT and its own page tables, an HVM guest with shadow paging), with the argument mixes a
 * buggy or malicious kernel produces: zeros, small numbers, all ones, sub-op numbers in and
 * just past the valid range, pointers to buffers of random bytes and to structs with plausible
 * fields, pointers just below the end of the guest's memory so that a struct straddles it, into
 * memory it does not have, into the hypervisor hole, at other domains' frames, huge counts.
 *
 * <p>A campaign runs in phases: a sweep (every number with fixed argument patterns, every
 * sub-op against a few pointers), extremes (structs whose pointers and counts are the worst),
 * boundaries ({@link FuzzBoundaries}: each call made valid, then each field at each of its
 * edges) and random cases. Every 48 cases 2 ms of virtual time pass with the attacker idle, so
 * what its calls left armed (timers, polls, events, callbacks) happens too. Some campaigns hold
 * the host's free memory down to a few frames, so that every allocation a call causes can fail.
 *
 * <p>Every call must be answered (0, a value where the op returns one, or minus a Xen errno) or
 * contained (the caller crashed or shut down, as Xen's domain_crash would); no Java exception
 * leaves the hypervisor and no call uses more than a second of processor time. After every call
 * two bystanders, a PVH and a PV domain, have every byte, P2M entry, frame, port, HVM parameter
 * and (PV) page count they had, except what they granted the attacker; dom0 is untouched; the
 * attacker maps nothing it does not own or hold a grant for; none of the bystanders' canaries
 * appears in the attacker's memory; and a normal call still works (xen_version, an event sent on
 * a port just bound). The costliest checks run every 8 cases; a failure they find is pinned on
 * its case by running the (deterministic) campaign again with every check after every case. A
 * failure names the seed, the case, its hypercall and arguments, and the attacker.
 *
 * <p>{@code -Dhospes.fuzz.seed=N} runs every kind of attacker from seed N (with and without the
 * memory held down), {@code -Dhospes.fuzz.cases=N} sets the random cases per campaign.
 */
class HypercallFuzzTest {
  /** Random cases per campaign (a property raises them for a long run at one's desk). */
  private static final int CASES = TestProperties.count("hospes.fuzz.cases", 1200);
  /**
   * Most processor time a single call may use before it counts as a hang: normal calls take
   * microseconds (milliseconds while the JIT warms up), so this is work out of all proportion,
   * as Xen would do only in preemptible pieces. Thread CPU time, so that a busy host or a GC
   * pause does not count. A second, not less: the first call of a kind in a cold JVM also loads
   * and initialises classes on this thread, and a slow machine must not fail for that.
   */
  private static final long HANG_NANOS = 1_000_000_000L;
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** This thread's processor time, or wall time (with more slack) where there is none. */
  private static long cpuNanos() {
    return THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime()
        : System.nanoTime() / 5;
  }
  private static final int VERSION = XenVersion.MAJOR << 16 | XenVersion.MINOR;
  /** Cases between the times virtual time passes, and how much (2 ms). */
  private static final int TIME_EVERY = 48;
  private static final long TIME_SLICE = 2_000_000L;
  /** Cases between the costly checks of a campaign (see {@link Campaign#every}). */
  private static final int CHECK_EVERY = 8;

  static Stream<Arguments> campaigns() {
    Long seed = System.getProperty("hospes.fuzz.seed") == null ? null
        : TestProperties.longValue("hospes.fuzz.seed", 0);
    if (seed != null) {
      return Stream.of(Kind.values()).flatMap(k -> Stream.of(Arguments.of(k, seed, false),
          Arguments.of(k, seed, true)));
    }
    return Stream.of(Arguments.of(Kind.PV, 0x5EED_0001L, false),
        Arguments.of(Kind.PV, 20261202L, true), Arguments.of(Kind.PVH, 0x5EED_0002L, false),
        Arguments.of(Kind.PVH, 0x5EED_0012L, true), Arguments.of(Kind.HVM_EPT, 0x5EED_0003L, false),
        Arguments.of(Kind.HVM_SHADOW, 0x5EED_0004L, true));
  }

  @ParameterizedTest(name = "{0} seed {1}, host memory nearly full: {2}")
  @MethodSource("campaigns")
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void everyHypercallIsAnsweredOrContainedAndNobodyElseNotices(Kind kind, long seed,
      boolean tight) {
    long cpu0 = cpuNanos();
    Campaign c = new Campaign(kind, seed, tight, CHECK_EVERY);
    long t0 = System.nanoTime();
    try {
      c.all();
    } catch (AssertionError e) {
      throw exactly(kind, seed, tight, e);
    }
    System.out.printf("HypercallFuzzTest %s seed %d%s: %d cases in %d ms (%d ms of processor"
        + " time), %d contained, %d attackers, time passed %d times%n  %s%n", kind, seed,
        tight ? " (memory tight)" : "", c.cases, (System.nanoTime() - t0) / 1_000_000,
        (cpuNanos() - cpu0) / 1_000_000, c.contained, c.attackers, c.timePassed, c.outcomes);
    System.out.printf("  slowest call %d us of processor time: %s%n", c.slowest / 1000,
        c.slowestCase);
    System.out.printf("  cases after which it held a grant mapping: %d%n", c.holdingGrants);
    assertThat(c.cases).isGreaterThan(2000);
    // The guest got somewhere: calls succeeded, and grants really were used.
    assertThat(c.succeeded).as("calls that returned 0 or a value").isGreaterThan(200);
    assertThat(c.holdingGrants).as("cases after which it held a bystander's grant")
        .isGreaterThan(100);
    assertThat(c.timePassed).as("times virtual time passed").isGreaterThan(100);
  }

  /**
   * A failure {@code found} by a campaign that checks memory every few cases, pinned on its
   * case: the same campaign again (it is deterministic) with every check after every case.
   */
  private static AssertionError exactly(Kind kind, long seed, boolean tight,
      AssertionError found) {
    try {
      new Campaign(kind, seed, tight, 1).all();
    } catch (AssertionError e) {
      e.addSuppressed(found);
      return e;
    }
    return found;
  }

  /**
   * What only a control domain or a device model may do, asked by a guest naming the
   * bystanders, dom0, nobody and itself: each is refused with the errno (or grant status) Xen
   * 4.17 gives a domU, after Xen's earlier checks in Xen's order, and the fuzz checks run after
   * every call (the bystanders are untouched, the attacker still works).
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(Kind.class)
  void aGuestIsRefusedWhatOnlyAControlDomainMayDo(Kind kind) {
    Campaign c = new Campaign(kind, 42, false, 1);
    if (kind.pv()) {
      c.registerEventCallback();
    }
    int pvh = c.pvh.d.domid();
    int pv = c.pv.d.domid();
    int self = c.attacker.domid();
    int nobody = FuzzVictim.NOBODY;
    int bad = c.attacker.top - 8;
    int perm = XenErrno.EPERM.negated();

    // domctl, sysctl, platform_op: copied in whole, the version checked, the domain looked up.
    assertThat(c.call(Hypercall.DOMCTL, bad)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(c.call(Hypercall.DOMCTL, c.put(0, domctl(ControlOp.DOMCTL_PAUSEDOMAIN, 0x14,
        pvh)))).isEqualTo(XenErrno.EACCES.negated());
    for (int dom : new int[] {nobody, EventChannelOp.DOMID_SELF}) {
      assertThat(c.call(Hypercall.DOMCTL, c.put(0, domctl(ControlOp.DOMCTL_PAUSEDOMAIN,
          ControlOp.DOMCTL_INTERFACE_VERSION, dom)))).as("pause %s", dom)
          .isEqualTo(XenErrno.ESRCH.negated());
    }
    for (int dom : new int[] {pvh, pv, 0, self}) {
      assertThat(c.call(Hypercall.DOMCTL, c.put(0, domctl(ControlOp.DOMCTL_DESTROYDOMAIN,
          ControlOp.DOMCTL_INTERFACE_VERSION, dom)))).as("destroy %s", dom).isEqualTo(perm);
    }
    for (int cmd : new int[] {ControlOp.DOMCTL_CREATEDOMAIN, ControlOp.DOMCTL_GETDOMAININFO}) {
      assertThat(c.call(Hypercall.DOMCTL, c.put(0, domctl(cmd, ControlOp.DOMCTL_INTERFACE_VERSION,
          nobody)))).as("domctl %s", cmd).isEqualTo(perm);
    }
    for (Hypercall h : new Hypercall[] {Hypercall.SYSCTL, Hypercall.PLATFORM_OP}) {
      int version = h == Hypercall.SYSCTL ? ControlOp.SYSCTL_INTERFACE_VERSION
          : ControlOp.PLATFORM_INTERFACE_VERSION;
      assertThat(c.call(h, bad)).as("%s", h).isEqualTo(XenErrno.EFAULT.negated());
      assertThat(c.call(h, c.put(0, le(ControlOp.SYSCTL_SIZE).putInt(0, 1).putInt(4,
          version - 1)))).as("%s", h).isEqualTo(XenErrno.EACCES.negated());
      assertThat(c.call(h, c.put(0, le(ControlOp.SYSCTL_SIZE).putInt(0, 1).putInt(4,
          version)))).as("%s", h).isEqualTo(perm);
    }
    // dm_op: only the domain's device model, which no guest is.
    int bufs = c.put(1, le(16).putInt(0, c.attacker.buffers[2]).putInt(4, 64));
    assertThat(c.call(Hypercall.DM_OP, pvh, 3, bufs)).isEqualTo(XenErrno.E2BIG.negated());
    assertThat(c.call(Hypercall.DM_OP, pvh, 2, c.attacker.top - 12))
        .isEqualTo(XenErrno.EFAULT.negated());
    assertThat(c.call(Hypercall.DM_OP, nobody, 1, bufs)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(c.call(Hypercall.DM_OP, EventChannelOp.DOMID_SELF, 1, bufs))
        .isEqualTo(XenErrno.ESRCH.negated());
    assertThat(c.call(Hypercall.DM_OP, self, 1, bufs)).isEqualTo(perm);
    assertThat(c.call(Hypercall.DM_OP, pv, 1, bufs)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(c.call(Hypercall.DM_OP, pvh, 1, bufs)).isEqualTo(perm);
    assertThat(c.call(Hypercall.DM_OP, 0, 1, bufs)).isEqualTo(perm);

    // Another domain's event channels.
    assertThat(c.call(Hypercall.EVENT_CHANNEL_OP, EventChannelOp.ALLOC_UNBOUND,
        c.put(0, le(8).putShort(0, (short) pvh).putShort(2, (short) self)))).isEqualTo(perm);
    assertThat(c.call(Hypercall.EVENT_CHANNEL_OP, EventChannelOp.STATUS,
        c.put(0, le(24).putShort(0, (short) pvh).putInt(4, c.pvh.boundPort)))).isEqualTo(perm);
    assertThat(c.call(Hypercall.EVENT_CHANNEL_OP, EventChannelOp.STATUS,
        c.put(0, le(24).putShort(0, (short) pv).putInt(4, 5000))))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(c.call(Hypercall.EVENT_CHANNEL_OP, EventChannelOp.RESET,
        c.put(0, le(4).putShort(0, (short) pv)))).isEqualTo(perm);
    assertThat(c.call(Hypercall.EVENT_CHANNEL_OP, EventChannelOp.BIND_INTERDOMAIN,
        c.put(0, le(12).putShort(0, (short) pvh).putInt(4, c.pvh.dom0Port))))
        .as("a port offered to dom0").isEqualTo(XenErrno.EINVAL.negated());

    // Another domain's HVM parameters (a PV domain has none).
    int index = HvmOp.PARAM_CALLBACK_IRQ;
    assertThat(c.call(Hypercall.HVM_OP, HvmOp.SET_PARAM, c.put(0, hvmParam(pvh, index, 2L << 56
        | 0x40)))).isEqualTo(perm);
    assertThat(c.call(Hypercall.HVM_OP, HvmOp.GET_PARAM, c.put(0, hvmParam(pvh,
        HvmOp.PARAM_STORE_PFN, 0)))).isEqualTo(perm);
    assertThat(c.call(Hypercall.HVM_OP, HvmOp.GET_PARAM, c.put(0, hvmParam(pv, index, 0))))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(c.call(Hypercall.HVM_OP, HvmOp.GET_PARAM, c.put(0, hvmParam(nobody, index, 0))))
        .isEqualTo(XenErrno.ESRCH.negated());
    assertThat(c.call(Hypercall.HVM_OP, HvmOp.GET_PARAM, c.put(0, hvmParam(
        EventChannelOp.DOMID_SELF, index, 0)))).isEqualTo(kind.pv()
        ? XenErrno.EINVAL.negated() : 0);

    // Another domain's memory: reservations, physmap.
    for (int dom : new int[] {pvh, pv}) {
      assertThat(c.call(Hypercall.MEMORY_OP, MemoryOp.CURRENT_RESERVATION,
          c.put(0, le(2).putShort(0, (short) dom)))).isEqualTo(perm);
      int list = c.put(1, le(4).putInt(0, 0x30));
      for (int op : new int[] {MemoryOp.DECREASE_RESERVATION, MemoryOp.POPULATE_PHYSMAP}) {
        assertThat(c.call(Hypercall.MEMORY_OP, op, c.put(0, le(MemoryOp.RES_SIZE)
            .putInt(MemoryOp.RES_EXTENT_START, list).putInt(MemoryOp.RES_NR_EXTENTS, 1)
            .putShort(MemoryOp.RES_DOMID, (short) dom)))).as("no extent done").isZero();
      }
    }
    assertThat(c.call(Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, c.put(0, le(MemoryOp.ATP_SIZE)
        .putShort(MemoryOp.ATP_DOMID, (short) pvh).putInt(MemoryOp.ATP_GPFN, 0x40))))
        .isEqualTo(perm);
    assertThat(c.call(Hypercall.MEMORY_OP, MemoryOp.ADD_TO_PHYSMAP, c.put(0, le(MemoryOp.ATP_SIZE)
        .putShort(MemoryOp.ATP_DOMID, (short) pv).putInt(MemoryOp.ATP_GPFN, 0x40))))
        .as("xatp_permission_check: a PV target is not translated")
        .isEqualTo(XenErrno.EACCES.negated());

    // Another domain's grant table, and a grant made out to someone else.
    assertThat(c.call(Hypercall.GRANT_TABLE_OP, GrantTableOp.SETUP_TABLE, c.put(0,
        le(GrantTableOp.SETUP_SIZE).putShort(0, (short) pvh).putInt(4, 1).putInt(12,
        c.attacker.buffers[1])), 1)).isZero();
    assertThat(c.get16(0, GrantTableOp.SETUP_STATUS))
        .isEqualTo(GrantTableOp.GNTST_PERMISSION_DENIED);
    assertThat(c.call(Hypercall.GRANT_TABLE_OP, GrantTableOp.QUERY_SIZE, c.put(0,
        le(GrantTableOp.QUERY_SIZE_BYTES).putShort(0, (short) pv)), 1)).isZero();
    assertThat(c.get16(0, GrantTableOp.QUERY_STATUS))
        .isEqualTo(GrantTableOp.GNTST_PERMISSION_DENIED);
    assertThat(c.call(Hypercall.GRANT_TABLE_OP, GrantTableOp.GET_VERSION, c.put(0,
        le(8).putShort(0, (short) pvh)), 1)).isEqualTo(perm);
    for (FuzzVictim v : new FuzzVictim[] {c.pvh, c.pv}) {
      long host = kind.pv() ? 0x1D000 : 0x1D0000;
      assertThat(c.call(Hypercall.GRANT_TABLE_OP, GrantTableOp.MAP_GRANT_REF, c.put(0,
          le(GrantTableOp.MAP_SIZE).putLong(0, host).putInt(8, GrantTableOp.GNTMAP_HOST_MAP)
          .putInt(12, FuzzVictim.OTHER_REF).putShort(16, (short) v.d.domid())), 1)).isZero();
      assertThat(c.get16(0, GrantTableOp.MAP_STATUS)).as("map %s's grant to another", v.d.name())
          .isEqualTo(GrantTableOp.GNTST_GENERAL_ERROR);
    }

    // Shutting another domain down, and the hypervisor's secrets.
    for (int dom : new int[] {pvh, pv, 0, self}) {
      assertThat(c.call(Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, c.put(0, le(8)
          .putShort(0, (short) dom)))).as("remote_shutdown %s", dom).isEqualTo(perm);
    }
    assertThat(c.call(Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, c.put(0, le(8)
        .putShort(0, (short) nobody)))).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(c.call(Hypercall.XEN_VERSION, XenVersion.BUILD_ID, c.attacker.buffers[0]))
        .isEqualTo(perm);

    if (kind.pv()) {
      // A PV guest's page tables naming another domain's frames.
      long victimFrame = c.pv.mfn(0x40);
      int reqs = c.put(0, le(16).putLong(0, c.attacker.d.p2m().lookup(3) << 12 | 8 * 20)
          .putLong(8, victimFrame << 12 | 7));
      for (int dom : new int[] {pv, pvh, 0}) {
        assertThat(c.call(Hypercall.MMU_UPDATE, reqs, 1, 0, dom)).as("mmu_update as %s", dom)
            .isEqualTo(perm);
        assertThat(c.call(Hypercall.MMUEXT_OP, c.put(1, le(12).putInt(0,
            PvMmuAbi.MMUEXT_PIN_L1_TABLE).putInt(4, (int) victimFrame)), 1, 0, dom))
            .as("mmuext_op as %s", dom).isEqualTo(perm);
        assertThat(c.call(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, 0x14000,
            (int) (victimFrame << 12 | 7), 0, PvMmuAbi.UVMF_INVLPG, dom))
            .as("update_va_mapping_otherdomain as %s", dom).isEqualTo(perm);
      }
      assertThat(c.call(Hypercall.MMU_UPDATE, reqs, 1, 0, EventChannelOp.DOMID_SELF))
          .as("its own mapping of another's frame: get_page_from_l1e could not pin it")
          .isEqualTo(XenErrno.EBUSY.negated());
      assertThat(c.call(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, 0x14000, 0, 0,
          PvMmuAbi.UVMF_INVLPG, nobody)).isEqualTo(XenErrno.ESRCH.negated());
      assertThat(c.call(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, 0x14000, 0, 0,
          PvMmuAbi.UVMF_INVLPG, self)).as("itself as foreign").isEqualTo(XenErrno.ESRCH.negated());
      // A non-present entry names no frame: XSM lets it through, and it is the caller's own.
      assertThat(c.call(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, 0x14000, 0, 0,
          PvMmuAbi.UVMF_INVLPG, pv)).isZero();
      assertThat(c.attacker.d.pv().mmu().translate(0x14000, false)).isEqualTo(-1);
    }
    c.finish();
  }

  private static ByteBuffer domctl(int cmd, int version, int domain) {
    return le(ControlOp.DOMCTL_SIZE).putInt(ControlOp.DOMCTL_CMD, cmd)
        .putInt(ControlOp.DOMCTL_VERSION, version).putShort(ControlOp.DOMCTL_DOMAIN,
            (short) domain);
  }

  private static ByteBuffer hvmParam(int domid, int index, long value) {
    return le(HvmOp.PARAM_SIZE).putShort(HvmOp.PARAM_DOMID, (short) domid)
        .putInt(HvmOp.PARAM_INDEX, index).putLong(HvmOp.PARAM_VALUE, value);
  }

  /** One campaign: a host, two bystanders, dom0, and an attacker rebuilt whenever it dies. */
  static final class Campaign {
    final Kind kind;
    final long seed;
    final Random rnd;
    final Hypervisor hv;
    final Hypercalls hc;
    final FuzzVictim pvh;
    final FuzzVictim pv;
    final byte[] canary = new byte[16];
    FuzzAttacker attacker;
    int cases;
    int contained;
    int attackers;
    int succeeded;
    final Map<String, Integer> outcomes = new TreeMap<>();
    private final int[] dom0Ports = new int[64];
    long slowest;
    String slowestCase = "";
    /** Cases after which the attacker held a grant mapping: the grant paths were reached. */
    int holdingGrants;
    /** Times virtual time passed (see {@link #letTimePass}). */
    int timePassed;

    private String where = "";

    /**
     * Whether the host's free memory is held down to {@link #SPARE} frames while the attacker
     * runs, so that every allocation a call makes for it (grant frames, EPT and shadow tables,
     * populated memory) can find none.
     */
    final boolean tight;
    private final List<Long> hogged = new ArrayList<>();
    private static final int SPARE = 3;
    /** The owner of the frames held down: no domain. */
    private static final int HOG = 0x7FE0;

    /**
     * Cases between the costly checks (the bystanders' bytes, the attacker's whole physmap or
     * page tables; the leak scan every 16 of these): what they look for stays once done, so
     * it is found a few cases late, and {@link #exactly} then finds the case.
     */
    final int every;

    Campaign(Kind kind, long seed, boolean tight, int every) {
      this.kind = kind;
      this.seed = seed;
      this.tight = tight;
      this.every = every;
      this.rnd = new Random(seed);
      hv = new Hypervisor(96, new RoundRobinScheduler(), new DefaultCostModel());
      hc = new Hypercalls(hv, hv.costModel());
      rnd.nextBytes(canary);
      pvh = FuzzVictim.create(hv, false, "victim-pvh", canary, rnd);
      pv = FuzzVictim.create(hv, true, "victim-pv", canary, rnd);
      for (int p = 1; p < dom0Ports.length; p++) {
        int[] s = hv.domain(0).eventChannels().status(p);
        dom0Ports[p] = s == null ? -1 : s[0];
      }
      rebuild();
    }

    // ---- the attacker's life --------------------------------------------------------------

    private void rebuild() {
      for (long f : hogged) {
        hv.frames().free(f);
      }
      hogged.clear();
      if (attacker != null) {
        scanForLeaks();
        checkAttackerIsolation();
        destroyAttacker();
        checkBystanders(true);
      }
      attacker = FuzzAttacker.create(hv, kind, "attacker-" + attackers++);
      // The zero area stays zero, the rest of its memory random, as a kernel's would be.
      byte[] page = new byte[4096];
      for (int va = 0x4000; va < attacker.top; va += 4096) {
        if (va >= attacker.zeroStart && va < attacker.zeroEnd) {
          continue;
        }
        if (va == attacker.harness
            || (va >= FuzzAttacker.TABLES && va < FuzzAttacker.TABLES_END)) {
          continue;
        }
        if (attacker.kind.pv() && va == 0x7000) {
          continue; // the stack
        }
        rnd.nextBytes(page);
        attacker.write(va, page);
      }
      pvh.bond(attacker);
      pv.bond(attacker);
      while (tight && hv.frames().freeFrames() > SPARE) {
        hogged.add(hv.frames().allocate(HOG));
      }
    }

    /**
     * Destroys the attacker, as the toolstack would after a crash: its page tables, grants and
     * ports are torn down, which must not fail however it left them.
     */
    private void destroyAttacker() {
      try {
        hv.destroy(attacker.d, "fuzz");
      } catch (RuntimeException | Error e) {
        throw new AssertionError(where + ": then destroying the attacker threw " + e, e);
      }
    }

    private void checkBystanders(boolean contents) {
      pvh.check(where, contents);
      pv.check(where, contents);
      Domain dom0 = hv.domain(0);
      for (int p = 1; p < dom0Ports.length; p++) {
        int[] s = dom0.eventChannels().status(p);
        assertThat(s == null ? -1 : s[0]).as("%s: dom0 port %d", where, p)
            .isEqualTo(dom0Ports[p]);
      }
      assertThat(dom0.state().isFinal()).as("%s: dom0", where).isFalse();
    }

    /** The attacker's own view reaches only its frames and the grants it holds. */
    private void checkAttackerIsolation() {
      Domain d = attacker.d;
      if (d.state().isFinal()) {
        return; // its frames went back at its death; nothing of it runs any more
      }
      FrameTable frames = hv.frames();
      if (attacker.kind.pv()) {
        MemoryBus m = hv.machineMemory();
        long base = d.pv().mmu().baseMfn();
        for (int i3 = 0; i3 < 4; i3++) {
          long l3e = m.read64((base << 12) + 8L * i3);
          if ((l3e & 1) == 0) {
            continue;
          }
          long l2 = (l3e & 0xF_FFFF_F000L) >>> 12;
          if (l2 >= frames.frames() || hv.pvPageInfo().type(l2) != PageType.L2_PAGE_TABLE) {
            throw new AssertionError(String.format("%s: L3 mfn %x slot %d (%016x) names mfn %x,"
                + " not an L2", where, base, i3, l3e, l2));
          }
          int n2 = i3 == 3 ? PvPageTables.FIRST_XEN_L2_SLOT : 512;
          for (int i2 = 0; i2 < n2; i2++) {
            long l2e = m.read64((l2 << 12) + 8L * i2);
            if ((l2e & 1) == 0) {
              continue;
            }
            long l1 = (l2e & 0xF_FFFF_F000L) >>> 12;
            if (l1 >= frames.frames() || hv.pvPageInfo().type(l1) != PageType.L1_PAGE_TABLE) {
              throw new AssertionError(String.format("%s: L2 mfn %x slot %d (%016x) names mfn %x,"
                  + " not an L1", where, l2, i2, l2e, l1));
            }
            for (int i1 = 0; i1 < 512; i1++) {
              long e = m.read64((l1 << 12) + 8L * i1);
              long f = (e & 0xF_FFFF_F000L) >>> 12;
              if ((e & 1) != 0 && frames.owner(f) != d.domid()
                  && !d.grantTables().mapsFrame(f)) {
                throw new AssertionError(String.format("%s: the attacker maps mfn %x (owner %d)"
                    + " at va %08x with no grant", where, f, frames.owner(f),
                    i3 << 30 | i2 << 21 | i1 << 12));
              }
            }
          }
        }
        return;
      }
      P2m p2m = d.p2m();
      long[] chunk = new long[4096];
      for (long gfn = 0; gfn < p2m.size(); gfn += chunk.length) {
        p2m.lookup(gfn, chunk, chunk.length);
        for (int i = 0; i < chunk.length; i++) {
          long f = chunk[i];
          if (f != P2m.INVALID && frames.owner(f) != d.domid() && !d.grantTables().mapsFrame(f)) {
            throw new AssertionError(String.format("%s: the attacker's gfn %x maps mfn %x"
                + " (owner %d) with no grant", where, gfn + i, f, frames.owner(f)));
          }
        }
      }
    }

    /** No bystander's canary appears in any frame the attacker owns. */
    private void scanForLeaks() {
      byte[] page = new byte[4096];
      FrameTable frames = hv.frames();
      for (long f = 0; f < frames.frames(); f++) {
        if (frames.owner(f) == attacker.domid()) {
          hv.machineMemory().read(f << 12, page, 0, page.length);
          if (pvh.leaked(page)) {
            throw new AssertionError(where + ": a bystander's canary is in the attacker's mfn "
                + Long.toHexString(f));
          }
        }
      }
    }

    // ---- one call -----------------------------------------------------------------------

    /** Enters the hypervisor as the attacker's kernel would; returns EAX afterwards. */
    private int enter(int nr, int[] a, int esp) {
      Cpu cpu = attacker.v.cpu();
      cpu.setReg(Cpu.EAX, nr);
      cpu.setReg(Cpu.EBX, a[0]);
      cpu.setReg(Cpu.ECX, a[1]);
      cpu.setReg(Cpu.EDX, a[2]);
      cpu.setReg(Cpu.ESI, a[3]);
      cpu.setReg(Cpu.EDI, a[4]);
      cpu.setReg(Cpu.EBP, a[5]);
      if (attacker.kind.pv()) {
        cpu.setReg(Cpu.ESP, esp);
        int eip = cpu.eip();
        hc.handlePv(attacker.v);
        // A continued mmu_update, mmuext_op or multicall: the kernel's int 0x82 runs again, as
        // often as it takes.
        while ((nr == Hypercall.MMUEXT_OP.number() || nr == Hypercall.MMU_UPDATE.number()
            || nr == Hypercall.MULTICALL.number())
            && cpu.reg(Cpu.EAX) == nr
            && cpu.eip() == eip - 2 && !attacker.v.domain().state().isFinal()) {
          cpu.setEip(eip);
          hc.handlePv(attacker.v);
        }
        cpu.setReg(Cpu.ESP, PvTestDomains.STACK_TOP);
      } else {
        int eip = cpu.eip();
        hc.handle(attacker.v);
        // A continued multicall: the VMCALL is not retired and runs again, as often as it
        // takes.
        while (nr == Hypercall.MULTICALL.number() && cpu.reg(Cpu.EAX) == nr
            && cpu.eip() == eip && !attacker.v.domain().state().isFinal()) {
          hc.handle(attacker.v);
        }
      }
      return cpu.reg(Cpu.EAX);
    }

    private static String describe(int nr, int[] a) {
      Hypercall h = Hypercall.of(nr);
      StringBuilder s = new StringBuilder(h == null ? "hypercall " + nr : h.name() + "(" + nr
          + ")");
      s.append(" args");
      for (int x : a) {
        s.append(String.format(" %08x", x));
      }
      return s.toString();
    }

    /**
     * Runs one hostile call and every check after it; returns its result, or
     * {@link #CONTAINED} when the attacker did not survive it.
     */
    int run(int nr, int[] a, int esp) {
      cases++;
      where = String.format("%s seed %d%s case %d: %s by %s", kind, seed, tight ? " tight" : "",
          cases, describe(nr, a), attacker);
      int rc;
      long t0 = cpuNanos();
      try {
        rc = enter(nr, a, esp);
      } catch (RuntimeException | Error e) {
        throw new AssertionError(where + ": the hypercall path threw " + e, e);
      }
      long took = cpuNanos() - t0;
      if (took > HANG_NANOS) {
        throw new AssertionError(where + ": a hang, " + took / 1_000_000 + " ms of processor"
            + " time (returned " + rc + ")");
      }
      if (took > slowest) {
        slowest = took;
        slowestCase = where;
      }
      Domain d = attacker.d;
      Hypercall h = Hypercall.of(nr);
      String name = h == null ? "out-of-range" : h.name().toLowerCase();
      if (d.state().isFinal()) {
        contained++;
        count(name + " -> " + d.state().name().toLowerCase());
      } else if (!(attacker.kind.pv() && h == Hypercall.IRET)) {
        String bad = implausible(nr, a, rc);
        if (bad != null) {
          throw new AssertionError(where + ": returned " + rc + " (" + bad + ")");
        }
        if (rc >= 0) {
          succeeded++;
        }
        count(name + (rc >= 0 ? " ok" : " " + rc));
        if (h == Hypercall.GRANT_TABLE_OP && rc == 0) {
          countGrantStatuses(a);
        }
      }
      boolean full = cases % every == 0;
      checkBystanders(full);
      if (!d.state().isFinal()) {
        if (full) {
          checkAttackerIsolation();
        }
        if (attacker.v.state() == VcpuState.BLOCKED) {
          // SCHEDOP_block or poll: an event or timer would wake it; the harness does.
          attacker.v.endPoll();
          hv.wake(attacker.v);
        }
        attacker.v.takeYield();
        if (d.grantTables().activeMappings() > 0) {
          holdingGrants++;
        }
      }
      if (cases % (16 * every) == 0) {
        scanForLeaks();
      }
      if (cases % TIME_EVERY == 0 && !d.state().isFinal()) {
        letTimePass();
      }
      int answer = d.state().isFinal() ? CONTAINED : rc;
      if (!attacker.intact() || attacker.v.state() != VcpuState.RUNNABLE
          || (attacker.kind.pv() && h == Hypercall.IRET)) {
        rebuild();
      } else {
        healthCheck();
      }
      return answer;
    }

    /**
     * Lets {@link #TIME_SLICE} of virtual time pass with the attacker idle (a PV guest blocking
     * in sched_op, an HVM one in HLT, at the harness page): what its calls left armed or bound
     * happens now (singleshot and periodic timers, poll timeouts, VIRQs, upcalls into whatever
     * callback it registered). The bystanders are paused and do not run. Then every check.
     */
    /**
     * Gives a PV attacker the event callback a PV kernel registers before it blocks: code at
     * the harness page that returns through the iret hypercall to where the event came in.
     * Without one, an event pending when it blocks crashes it, as on Xen
     * (compat_test_guest_events bounces to the null selector), and a test that wants its
     * answers to every call would see it contained instead.
     */
    void registerEventCallback() {
      int at = attacker.harness + 0x900;
      // push eax; mov eax, 23 (iret); int 0x82
      assertThat(attacker.write(at, new byte[] {0x50, (byte) 0xB8, 23, 0, 0, 0, (byte) 0xCD,
          (byte) 0x82})).isTrue();
      assertThat(attacker.d.pv().traps().setCallbacks(org.hospes.hv.pv.PvGdt.FLAT_RING1_CS, at,
          0, 0)).isZero();
    }

    private void letTimePass() {
      Cpu cpu = attacker.v.cpu();
      int idle = attacker.harness + 0x800;
      byte[] code = attacker.kind.pv()
          // mov eax, 29 (sched_op); mov ebx, 1 (block); int 0x82; jmp back
          ? new byte[] {(byte) 0xB8, 29, 0, 0, 0, (byte) 0xBB, 1, 0, 0, 0, (byte) 0xCD,
              (byte) 0x82, (byte) 0xEB, (byte) 0xF2}
          // sti; hlt; jmp back
          : new byte[] {(byte) 0xFB, (byte) 0xF4, (byte) 0xEB, (byte) 0xFC};
      if (!attacker.write(idle, code)) {
        return;
      }
      cpu.setEip(idle);
      where = String.format("%s seed %d%s after case %d, letting time pass for %s", kind, seed,
          tight ? " tight" : "", cases, attacker);
      try {
        hv.run(TIME_SLICE);
      } catch (RuntimeException | Error e) {
        throw new AssertionError(where + ": the hypervisor threw " + e, e);
      }
      timePassed++;
      checkBystanders(true);
      checkAttackerIsolation();
      if (attacker.d.state().isFinal()) {
        contained++;
        count("time passing -> " + attacker.d.state().name().toLowerCase());
      } else if (attacker.v.state() == VcpuState.BLOCKED) {
        hv.wake(attacker.v);
      }
    }

    /** {@link #run}'s answer for a call the attacker did not survive. */
    static final int CONTAINED = Integer.MIN_VALUE;

    /** One call with these arguments (the rest zero), checked as every fuzz case is. */
    int call(Hypercall h, int... args) {
      int[] a = java.util.Arrays.copyOf(args, 6);
      return run(h.number(), a, PvTestDomains.STACK_TOP);
    }

    /** Puts {@code b} in buffer {@code i} of the attacker; returns its address. */
    int put(int i, ByteBuffer b) {
      assertThat(attacker.write(attacker.buffers[i], b.array())).isTrue();
      return attacker.buffers[i];
    }

    /** A little-endian field of buffer {@code i}. */
    int get16(int i, int offset) {
      byte[] b = attacker.read(attacker.buffers[i] + offset, 2);
      return (short) ((b[0] & 0xFF) | (b[1] & 0xFF) << 8);
    }

    /** The per-op statuses of a grant batch that went through: did the grant paths get far? */
    private void countGrantStatuses(int[] a) {
      int size;
      int status;
      String op;
      switch (a[0]) {
        case GrantTableOp.MAP_GRANT_REF -> {
          size = GrantTableOp.MAP_SIZE;
          status = GrantTableOp.MAP_STATUS;
          op = "map";
        }
        case GrantTableOp.UNMAP_GRANT_REF -> {
          size = GrantTableOp.UNMAP_SIZE;
          status = GrantTableOp.UNMAP_STATUS;
          op = "unmap";
        }
        case GrantTableOp.COPY -> {
          size = GrantTableOp.COPY_SIZE;
          status = GrantTableOp.COPY_STATUS;
          op = "copy";
        }
        default -> {
          return;
        }
      }
      for (int i = 0; i < Math.min(a[2], 8); i++) {
        byte[] b = attacker.read(a[1] + i * size + status, 2);
        if (b != null) {
          int st = (short) ((b[0] & 0xFF) | (b[1] & 0xFF) << 8);
          count("  gnttab " + op + (st == 0 ? " ok" : " " + st));
        }
      }
    }

    private void count(String k) {
      outcomes.merge(k, 1, Integer::sum);
    }

    /** Why {@code rc} is not an answer Xen could give to this call, or null. */
    private String implausible(int nr, int[] a, int rc) {
      if (rc == 0) {
        return null;
      }
      Hypercall h = Hypercall.of(nr);
      if (h == Hypercall.GET_DEBUGREG && attacker.kind.pv()) {
        return null; // a debug register's value
      }
      if (rc < 0) {
        return XenErrno.isDocumented(rc) ? null : "not a Xen errno";
      }
      if (h == Hypercall.XEN_VERSION) {
        return (a[0] == XenVersion.VERSION && rc == VERSION)
            || (a[0] == XenVersion.PAGESIZE && rc == 4096) ? null : "a positive version answer";
      }
      if (h == Hypercall.MEMORY_OP) {
        int op = a[0] & MemoryOp.CMD_MASK;
        boolean counts = op == MemoryOp.INCREASE_RESERVATION || op == MemoryOp.DECREASE_RESERVATION
            || op == MemoryOp.POPULATE_PHYSMAP || op == MemoryOp.CURRENT_RESERVATION
            || op == MemoryOp.MAXIMUM_RESERVATION;
        return counts ? null : "a positive memory_op answer";
      }
      if (h == Hypercall.VCPU_OP && a[0] == VcpuOp.IS_UP) {
        return rc == 1 ? null : "is_up other than 0 or 1";
      }
      return "positive";
    }

    /** The hypervisor still answers the attacker's ordinary calls correctly. */
    private void healthCheck() {
      int[] a = new int[6];
      a[0] = XenVersion.VERSION;
      assertThat(enter(Hypercall.XEN_VERSION.number(), a, PvTestDomains.STACK_TOP))
          .as("%s: then xen_version", where).isEqualTo(VERSION);
      int h = attacker.harness;
      byte[] bind = new byte[EventChannelOp.BIND_IPI_SIZE];
      assertThat(attacker.write(h, bind)).as(where).isTrue();
      int[] call = {EventChannelOp.BIND_IPI, h, 0, 0, 0, 0};
      int rc = enter(Hypercall.EVENT_CHANNEL_OP.number(), call, PvTestDomains.STACK_TOP);
      if (rc == XenErrno.ENOSPC.negated()) {
        // The attacker used up its ports: a reset of its own table frees them.
        byte[] self = {(byte) EventChannelOp.DOMID_SELF, (byte) (EventChannelOp.DOMID_SELF >> 8)};
        attacker.write(h, self);
        assertThat(enter(Hypercall.EVENT_CHANNEL_OP.number(),
            new int[] {EventChannelOp.RESET, h, 0, 0, 0, 0}, PvTestDomains.STACK_TOP))
            .as("%s: evtchn reset", where).isZero();
        attacker.write(h, bind);
        rc = enter(Hypercall.EVENT_CHANNEL_OP.number(), call, PvTestDomains.STACK_TOP);
      }
      assertThat(rc).as("%s: then bind_ipi", where).isZero();
      int port = le32(attacker.read(h + EventChannelOp.BIND_IPI_PORT, 4), 0);
      attacker.write(h, le(4).putInt(port).array());
      assertThat(enter(Hypercall.EVENT_CHANNEL_OP.number(),
          new int[] {EventChannelOp.SEND, h, 0, 0, 0, 0}, PvTestDomains.STACK_TOP))
          .as("%s: then send", where).isZero();
      assertThat(attacker.d.eventChannels().ops().isPending(port)).as("%s: then pending", where)
          .isTrue();
      assertThat(enter(Hypercall.EVENT_CHANNEL_OP.number(),
          new int[] {EventChannelOp.CLOSE, h, 0, 0, 0, 0}, PvTestDomains.STACK_TOP))
          .as("%s: then close", where).isZero();
      if (attacker.v.state() == VcpuState.BLOCKED) {
        hv.wake(attacker.v);
      }
    }

    /** Every phase, then the final checks. */
    void all() {
      sweep();
      extremes();
      new FuzzBoundaries(this).sweep();
      random(CASES);
      finish();
    }

    void finish() {
      where = kind + " seed " + seed + " at the end";
      scanForLeaks();
      // The attacker's channel to each bystander still carries an event, if it kept it bound.
      for (FuzzVictim v : new FuzzVictim[] {pvh, pv}) {
        int[] s = v.d.eventChannels().status(v.boundPort);
        if (s[0] == EventChannelOp.STATUS_INTERDOMAIN && s[2] == attacker.domid()) {
          v.d.eventChannels().ops().clearPending(v.boundPort);
          attacker.write(attacker.harness, le(4).putInt(s[3]).array());
          assertThat(enter(Hypercall.EVENT_CHANNEL_OP.number(),
              new int[] {EventChannelOp.SEND, attacker.harness, 0, 0, 0, 0},
              PvTestDomains.STACK_TOP)).as(where).isZero();
          assertThat(v.d.eventChannels().ops().isPending(v.boundPort)).as(where).isTrue();
        }
      }
      checkAttackerIsolation();
      destroyAttacker();
      checkBystanders(true);
    }

    // ---- what a hostile guest passes ------------------------------------------------------

    /** Hypercalls with a handler somewhere, so that most cases get past the dispatcher. */
    private static final int[] PV_CALLS = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14, 15, 17, 18,
        20, 21, 22, 23, 24, 26, 29, 30, 32, 33, 34, 35, 36, 41};
    private static final int[] HVM_CALLS = {7, 12, 13, 15, 17, 18, 20, 24, 26, 29, 32, 33, 34,
        35, 36, 41};
    private static final int[] OUT_OF_RANGE = {64, 65, 100, 127, 128, 255, 256, 0x1_0011,
        0x7FFF_FFFF, -1, -2, -17, Integer.MIN_VALUE, 0x8000_0011};

    private enum Arg { SUBOP, PTR, COUNT, DOMID, VCPU, WORD, FRAME_ADDR, VA, PTE_LO, PTE_HI,
      UVMF, SELECTOR }

    /** The argument kinds of each hypercall (x86_32 compat ABI), and its sub-op count. */
    private static Arg[] shape(int nr) {
      Hypercall h = Hypercall.of(nr);
      if (h == null) {
        return new Arg[] {Arg.WORD, Arg.WORD, Arg.WORD, Arg.WORD, Arg.WORD};
      }
      return switch (h) {
        case SET_TRAP_TABLE, PLATFORM_OP, SYSCTL, DOMCTL, XSM_OP -> new Arg[] {Arg.PTR};
        case MMU_UPDATE, MMUEXT_OP -> new Arg[] {Arg.PTR, Arg.COUNT, Arg.PTR, Arg.DOMID};
        case SET_GDT -> new Arg[] {Arg.PTR, Arg.COUNT};
        case STACK_SWITCH -> new Arg[] {Arg.SELECTOR, Arg.VA};
        case SET_CALLBACKS -> new Arg[] {Arg.SELECTOR, Arg.VA, Arg.SELECTOR, Arg.VA};
        case SET_DEBUGREG -> new Arg[] {Arg.SUBOP, Arg.WORD};
        case UPDATE_DESCRIPTOR -> new Arg[] {Arg.FRAME_ADDR, Arg.WORD, Arg.WORD, Arg.WORD};
        case MULTICALL -> new Arg[] {Arg.PTR, Arg.COUNT};
        case UPDATE_VA_MAPPING -> new Arg[] {Arg.VA, Arg.PTE_LO, Arg.PTE_HI, Arg.UVMF};
        case UPDATE_VA_MAPPING_OTHERDOMAIN ->
            new Arg[] {Arg.VA, Arg.PTE_LO, Arg.PTE_HI, Arg.UVMF, Arg.DOMID};
        case CONSOLE_IO -> new Arg[] {Arg.SUBOP, Arg.COUNT, Arg.PTR};
        case GRANT_TABLE_OP -> new Arg[] {Arg.SUBOP, Arg.PTR, Arg.COUNT};
        case VM_ASSIST -> new Arg[] {Arg.SUBOP, Arg.SUBOP};
        case VCPU_OP -> new Arg[] {Arg.SUBOP, Arg.VCPU, Arg.PTR};
        case DM_OP -> new Arg[] {Arg.DOMID, Arg.COUNT, Arg.PTR};
        case FPU_TASKSWITCH, GET_DEBUGREG, IRET -> new Arg[] {Arg.SUBOP};
        case SET_TIMER_OP -> new Arg[] {Arg.WORD, Arg.WORD};
        default -> new Arg[] {Arg.SUBOP, Arg.PTR, Arg.WORD};
      };
    }

    private static int subops(int nr) {
      Hypercall h = Hypercall.of(nr);
      if (h == null) {
        return 4;
      }
      return switch (h) {
        case MEMORY_OP, HVM_OP, PHYSDEV_OP -> 32;
        case EVENT_CHANNEL_OP, GRANT_TABLE_OP, VCPU_OP -> 14;
        case XEN_VERSION -> 12;
        case SET_DEBUGREG, GET_DEBUGREG -> 8;
        case SCHED_OP, SCHED_OP_COMPAT -> 6;
        case CONSOLE_IO, CALLBACK_OP, VM_ASSIST -> 3;
        default -> 4;
      };
    }

    private int pick(int... choices) {
      return choices[rnd.nextInt(choices.length)];
    }

    /** The calls with the most state behind them, weighted up in the random phase. */
    private static final int[] PV_RICH = {20, 20, 32, 12, 24, 29, 13, 1, 26, 14, 2, 10};
    private static final int[] HVM_RICH = {20, 20, 32, 12, 24, 29, 13, 34};

    private int number() {
      int r = rnd.nextInt(100);
      if (r < 35) {
        return pick(attacker.kind.pv() ? PV_RICH : HVM_RICH);
      }
      if (r < 60) {
        return pick(attacker.kind.pv() ? PV_CALLS : HVM_CALLS);
      }
      return r < 85 ? rnd.nextInt(64) : pick(OUT_OF_RANGE);
    }

    /**
     * In the extremes phase every pointer is one of the worst kind (the zero area, straddling
     * the end, nothing there) and every count one of the largest.
     */
    private boolean extreme;

    /** A pointer a hostile kernel might pass. */
    private int ptr() {
      FuzzAttacker a = attacker;
      if (extreme) {
        return switch (rnd.nextInt(6)) {
          case 0, 1, 2, 3 -> a.zeroStart + 4096 * rnd.nextInt(4);
          case 4 -> a.top - 1 - rnd.nextInt(48);
          default -> a.top + 4096 * rnd.nextInt(16);
        };
      }
      int buf = a.buffers[rnd.nextInt(a.buffers.length)];
      return switch (rnd.nextInt(20)) {
        case 0, 1, 2, 3, 4, 5 -> buf + (rnd.nextBoolean() ? 0 : rnd.nextInt(64));
        case 6, 7 -> buf + 4096 - 1 - rnd.nextInt(40); // across into the next buffer
        case 8, 9, 10 -> a.top - 1 - rnd.nextInt(48); // straddles the end of its memory
        case 11 -> a.zeroStart + 4096 * rnd.nextInt((a.zeroEnd - a.zeroStart) / 4096);
        case 12 -> a.readOnly >= 0 ? a.readOnly + 8 * rnd.nextInt(16) : a.top + 0x1000;
        case 13 -> a.top + 4096 * rnd.nextInt(1 << 12); // nothing there
        case 14 -> pick(0xC000_0000, 0xC010_0000, 0xF57F_FFF0, 0xF580_0000, 0xFC00_0000,
            0xFFC0_0000, 0xFFFF_F000, 0xFFFF_FFF8, 0xFFFF_FFFF, 0x8000_0000);
        case 15 -> (int) (victim().mfn(rnd.nextInt(64)) << 12); // another domain's frame
        case 16 -> rnd.nextInt(16);
        case 17 -> 0;
        default -> rnd.nextInt();
      };
    }

    private FuzzVictim victim() {
      return rnd.nextBoolean() ? pvh : pv;
    }

    private int domid() {
      if (extreme && rnd.nextBoolean()) {
        return EventChannelOp.DOMID_SELF;
      }
      return switch (rnd.nextInt(12)) {
        case 0, 1 -> EventChannelOp.DOMID_SELF;
        case 2 -> attacker.domid();
        case 3 -> pvh.d.domid();
        case 4 -> pv.d.domid();
        case 5 -> 0;
        case 6 -> FuzzVictim.NOBODY;
        case 7 -> pick(PvMmuAbi.DOMID_IO, PvMmuAbi.DOMID_XEN, 0x7FF4, 0x7FF5, 0x7FFF);
        case 8 -> 0xFFFF;
        default -> rnd.nextInt(0x10000);
      };
    }

    private int count() {
      if (extreme) {
        return pick(0x7FFF_FFFF, 0xFFFF_FFFF, (1 << 26) - 1, 1 << 20, 65536, 4096, 1025);
      }
      return switch (rnd.nextInt(12)) {
        case 0, 1 -> 0;
        case 2, 3, 4 -> 1;
        case 5, 6 -> 2 + rnd.nextInt(8);
        case 7 -> pick(255, 256, 257, 1023, 1024, 1025, 4096, 65536, 65537);
        // The largest counts past and within memory_op's limit (its continuation needs the
        // bits above them), and ones with the continuation bit of mmu_update set.
        case 8 -> pick(0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF, 1 << 26,
            (1 << 26) - 1, 1 << 20);
        case 9 -> -1;
        default -> rnd.nextInt(64);
      };
    }

    private int port() {
      return switch (rnd.nextInt(8)) {
        case 0 -> 0;
        case 1, 2 -> 1 + rnd.nextInt(8);
        case 3 -> pick(pvh.boundPort, pvh.offeredPort, pvh.dom0Port, pv.boundPort,
            pv.offeredPort, pv.dom0Port);
        case 4 -> pick(1023, 1024, 1025, 4095, 4096, 1 << 17, -1, 0x7FFF_FFFF);
        default -> rnd.nextInt(64);
      };
    }

    /** A frame number: its own, a bystander's (machine or guest), the hypervisor's, none. */
    private long frame() {
      FuzzVictim v = victim();
      return switch (rnd.nextInt(10)) {
        case 0, 1, 2 -> attacker.kind.pv() ? attacker.d.p2m().lookup(rnd.nextInt(32))
            : rnd.nextInt(attacker.top >>> 12);
        case 3 -> v.mfn(rnd.nextInt(64));
        case 4 -> v.frame(pick(FuzzVictim.RW_PFN, FuzzVictim.RO_PFN, FuzzVictim.OTHER_PFN));
        case 5 -> rnd.nextInt(256); // the hypervisor's own
        case 6 -> hv.frames().frames() - 1 - rnd.nextInt(64); // free
        case 7 -> pick(0xF_FFFF, 0x10_0000, 0xFFFF_FFFF, 0x7FFF_FFFF);
        default -> attacker.d.sharedInfoMfn();
      };
    }

    /**
     * A time or period in ns as a u64 field holds it: now and around it, Xen's limits (1 ms,
     * STIME_DELTA_MAX = 2^62 - 1), the largest values signed and unsigned.
     */
    private long time() {
      long[] t = {0, 1, 999_999, 1_000_000, hv.now(), hv.now() + 1_000_000, (1L << 62) - 1,
          1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, -1};
      return t[rnd.nextInt(t.length)];
    }

    /** A frame of its own as it names frames: a machine frame (PV) or a GFN of its RAM. */
    private long ownFrame() {
      return attacker.kind.pv() ? attacker.d.p2m().lookup(4 + rnd.nextInt(28))
          : rnd.nextInt(attacker.top >>> 12);
    }

    /**
     * Frame {@code i} of a few of its own that no harness structure lives in: a mapped page
     * (PV, as its machine frame) or a GFN of its RAM.
     */
    long ownFrame(int i) {
      return attacker.kind.pv() ? attacker.d.p2m().lookup(20 + i) : 0x20 + i;
    }

    /** Where a grant may go: a page of its own (PV, by linear address), a GFN above its RAM. */
    long validHost() {
      return attacker.kind.pv() ? 0x15000 : (long) ((attacker.top >>> 12) + 32) << 12;
    }

    /** Where a translated guest maps a grant: its RAM, just above, a BAR, the top, anywhere. */
    private long hostGfn() {
      int ram = attacker.top >>> 12;
      return switch (rnd.nextInt(6)) {
        case 0 -> rnd.nextInt(ram);
        case 1 -> ram + rnd.nextInt(1024);
        case 2 -> 0xF0000 + rnd.nextInt(64);
        case 3 -> 0xFFFFF - rnd.nextInt(4);
        case 4 -> rnd.nextInt(1 << 20);
        default -> frame();
      };
    }

    private long pte() {
      long[] flags = {0, 1, 3, 5, 7, 0x67, 0x27, 0x83, 0x1E3, 1L << 63 | 3, 0x800 | 3};
      long f = flags[rnd.nextInt(flags.length)];
      return rnd.nextInt(8) == 0 ? rnd.nextLong() : frame() << 12 | f;
    }

    private int subop(int nr) {
      int n = subops(nr);
      Hypercall h = Hypercall.of(nr);
      if (rnd.nextBoolean() && h == Hypercall.GRANT_TABLE_OP) {
        return pick(GrantTableOp.MAP_GRANT_REF, GrantTableOp.MAP_GRANT_REF,
            GrantTableOp.UNMAP_GRANT_REF, GrantTableOp.COPY, GrantTableOp.COPY,
            GrantTableOp.SETUP_TABLE, GrantTableOp.QUERY_SIZE, GrantTableOp.GET_VERSION);
      }
      if (rnd.nextBoolean() && h == Hypercall.MEMORY_OP) {
        return pick(MemoryOp.DECREASE_RESERVATION, MemoryOp.POPULATE_PHYSMAP,
            MemoryOp.CURRENT_RESERVATION, MemoryOp.ADD_TO_PHYSMAP, MemoryOp.MEMORY_MAP)
            | (rnd.nextInt(4) == 0 ? rnd.nextInt() << MemoryOp.EXTENT_SHIFT : 0);
      }
      if (rnd.nextBoolean() && h == Hypercall.HVM_OP) {
        return pick(HvmOp.SET_PARAM, HvmOp.GET_PARAM);
      }
      return switch (rnd.nextInt(10)) {
        case 0 -> n + rnd.nextInt(4); // just past the valid range
        case 1 -> pick(-1, 0x8000_0000, 0x7FFF_FFFF, 0x100, 0x1_0000);
        case 2 -> rnd.nextInt();
        default -> rnd.nextInt(n);
      };
    }

    /** A 32-bit word as any field of a struct might hold. */
    private int word() {
      return switch (rnd.nextInt(20)) {
        case 0, 1, 2, 3 -> 0;
        case 4, 5, 6 -> rnd.nextInt(17);
        case 7 -> -1;
        case 8, 9, 10 -> ptr();
        case 11, 12 -> (int) frame();
        case 13 -> domid() | domid() << 16;
        case 14 -> port();
        case 15 -> (int) (frame() << 12) | rnd.nextInt(8) * 8 | rnd.nextInt(4);
        case 16 -> count();
        default -> rnd.nextInt();
      };
    }

    private int arg(Arg kind, int nr) {
      if (!extreme && rnd.nextInt(5) == 0) {
        return word();
      }
      return switch (kind) {
        case SUBOP -> subop(nr);
        // Half the time the struct the fillers laid out, so that calls get past their checks.
        case PTR -> rnd.nextBoolean() && !extreme
            ? attacker.buffers[rnd.nextInt(FuzzAttacker.BUFFERS)] : ptr();
        case COUNT -> rnd.nextBoolean() && !extreme ? 1 + rnd.nextInt(8) : count();
        case DOMID -> rnd.nextInt(4) == 0 ? rnd.nextInt() : domid();
        case VCPU -> pick(0, 0, 0, 1, 2, -1, 63, 64, 0x7FFF_FFFF);
        case FRAME_ADDR -> (int) (frame() << 12) + 8 * rnd.nextInt(512) + pick(0, 0, 0, 1, 4);
        case VA -> rnd.nextBoolean() ? ptr() : (int) (frame() << 12);
        case PTE_LO -> (int) pte();
        case PTE_HI -> rnd.nextInt(4) == 0 ? rnd.nextInt() : 0;
        case UVMF -> rnd.nextInt(8) | (rnd.nextInt(4) == 0 ? ptr() & ~7 : 0);
        case SELECTOR -> pick(0, 0xE019, 0xE021, 0xE02B, 0xE033, 0x8, 0x10, 0x18, 0xFFFF,
            rnd.nextInt(0x10000));
        default -> word();
      };
    }

    // ---- buffers: random bytes, or structs with plausible fields -----------------------------

    private final byte[] fill = new byte[512];

    /** Refills the first bytes of every buffer page, some as structs {@code nr} takes. */
    private void fillBuffers(int nr, int sub) {
      for (int b = 0; b < attacker.buffers.length; b++) {
        ByteBuffer f = ByteBuffer.wrap(fill).order(ByteOrder.LITTLE_ENDIAN);
        if (rnd.nextInt(4) == 0) {
          rnd.nextBytes(fill);
        } else {
          for (int i = 0; i < fill.length; i += 4) {
            f.putInt(i, word());
          }
        }
        if (extreme || rnd.nextInt(4) != 0) {
          shapeStruct(f, nr, sub);
        }
        attacker.write(attacker.buffers[b], fill);
      }
    }

    /** Lays out the struct (or array) sub-op {@code sub} of {@code nr} reads, fields plausible. */
    private void shapeStruct(ByteBuffer f, int nr, int sub) {
      Hypercall h = Hypercall.of(nr);
      if (h == null) {
        return;
      }
      switch (h) {
        case GRANT_TABLE_OP -> {
          int size = switch (sub) {
            case GrantTableOp.MAP_GRANT_REF -> GrantTableOp.MAP_SIZE;
            case GrantTableOp.UNMAP_GRANT_REF -> GrantTableOp.UNMAP_SIZE;
            case GrantTableOp.COPY -> GrantTableOp.COPY_SIZE;
            default -> GrantTableOp.SETUP_SIZE;
          };
          for (int at = 0; at + size <= f.capacity(); at += size) {
            grantOp(f, at, sub);
          }
        }
        case EVENT_CHANNEL_OP -> evtchnOp(f, sub);
        case MEMORY_OP -> {
          int op = sub & MemoryOp.CMD_MASK;
          if (op == MemoryOp.ADD_TO_PHYSMAP) {
            f.putShort(MemoryOp.ATP_DOMID, (short) domid()).putInt(MemoryOp.ATP_SPACE,
                rnd.nextInt(6)).putInt(MemoryOp.ATP_IDX, pick(0, 0, 1, 2, 63, 64, 0x8000_0000,
                -1)).putInt(MemoryOp.ATP_GPFN, (int) frame());
          } else if (op == MemoryOp.MEMORY_MAP) {
            f.putInt(MemoryOp.MAP_NR_ENTRIES, count()).putInt(MemoryOp.MAP_BUFFER, ptr());
          } else {
            f.putInt(MemoryOp.RES_EXTENT_START, ptr()).putInt(MemoryOp.RES_NR_EXTENTS, count())
                .putInt(MemoryOp.RES_EXTENT_ORDER, extreme ? pick(0, 9, 10)
                    : pick(0, 0, 1, 9, 10, 31, 32, -1))
                .putShort(MemoryOp.RES_DOMID, (short) domid());
          }
        }
        case HVM_OP -> f.putShort(HvmOp.PARAM_DOMID, (short) domid())
            .putInt(HvmOp.PARAM_INDEX, pick(0, 1, 2, 4, 17, 18, 38, 39, 40, -1, rnd.nextInt(64)))
            .putLong(HvmOp.PARAM_VALUE, rnd.nextBoolean() ? 2L << 56 | rnd.nextInt(256)
                : rnd.nextLong());
        case SCHED_OP -> {
          if (sub == SchedOp.POLL) {
            f.putInt(SchedOp.POLL_PORTS, ptr()).putInt(SchedOp.POLL_NR_PORTS, count())
                .putLong(SchedOp.POLL_TIMEOUT, time());
          } else {
            f.putShort(0, (short) domid()).putInt(4, rnd.nextInt(8));
          }
        }
        case VCPU_OP -> f.putLong(0, switch (rnd.nextInt(3)) {
          case 0 -> frame();
          case 1 -> time();
          default -> rnd.nextLong();
        }).putInt(8, pick(0, 1, 8, 64, 4032, 4033, 4095, -1)).putInt(12, 0);
        case MULTICALL -> {
          for (int e = 0; e + Multicall.ENTRY_SIZE <= f.capacity(); e += Multicall.ENTRY_SIZE) {
            int op = rnd.nextInt(4) == 0 ? rnd.nextInt(64) : number();
            f.putInt(e + Multicall.ENTRY_OP, op);
            Arg[] shape = shape(op);
            for (int k = 0; k < Multicall.NR_ARGS; k++) {
              f.putInt(e + Multicall.ENTRY_ARGS + 4 * k,
                  k < shape.length ? arg(shape[k], op) : word());
            }
          }
        }
        case MMU_UPDATE -> {
          for (int i = 0; i + 16 <= f.capacity(); i += 16) {
            long at = frame() << 12 | 8L * rnd.nextInt(512) | rnd.nextInt(4);
            f.putLong(i, at).putLong(i + 8, pte());
          }
        }
        case MMUEXT_OP -> {
          for (int i = 0; i + 12 <= f.capacity(); i += 12) {
            int cmd = rnd.nextInt(22);
            f.putInt(i, cmd).putInt(i + 4, cmd == PvMmuAbi.MMUEXT_SET_LDT
                || cmd == PvMmuAbi.MMUEXT_INVLPG_LOCAL ? ptr() : (int) frame())
                .putInt(i + 8, rnd.nextBoolean() ? ptr() : count());
          }
        }
        default -> { }
      }
    }

    /** The struct of event-channel sub-op {@code sub}, fields from plausible values. */
    private void evtchnOp(ByteBuffer f, int sub) {
      FuzzVictim v = victim();
      switch (sub) {
        case EventChannelOp.ALLOC_UNBOUND, EventChannelOp.RESET -> f.putShort(0, (short) domid())
            .putShort(2, (short) (rnd.nextBoolean() ? v.d.domid() : domid()));
        case EventChannelOp.BIND_INTERDOMAIN -> f.putShort(0, (short) (rnd.nextInt(3) == 0
            ? domid() : v.d.domid())).putInt(4, pick(v.boundPort, v.offeredPort, v.dom0Port,
            port()));
        case EventChannelOp.BIND_VIRQ -> f.putInt(0, pick(0, 1, 2, 3, 23, 24, 25, -1,
            rnd.nextInt(32))).putInt(4, pick(0, 0, 1, -1, 64));
        case EventChannelOp.BIND_IPI -> f.putInt(0, pick(0, 0, 1, -1, 64));
        case EventChannelOp.STATUS -> f.putShort(0, (short) domid()).putInt(4, port());
        case EventChannelOp.INIT_CONTROL -> f.putLong(0, rnd.nextBoolean() ? frame()
            : rnd.nextLong()).putInt(8, pick(0, 8, 4024, 4025, 4096, -1)).putInt(12,
            pick(0, 1, -1));
        case EventChannelOp.EXPAND_ARRAY -> f.putLong(0, frame());
        default -> f.putInt(0, port()).putInt(4, pick(0, 1, -1, 7, 64, port()));
      }
    }

    private void grantOp(ByteBuffer f, int at, int sub) {
      FuzzVictim v = victim();
      int ref = rnd.nextBoolean() ? pick(FuzzVictim.RW_REF, FuzzVictim.RO_REF)
          : pick(FuzzVictim.OTHER_REF, 0, 1, 8, 511, 512, -1);
      int dom = rnd.nextInt(4) == 0 ? domid() : v.d.domid();
      switch (sub) {
        case GrantTableOp.MAP_GRANT_REF -> {
          long host = attacker.kind.pv() ? (rnd.nextBoolean() ? ptr() & 0xFFFF_F000L
              : frame() << 12 | 8L * rnd.nextInt(512)) : hostGfn() << 12;
          int flags = pick(GrantTableOp.GNTMAP_HOST_MAP, GrantTableOp.GNTMAP_HOST_MAP
              | GrantTableOp.GNTMAP_READONLY, GrantTableOp.GNTMAP_HOST_MAP
              | GrantTableOp.GNTMAP_CONTAINS_PTE, GrantTableOp.GNTMAP_DEVICE_MAP,
              rnd.nextInt(64));
          f.putLong(at + GrantTableOp.MAP_HOST_ADDR, host).putInt(at + GrantTableOp.MAP_FLAGS,
              flags).putInt(at + GrantTableOp.MAP_REF, ref).putShort(at + GrantTableOp.MAP_DOM,
              (short) dom);
        }
        case GrantTableOp.UNMAP_GRANT_REF -> f.putLong(at + GrantTableOp.UNMAP_HOST_ADDR,
            frame() << 12).putInt(at + GrantTableOp.UNMAP_HANDLE, rnd.nextInt(4));
        case GrantTableOp.COPY -> {
          // Each side mostly valid (a bystander's grant to it, or a frame of its own named
          // with DOMID_SELF), offsets and lengths at and past the page's end.
          int flags = 0;
          for (int side = 0; side < 2; side++) {
            int base = at + (side == 0 ? GrantTableOp.COPY_SOURCE : GrantTableOp.COPY_DEST);
            int u;
            int domid;
            int kind = rnd.nextInt(10);
            if (kind < 5) {
              flags |= side == 0 ? GrantTableOp.GNTCOPY_SOURCE_GREF
                  : GrantTableOp.GNTCOPY_DEST_GREF;
              u = ref;
              domid = victim().d.domid();
            } else if (kind < 9) {
              u = (int) ownFrame();
              domid = EventChannelOp.DOMID_SELF;
            } else {
              flags |= rnd.nextInt(2) << side;
              u = rnd.nextBoolean() ? ref : (int) frame();
              domid = domid();
            }
            f.putInt(base + GrantTableOp.COPY_PTR_U, u)
                .putShort(base + GrantTableOp.COPY_PTR_DOMID, (short) domid)
                .putShort(base + GrantTableOp.COPY_PTR_OFFSET, (short) pick(0, 8, 2048, 4000,
                    4095, 4096, 0xFFFF));
            ref = pick(FuzzVictim.RW_REF, FuzzVictim.RO_REF, FuzzVictim.OTHER_REF);
          }
          f.putShort(at + GrantTableOp.COPY_LEN, (short) pick(0, 1, 16, 97, 2049, 4096, 0xFFFF))
              .putShort(at + GrantTableOp.COPY_FLAGS, (short) (rnd.nextInt(8) == 0
                  ? rnd.nextInt(0x10000) : flags));
        }
        default -> f.putShort(at, (short) dom).putInt(at + 4, count()).putInt(at + 12, ptr());
      }
    }

    // ---- the phases -------------------------------------------------------------------------

    /**
     * Every number 0..63 and the ones out of range with fixed argument patterns (all zeros, all
     * ones, small, a buffer, the end of memory, unmapped), then every sub-op of the calls that
     * have them against the same pointers.
     */
    void sweep() {
      List<Integer> numbers = new ArrayList<>();
      for (int nr = 0; nr < 64; nr++) {
        numbers.add(nr);
      }
      for (int nr : OUT_OF_RANGE) {
        numbers.add(nr);
      }
      for (int nr : numbers) {
        for (int pattern = 0; pattern < 6; pattern++) {
          fillBuffers(nr, 0);
          int[] a = new int[6];
          for (int k = 0; k < a.length; k++) {
            a[k] = switch (pattern) {
              case 0 -> 0;
              case 1 -> -1;
              case 2 -> k + 1;
              case 3 -> attacker.buffers[k % FuzzAttacker.BUFFERS];
              case 4 -> attacker.top - 4;
              default -> attacker.top + 0x1000 * k;
            };
          }
          run(nr, a, esp(nr));
        }
        Arg[] shape = shape(nr);
        if (shape[0] != Arg.SUBOP || Hypercall.of(nr) == null) {
          continue;
        }
        for (int sub = 0; sub < subops(nr) + 2; sub++) {
          int[] pointers = {attacker.buffers[0], attacker.buffers[1] + 4090, attacker.top - 6,
              attacker.top + 0x3000, attacker.zeroStart};
          for (int p : pointers) {
            fillBuffers(nr, sub);
            int[] a = new int[6];
            a[0] = sub;
            for (int k = 1; k < shape.length; k++) {
              a[k] = switch (shape[k]) {
                case PTR -> p;
                case COUNT -> 1;
                case VCPU -> 0;
                default -> sub == 0 ? 0 : p;
              };
            }
            run(nr, a, esp(nr));
          }
        }
      }
    }

    /**
     * Every sub-op of the calls that take structs, with structs whose pointers and counts are
     * the worst a guest can name: lists in zeroed memory (a list of zeros is long and cheap),
     * structs straddling the end of memory, the largest counts each call accepts.
     */
    void extremes() {
      Hypercall[] calls = {Hypercall.MEMORY_OP, Hypercall.GRANT_TABLE_OP,
          Hypercall.EVENT_CHANNEL_OP, Hypercall.SCHED_OP, Hypercall.VCPU_OP, Hypercall.HVM_OP,
          Hypercall.MULTICALL, Hypercall.XEN_VERSION, Hypercall.CONSOLE_IO, Hypercall.MMU_UPDATE,
          Hypercall.MMUEXT_OP, Hypercall.SET_TRAP_TABLE, Hypercall.SET_GDT, Hypercall.PHYSDEV_OP,
          Hypercall.CALLBACK_OP, Hypercall.DM_OP, Hypercall.DOMCTL, Hypercall.SET_TIMER_OP};
      extreme = true;
      for (Hypercall h : calls) {
        int nr = h.number();
        Arg[] shape = shape(nr);
        int subs = shape[0] == Arg.SUBOP ? subops(nr) : 1;
        for (int sub = 0; sub < subs; sub++) {
          for (int i = 0; i < 12; i++) {
            int[] a = new int[6];
            for (int k = 0; k < a.length; k++) {
              a[k] = k < shape.length ? arg(shape[k], nr) : word();
              if (k < shape.length && shape[k] == Arg.PTR) {
                a[k] = attacker.buffers[k % FuzzAttacker.BUFFERS]; // the struct, whose fields are
              }
            }
            if (shape[0] == Arg.SUBOP) {
              a[0] = sub;
            }
            fillBuffers(nr, a[0]);
            run(nr, a, PvTestDomains.STACK_TOP);
          }
        }
      }
      extreme = false;
    }

    /** A PV caller's stack pointer: its own, or (for iret) anything. */
    private int esp(int nr) {
      return nr == Hypercall.IRET.number() && rnd.nextBoolean() ? ptr() : PvTestDomains.STACK_TOP;
    }

    void random(int n) {
      for (int i = 0; i < n; i++) {
        int nr = number();
        Arg[] shape = shape(nr);
        int[] a = new int[6];
        boolean shaped = rnd.nextInt(10) < 7;
        for (int k = 0; k < a.length; k++) {
          a[k] = shaped && k < shape.length ? arg(shape[k], nr) : word();
        }
        fillBuffers(nr, a[0]);
        run(nr, a, esp(nr));
      }
    }
  }

  static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  static int le32(byte[] b, int off) {
    return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16
        | (b[off + 3] & 0xFF) << 24;
  }
}
