package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.GrantTableOp;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.event.EventChannels;
import org.hospes.hv.pv.PageInfo;
import org.hospes.x86.MemoryBus;

/**
 * A bystander domain a hypercall fuzz campaign must never reach except through what the victim
 * itself offered: a writable grant (ref 5) and a read-only grant (ref 6) to the attacker, an
 * event channel bound to the attacker and an unbound port offered to it. Its memory is random
 * bytes with a canary at the start and middle of every page the attacker may not read (every
 * page but the two it granted), so that a copy of it anywhere in the attacker's memory shows a
 * leak. After every hostile call {@link #check} finds its memory, its P2M, its frame count,
 * its ports, its grant table and (PV) its page types and references as they were.
 */
final class FuzzVictim {
  static final int RW_REF = 5;
  static final int RO_REF = 6;
  /** A grant to a domain that does not exist: the attacker may not use it. */
  static final int OTHER_REF = 7;
  static final int RW_PFN = 0x20;
  static final int RO_PFN = 0x21;
  static final int OTHER_PFN = 0x22;
  static final int NOBODY = 999;
  private static final int PORTS_WATCHED = 64;

  final Domain d;
  final boolean pv;
  private final Hypervisor hv;
  private final byte[] canary;
  private final long[] mfns;
  private final byte[][] pages;
  private final int[] typeCounts;
  private final int[] refCounts;
  private int ownedFrames;
  private int[][] ports;
  private long[] hvmParams;
  private long vcpuInfo;
  private int grantFrames;
  /** The victim's end of the channel bound to the attacker, and the port offered to it. */
  int boundPort;
  int offeredPort;
  /** A port offered to dom0: the attacker may not bind it. */
  int dom0Port;

  private FuzzVictim(Hypervisor hv, Domain d, byte[] canary, Random rnd) {
    this.hv = hv;
    this.d = d;
    this.pv = d.pv() != null;
    this.canary = canary;
    int n = d.p2m().ramFrames();
    mfns = new long[n];
    pages = new byte[n][];
    typeCounts = new int[n];
    refCounts = new int[n];
    MemoryBus m = hv.machineMemory();
    for (int pfn = 0; pfn < n; pfn++) {
      mfns[pfn] = d.p2m().lookup(pfn);
      // A PV victim's tables (pfns 0..3) and its stack keep what the builder put there.
      if (!pv || pfn >= 8) {
        byte[] page = new byte[4096];
        rnd.nextBytes(page);
        if (pfn != RW_PFN && pfn != RO_PFN) {
          System.arraycopy(canary, 0, page, 0, canary.length);
          System.arraycopy(canary, 0, page, 2048, canary.length);
        }
        m.write(mfns[pfn] << 12, page, 0, page.length);
      }
    }
    dom0Port = d.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, 0);
  }

  static FuzzVictim create(Hypervisor hv, boolean pv, String name, byte[] canary, Random rnd) {
    Domain d = pv ? PvTestDomains.create(hv, name) : hv.createHvmDomain(name, DomainMode.PVH, 1);
    // A live domain that never runs its (random) memory as code while the attacker's time
    // passes: paused, as a bystander waiting on its turn.
    hv.unpause(d);
    hv.pause(d);
    return new FuzzVictim(hv, d, canary, rnd);
  }

  /** The frame number a grant entry or GNTTABOP_copy of this domain names for {@code pfn}. */
  long frame(int pfn) {
    return pv ? mfns[pfn] : pfn;
  }

  long mfn(int pfn) {
    return mfns[pfn];
  }

  /**
   * Offers the grants and event channels to a (new) attacker, as the victim's own kernel would
   * (writing its grant entries, binding its ports), then takes the snapshot later checks use.
   */
  void bond(FuzzAttacker a) {
    MemoryBus m = hv.machineMemory();
    long table = d.grantTables().frameMfn(0) << 12;
    int[][] entries = {
        {RW_REF, GrantTableOp.GTF_PERMIT_ACCESS, a.domid(), RW_PFN},
        {RO_REF, GrantTableOp.GTF_PERMIT_ACCESS | GrantTableOp.GTF_READONLY, a.domid(), RO_PFN},
        {OTHER_REF, GrantTableOp.GTF_PERMIT_ACCESS, NOBODY, OTHER_PFN}};
    for (int[] e : entries) {
      long at = table + (long) e[0] * GrantTableOp.ENTRY_SIZE;
      m.write16(at + GrantTableOp.ENTRY_FLAGS, e[1]);
      m.write16(at + GrantTableOp.ENTRY_DOMID, e[2]);
      m.write32(at + GrantTableOp.ENTRY_FRAME, (int) frame(e[3]));
    }
    EventChannels ch = d.eventChannels();
    for (int p : new int[] {boundPort, offeredPort}) {
      if (p > 0 && ch.status(p)[0] != EventChannelOp.STATUS_CLOSED) {
        ch.close(p);
      }
    }
    offeredPort = ch.allocUnbound(EventChannelOp.DOMID_SELF, a.domid());
    boundPort = ch.allocUnbound(EventChannelOp.DOMID_SELF, a.domid());
    int local = a.d.eventChannels().bindInterdomain(d.domid(), boundPort);
    assertThat(local).as("attacker binds to %s", d.name()).isPositive();
    snapshot();
  }

  private void snapshot() {
    MemoryBus m = hv.machineMemory();
    PageInfo info = hv.pvPageInfo();
    for (int pfn = 0; pfn < mfns.length; pfn++) {
      if (pages[pfn] == null) {
        pages[pfn] = new byte[4096];
      }
      m.read(mfns[pfn] << 12, pages[pfn], 0, 4096);
      if (pv) {
        typeCounts[pfn] = info.typeCount(mfns[pfn]);
        refCounts[pfn] = info.refCount(mfns[pfn]);
      }
    }
    ownedFrames = countOwned();
    ports = portStates();
    hvmParams = new long[org.hospes.abi.HvmOp.NR_PARAMS];
    for (int i = 0; i < hvmParams.length; i++) {
      hvmParams[i] = d.hvmParam(i);
    }
    vcpuInfo = d.eventChannels().ops().vcpuInfo(0);
    grantFrames = d.grantTables().nrFrames();
  }

  private int countOwned() {
    int n = 0;
    for (long f = 0; f < hv.frames().frames(); f++) {
      if (hv.frames().owner(f) == d.domid()) {
        n++;
      }
    }
    return n;
  }

  private int[][] portStates() {
    int[][] s = new int[PORTS_WATCHED][];
    for (int p = 1; p < PORTS_WATCHED; p++) {
      s[p] = d.eventChannels().status(p);
    }
    return s;
  }

  private final byte[] scratch = new byte[4096];

  /**
   * Everything the attacker may not touch is as the snapshot has it; the bytes of its memory
   * and the frames it owns only when {@code contents} (the costly part: a megabyte compared,
   * every machine frame's owner looked at).
   */
  void check(String where, boolean contents) {
    assertThat(d.state()).as("%s: %s's state", where, d.name()).isEqualTo(DomainState.PAUSED);
    MemoryBus m = hv.machineMemory();
    PageInfo info = hv.pvPageInfo();
    for (int pfn = 0; pfn < mfns.length; pfn++) {
      long now = d.p2m().lookup(pfn);
      if (now != mfns[pfn]) {
        assertThat(now).as("%s: %s's pfn %x maps", where, d.name(), pfn).isEqualTo(mfns[pfn]);
      }
      if (contents && pfn != RW_PFN) {
        m.read(mfns[pfn] << 12, scratch, 0, 4096);
        if (!Arrays.equals(scratch, pages[pfn])) {
          int at = Arrays.mismatch(scratch, pages[pfn]);
          throw new AssertionError(String.format("%s: %s's pfn %x (mfn %x) changed at byte %d:"
              + " %02x, was %02x", where, d.name(), pfn, mfns[pfn], at, scratch[at],
              pages[pfn][at]));
        }
      }
      if (pv && pfn != RW_PFN && pfn != RO_PFN && (info.typeCount(mfns[pfn]) != typeCounts[pfn]
          || info.refCount(mfns[pfn]) != refCounts[pfn])) {
        throw new AssertionError(String.format("%s: %s's pfn %x type/ref counts %d/%d, were"
            + " %d/%d", where, d.name(), pfn, info.typeCount(mfns[pfn]), info.refCount(mfns[pfn]),
            typeCounts[pfn], refCounts[pfn]));
      }
    }
    if (contents) {
      assertThat(countOwned()).as("%s: frames %s owns", where, d.name()).isEqualTo(ownedFrames);
    }
    int[][] nowPorts = portStates();
    for (int p = 1; p < PORTS_WATCHED; p++) {
      if (p == boundPort || p == offeredPort) {
        continue; // the attacker may close its end or bind the offer: the victim's to expect
      }
      if (!Arrays.equals(nowPorts[p], ports[p])) {
        assertThat(nowPorts[p]).as("%s: %s's port %d", where, d.name(), p).isEqualTo(ports[p]);
      }
    }
    for (int i = 0; i < hvmParams.length; i++) {
      if (d.hvmParam(i) != hvmParams[i]) {
        assertThat(d.hvmParam(i)).as("%s: %s's HVM param %d", where, d.name(), i)
            .isEqualTo(hvmParams[i]);
      }
    }
    assertThat(d.eventChannels().ops().vcpuInfo(0)).as("%s: vcpu_info", where)
        .isEqualTo(vcpuInfo);
    assertThat(d.grantTables().nrFrames()).as("%s: grant frames", where).isEqualTo(grantFrames);
  }

  /** True if {@code page} holds this run's canary anywhere. */
  boolean leaked(byte[] page) {
    return indexOf(page, canary) >= 0;
  }

  static int indexOf(byte[] hay, byte[] needle) {
    byte first = needle[0];
    outer:
    for (int i = 0; i <= hay.length - needle.length; i++) {
      if (hay[i] != first) {
        continue;
      }
      for (int k = 1; k < needle.length; k++) {
        if (hay[i + k] != needle[k]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
