package org.hospes.hv.hypercall;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
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
import org.hospes.abi.XenVersion;
import org.hospes.hv.hypercall.HypercallFuzzTest.Campaign;

/**
 * The boundary phase of a hypercall fuzz campaign. For every sub-op that takes arguments worth
 * the name, the call is first made as a working kernel would make it (registers and struct
 * valid: its own frames, a victim's grant to it, DOMID_SELF, ports that exist), then once for
 * each value at the edges of each register argument and each struct field, the others staying
 * valid. Most argument bugs are one field past a limit, and a random struct rarely gets every
 * other field right: here each edge meets the code behind the checks of all the other fields.
 */
final class FuzzBoundaries {
  /** What a field holds, which decides its edge values. */
  enum Kind { TIME, SMALL, DOMID, PORT, FRAME, PTR, COUNT, OFFSET, VCPUID, REF, HOST, FLAGS, PTE }

  /**
   * One argument: a struct field at byte {@code offset} of {@code size} bytes of the struct in
   * the first buffer, or (offset -1 - i) register argument i; {@code valid} is its working
   * value.
   */
  record Field(String name, int offset, int size, Kind kind, long valid) {}

  /** One call to sweep: a hypercall, its register arguments and its struct's fields. */
  static final class Spec {
    final Hypercall call;
    final String name;
    final List<Field> fields = new ArrayList<>();
    /** Bytes laid out after the struct's fields (a list it points to, in the second buffer). */
    byte[] list = new byte[0];

    Spec(Hypercall call, String name) {
      this.call = call;
      this.name = name;
    }

    Spec arg(int i, Kind kind, long valid) {
      fields.add(new Field("arg" + (i + 1), -1 - i, 4, kind, valid));
      return this;
    }

    Spec field(String name, int offset, int size, Kind kind, long valid) {
      fields.add(new Field(name, offset, size, kind, valid));
      return this;
    }

    Spec list(byte[] bytes) {
      list = bytes;
      return this;
    }
  }

  private final Campaign c;

  FuzzBoundaries(Campaign c) {
    this.c = c;
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The edge values of {@code kind} for the attacker as it is now. */
  long[] edges(Kind kind) {
    FuzzAttacker a = c.attacker;
    int top = a.top;
    long own = c.ownFrame(0);
    long victimMfn = c.pv.mfn(0x30);
    return switch (kind) {
      case TIME -> new long[] {0, 1, 999_999, 1_000_000, c.hv.now(), c.hv.now() + 1,
          (1L << 62) - 1, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, -1};
      case SMALL -> new long[] {0, 1, 2, 3, 7, 8, 15, 16, 23, 24, 31, 32, 63, 64, 255, 256, -1,
          0x7FFF_FFFF, 0x8000_0000L};
      case DOMID -> new long[] {EventChannelOp.DOMID_SELF, a.domid(), c.pvh.d.domid(),
          c.pv.d.domid(), 0, FuzzVictim.NOBODY, PvMmuAbi.DOMID_IO, PvMmuAbi.DOMID_XEN, 0x7FF4,
          0x7FFF, 0xFFFF};
      case PORT -> new long[] {0, 1, 2, c.pvh.boundPort, c.pvh.offeredPort, c.pvh.dom0Port,
          c.pv.offeredPort, 1023, 1024, 4095, 4096, 1 << 17, -1, 0x7FFF_FFFF};
      case FRAME -> new long[] {own, a.d.sharedInfoMfn(), a.d.grantTables().frameMfn(0),
          victimMfn, c.pvh.frame(FuzzVictim.RW_PFN), c.pv.frame(FuzzVictim.RW_PFN), 0, 5,
          c.hv.frames().frames() - 1, c.hv.frames().frames(), 0xF_FFFF, 0x10_0000,
          0xFFFF_FFFFL, 1L << 32, -1};
      case PTR -> new long[] {a.buffers[2], a.zeroStart, top - 1, top - 4, top - 8, top - 64,
          top, top + 4096, 0, 1, a.readOnly >= 0 ? a.readOnly : a.harness, 0xC000_0000L,
          0xF580_0000L, 0xFFC0_0000L, 0xFFFF_F000L, 0xFFFF_FFFCL, victimMfn << 12};
      case COUNT -> new long[] {0, 1, 2, 3, 127, 128, 129, 255, 256, 257, 1023, 1024, 1025,
          65535, 65536, 65537, (1 << 26) - 1, 1 << 26, 0x7FFF_FFFF, 0x8000_0000L, 0xFFFF_FFFFL};
      case OFFSET -> new long[] {0, 1, 2, 4, 8, 63, 64, 2048, 4031, 4032, 4033, 4094, 4095, 4096,
          65535, -1};
      case VCPUID -> new long[] {0, 1, 2, -1, 63, 64, 0x7FFF_FFFF, 0x8000_0000L};
      case REF -> new long[] {0, 1, FuzzVictim.RW_REF, FuzzVictim.RO_REF, FuzzVictim.OTHER_REF, 8,
          511, 512, 513, 1023, 1024, 32767, 32768, -1};
      case HOST -> new long[] {c.validHost(), 0, 4096, (long) top, (long) top - 4096,
          0xF000_0000L, 0xFFFF_F000L, 1L << 32, (1L << 32) + 0x1000, Long.MIN_VALUE, -1};
      case FLAGS -> {
        long[] f = new long[19];
        for (int i = 0; i < 16; i++) {
          f[i] = 1L << i;
        }
        f[16] = 0;
        f[17] = 0xFFFF;
        f[18] = -1;
        yield f;
      }
      case PTE -> new long[] {own << 12 | 7, own << 12 | 5, own << 12 | 1, 0, 1, 7,
          victimMfn << 12 | 7, 5L << 12 | 7, own << 12 | 0x87, own << 12 | 7 | 1L << 63,
          own << 12 | 7 | 1L << 52, (long) (c.hv.frames().frames() - 1) << 12 | 7,
          0xF_FFFF_F000L | 7, -1};
    };
  }

  /** Every call swept, with its valid values for the attacker as it is now. */
  List<Spec> specs() {
    FuzzAttacker a = c.attacker;
    int buf = a.buffers[0];
    int list = a.buffers[1];
    long own = c.ownFrame(0);
    int victim = c.pvh.d.domid();
    int self = EventChannelOp.DOMID_SELF;
    List<Spec> s = new ArrayList<>();
    Hypercall vcpu = Hypercall.VCPU_OP;
    s.add(new Spec(vcpu, "set_singleshot_timer").arg(0, Kind.SMALL, VcpuOp.SET_SINGLESHOT_TIMER)
        .arg(1, Kind.VCPUID, 0).arg(2, Kind.PTR, buf)
        .field("timeout", 0, 8, Kind.TIME, c.hv.now() + 1_000_000).field("flags", 8, 4,
            Kind.FLAGS, 0));
    s.add(new Spec(vcpu, "set_periodic_timer").arg(0, Kind.SMALL, VcpuOp.SET_PERIODIC_TIMER)
        .arg(1, Kind.VCPUID, 0).arg(2, Kind.PTR, buf).field("period", 0, 8, Kind.TIME,
            10_000_000));
    s.add(new Spec(vcpu, "register_vcpu_info").arg(0, Kind.SMALL, VcpuOp.REGISTER_VCPU_INFO)
        .arg(1, Kind.VCPUID, 0).arg(2, Kind.PTR, buf).field("mfn", 0, 8, Kind.FRAME, own)
        .field("offset", 8, 4, Kind.OFFSET, 64));
    for (int sub : new int[] {VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA,
        VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA}) {
      s.add(new Spec(vcpu, "register area " + sub).arg(0, Kind.SMALL, sub).arg(1, Kind.VCPUID, 0)
          .arg(2, Kind.PTR, buf).field("addr", 0, 4, Kind.PTR, a.buffers[3]));
    }
    s.add(new Spec(vcpu, "get_runstate_info").arg(0, Kind.SMALL, VcpuOp.GET_RUNSTATE_INFO)
        .arg(1, Kind.VCPUID, 1).arg(2, Kind.PTR, buf));

    Hypercall ev = Hypercall.EVENT_CHANNEL_OP;
    s.add(new Spec(ev, "alloc_unbound").arg(0, Kind.SMALL, EventChannelOp.ALLOC_UNBOUND)
        .arg(1, Kind.PTR, buf).field("dom", 0, 2, Kind.DOMID, self)
        .field("remote", 2, 2, Kind.DOMID, victim));
    s.add(new Spec(ev, "bind_interdomain").arg(0, Kind.SMALL, EventChannelOp.BIND_INTERDOMAIN)
        .arg(1, Kind.PTR, buf).field("remote", 0, 2, Kind.DOMID, victim)
        .field("port", 4, 4, Kind.PORT, c.pvh.offeredPort));
    s.add(new Spec(ev, "bind_virq").arg(0, Kind.SMALL, EventChannelOp.BIND_VIRQ)
        .arg(1, Kind.PTR, buf).field("virq", 0, 4, Kind.SMALL, 0)
        .field("vcpu", 4, 4, Kind.VCPUID, 0));
    s.add(new Spec(ev, "bind_ipi").arg(0, Kind.SMALL, EventChannelOp.BIND_IPI)
        .arg(1, Kind.PTR, buf).field("vcpu", 0, 4, Kind.VCPUID, 1));
    for (int sub : new int[] {EventChannelOp.SEND, EventChannelOp.UNMASK, EventChannelOp.CLOSE}) {
      s.add(new Spec(ev, "port op " + sub).arg(0, Kind.SMALL, sub).arg(1, Kind.PTR, buf)
          .field("port", 0, 4, Kind.PORT, 1));
    }
    s.add(new Spec(ev, "status").arg(0, Kind.SMALL, EventChannelOp.STATUS).arg(1, Kind.PTR, buf)
        .field("dom", 0, 2, Kind.DOMID, self).field("port", 4, 4, Kind.PORT, 1));
    s.add(new Spec(ev, "bind_vcpu").arg(0, Kind.SMALL, EventChannelOp.BIND_VCPU)
        .arg(1, Kind.PTR, buf).field("port", 0, 4, Kind.PORT, 1).field("vcpu", 4, 4, Kind.VCPUID,
            1));
    s.add(new Spec(ev, "init_control").arg(0, Kind.SMALL, EventChannelOp.INIT_CONTROL)
        .arg(1, Kind.PTR, buf).field("gfn", 0, 8, Kind.FRAME, own)
        .field("offset", 8, 4, Kind.OFFSET, 0).field("vcpu", 12, 4, Kind.VCPUID, 0));

    Hypercall gt = Hypercall.GRANT_TABLE_OP;
    s.add(new Spec(gt, "map").arg(0, Kind.SMALL, GrantTableOp.MAP_GRANT_REF)
        .arg(1, Kind.PTR, buf).arg(2, Kind.COUNT, 1)
        .field("host_addr", GrantTableOp.MAP_HOST_ADDR, 8, Kind.HOST, c.validHost())
        .field("flags", GrantTableOp.MAP_FLAGS, 4, Kind.FLAGS, GrantTableOp.GNTMAP_HOST_MAP)
        .field("ref", GrantTableOp.MAP_REF, 4, Kind.REF, FuzzVictim.RW_REF)
        .field("dom", GrantTableOp.MAP_DOM, 2, Kind.DOMID, victim));
    s.add(new Spec(gt, "unmap").arg(0, Kind.SMALL, GrantTableOp.UNMAP_GRANT_REF)
        .arg(1, Kind.PTR, buf).arg(2, Kind.COUNT, 1)
        .field("host_addr", GrantTableOp.UNMAP_HOST_ADDR, 8, Kind.HOST, c.validHost())
        .field("handle", GrantTableOp.UNMAP_HANDLE, 4, Kind.REF, 0));
    s.add(new Spec(gt, "copy").arg(0, Kind.SMALL, GrantTableOp.COPY).arg(1, Kind.PTR, buf)
        .arg(2, Kind.COUNT, 1)
        .field("src ref", GrantTableOp.COPY_SOURCE, 4, Kind.REF, FuzzVictim.RW_REF)
        .field("src dom", GrantTableOp.COPY_SOURCE + 4, 2, Kind.DOMID, victim)
        .field("src offset", GrantTableOp.COPY_SOURCE + 6, 2, Kind.OFFSET, 0)
        .field("dst frame", GrantTableOp.COPY_DEST, 4, Kind.FRAME, own)
        .field("dst dom", GrantTableOp.COPY_DEST + 4, 2, Kind.DOMID, self)
        .field("dst offset", GrantTableOp.COPY_DEST + 6, 2, Kind.OFFSET, 0)
        .field("len", GrantTableOp.COPY_LEN, 2, Kind.OFFSET, 64)
        .field("flags", GrantTableOp.COPY_FLAGS, 2, Kind.FLAGS, GrantTableOp.GNTCOPY_SOURCE_GREF));
    s.add(new Spec(gt, "copy into a grant").arg(0, Kind.SMALL, GrantTableOp.COPY)
        .arg(1, Kind.PTR, buf).arg(2, Kind.COUNT, 1)
        .field("src frame", GrantTableOp.COPY_SOURCE, 4, Kind.FRAME, own)
        .field("src dom", GrantTableOp.COPY_SOURCE + 4, 2, Kind.DOMID, self)
        .field("src offset", GrantTableOp.COPY_SOURCE + 6, 2, Kind.OFFSET, 0)
        .field("dst ref", GrantTableOp.COPY_DEST, 4, Kind.REF, FuzzVictim.RW_REF)
        .field("dst dom", GrantTableOp.COPY_DEST + 4, 2, Kind.DOMID, c.pv.d.domid())
        .field("dst offset", GrantTableOp.COPY_DEST + 6, 2, Kind.OFFSET, 0)
        .field("len", GrantTableOp.COPY_LEN, 2, Kind.OFFSET, 64)
        .field("flags", GrantTableOp.COPY_FLAGS, 2, Kind.FLAGS, GrantTableOp.GNTCOPY_DEST_GREF));
    s.add(new Spec(gt, "setup_table").arg(0, Kind.SMALL, GrantTableOp.SETUP_TABLE)
        .arg(1, Kind.PTR, buf).arg(2, Kind.COUNT, 1)
        .field("dom", GrantTableOp.SETUP_DOM, 2, Kind.DOMID, self)
        .field("nr_frames", GrantTableOp.SETUP_NR_FRAMES, 4, Kind.COUNT, 2)
        .field("frame_list", GrantTableOp.SETUP_FRAME_LIST, 4, Kind.PTR, list));
    s.add(new Spec(gt, "query_size").arg(0, Kind.SMALL, GrantTableOp.QUERY_SIZE)
        .arg(1, Kind.PTR, buf).arg(2, Kind.COUNT, 1)
        .field("dom", GrantTableOp.QUERY_DOM, 2, Kind.DOMID, self));
    s.add(new Spec(gt, "set_version").arg(0, Kind.SMALL, GrantTableOp.SET_VERSION)
        .arg(1, Kind.PTR, buf).field("version", 0, 4, Kind.SMALL, 1));
    s.add(new Spec(gt, "get_version").arg(0, Kind.SMALL, GrantTableOp.GET_VERSION)
        .arg(1, Kind.PTR, buf).field("dom", 0, 2, Kind.DOMID, self));

    Hypercall mem = Hypercall.MEMORY_OP;
    byte[] gfns = le(8).putInt(0, (int) c.ownFrame(1)).putInt(4, (int) c.ownFrame(2)).array();
    for (int sub : new int[] {MemoryOp.DECREASE_RESERVATION, MemoryOp.POPULATE_PHYSMAP,
        MemoryOp.INCREASE_RESERVATION}) {
      s.add(new Spec(mem, "reservation " + sub).arg(0, Kind.SMALL, sub).arg(1, Kind.PTR, buf)
          .field("extent_start", MemoryOp.RES_EXTENT_START, 4, Kind.PTR, list)
          .field("nr_extents", MemoryOp.RES_NR_EXTENTS, 4, Kind.COUNT, 2)
          .field("extent_order", MemoryOp.RES_EXTENT_ORDER, 4, Kind.SMALL, 0)
          .field("domid", MemoryOp.RES_DOMID, 2, Kind.DOMID, self).list(gfns));
    }
    s.add(new Spec(mem, "add_to_physmap").arg(0, Kind.SMALL, MemoryOp.ADD_TO_PHYSMAP)
        .arg(1, Kind.PTR, buf).field("domid", MemoryOp.ATP_DOMID, 2, Kind.DOMID, self)
        .field("space", MemoryOp.ATP_SPACE, 4, Kind.SMALL, MemoryOp.SPACE_GRANT_TABLE)
        .field("idx", MemoryOp.ATP_IDX, 4, Kind.COUNT, 0)
        .field("gpfn", MemoryOp.ATP_GPFN, 4, Kind.FRAME, (a.top >>> 12) + 16));
    s.add(new Spec(mem, "memory_map").arg(0, Kind.SMALL, MemoryOp.MEMORY_MAP)
        .arg(1, Kind.PTR, buf).field("nr_entries", MemoryOp.MAP_NR_ENTRIES, 4, Kind.COUNT, 3)
        .field("buffer", MemoryOp.MAP_BUFFER, 4, Kind.PTR, list));
    s.add(new Spec(mem, "current_reservation").arg(0, Kind.SMALL, MemoryOp.CURRENT_RESERVATION)
        .arg(1, Kind.PTR, buf).field("domid", 0, 2, Kind.DOMID, self));

    for (int sub : new int[] {HvmOp.SET_PARAM, HvmOp.GET_PARAM}) {
      s.add(new Spec(Hypercall.HVM_OP, "param " + sub).arg(0, Kind.SMALL, sub)
          .arg(1, Kind.PTR, buf).field("domid", HvmOp.PARAM_DOMID, 2, Kind.DOMID, self)
          .field("index", HvmOp.PARAM_INDEX, 4, Kind.SMALL, HvmOp.PARAM_CALLBACK_IRQ)
          .field("value", HvmOp.PARAM_VALUE, 8, Kind.TIME, 2L << 56 | 0xF3));
    }

    Hypercall sched = Hypercall.SCHED_OP;
    byte[] ports = le(8).putInt(0, 1).putInt(4, c.pvh.boundPort).array();
    s.add(new Spec(sched, "poll").arg(0, Kind.SMALL, SchedOp.POLL).arg(1, Kind.PTR, buf)
        .field("ports", SchedOp.POLL_PORTS, 4, Kind.PTR, list)
        .field("nr_ports", SchedOp.POLL_NR_PORTS, 4, Kind.COUNT, 2)
        .field("timeout", SchedOp.POLL_TIMEOUT, 8, Kind.TIME, c.hv.now() + 1_000_000)
        .list(ports));
    s.add(new Spec(sched, "remote_shutdown").arg(0, Kind.SMALL, SchedOp.REMOTE_SHUTDOWN)
        .arg(1, Kind.PTR, buf).field("domid", 0, 2, Kind.DOMID, victim)
        .field("reason", 4, 4, Kind.SMALL, 0));
    s.add(new Spec(sched, "shutdown").arg(0, Kind.SMALL, SchedOp.SHUTDOWN).arg(1, Kind.PTR, buf)
        .field("reason", 0, 4, Kind.SMALL, 99));

    s.add(new Spec(Hypercall.XEN_VERSION, "get_features").arg(0, Kind.SMALL,
        XenVersion.GET_FEATURES).arg(1, Kind.PTR, buf).field("index", 0, 4, Kind.SMALL, 0));
    s.add(new Spec(Hypercall.XEN_VERSION, "capabilities").arg(0, Kind.SMALL,
        XenVersion.CAPABILITIES).arg(1, Kind.PTR, buf));
    s.add(new Spec(Hypercall.CONSOLE_IO, "write").arg(0, Kind.SMALL, 0).arg(1, Kind.COUNT, 16)
        .arg(2, Kind.PTR, buf));
    s.add(new Spec(Hypercall.SET_TIMER_OP, "set_timer_op").arg(0, Kind.COUNT, 1_000_000)
        .arg(1, Kind.COUNT, 0));

    byte[] entry = le(Multicall.ENTRY_SIZE).putInt(Multicall.ENTRY_OP,
        Hypercall.XEN_VERSION.number()).putInt(Multicall.ENTRY_ARGS, XenVersion.VERSION).array();
    s.add(new Spec(Hypercall.MULTICALL, "multicall").arg(0, Kind.PTR, buf)
        .arg(1, Kind.COUNT, 1).field("op", Multicall.ENTRY_OP, 4, Kind.SMALL,
            Hypercall.XEN_VERSION.number())
        .field("arg1", Multicall.ENTRY_ARGS, 4, Kind.SMALL, XenVersion.VERSION)
        .field("arg2", Multicall.ENTRY_ARGS + 4, 4, Kind.PTR, list).list(entry));

    s.add(new Spec(Hypercall.DOMCTL, "domctl").arg(0, Kind.PTR, buf)
        .field("cmd", ControlOp.DOMCTL_CMD, 4, Kind.SMALL, ControlOp.DOMCTL_PAUSEDOMAIN)
        .field("version", ControlOp.DOMCTL_VERSION, 4, Kind.SMALL,
            ControlOp.DOMCTL_INTERFACE_VERSION)
        .field("domain", ControlOp.DOMCTL_DOMAIN, 2, Kind.DOMID, victim));
    s.add(new Spec(Hypercall.DM_OP, "dm_op").arg(0, Kind.DOMID, victim).arg(1, Kind.COUNT, 1)
        .arg(2, Kind.PTR, buf));

    if (a.kind.pv()) {
      pvSpecs(s, buf, list, own);
    }
    return s;
  }

  /** The PV MMU, descriptors, traps and callbacks. */
  private void pvSpecs(List<Spec> s, int buf, int list, long own) {
    FuzzAttacker a = c.attacker;
    long l1 = a.d.p2m().lookup(3);
    long spare = a.d.p2m().lookup(40);
    s.add(new Spec(Hypercall.MMU_UPDATE, "mmu_update").arg(0, Kind.PTR, buf)
        .arg(1, Kind.COUNT, 1).arg(2, Kind.PTR, list).arg(3, Kind.DOMID,
            EventChannelOp.DOMID_SELF)
        .field("ptr", PvMmuAbi.MMU_PTR, 8, Kind.HOST, l1 << 12 | 8 * 20)
        .field("val", PvMmuAbi.MMU_VAL, 8, Kind.PTE, own << 12 | 7));
    for (int cmd : new int[] {PvMmuAbi.MMUEXT_PIN_L1_TABLE, PvMmuAbi.MMUEXT_NEW_BASEPTR,
        PvMmuAbi.MMUEXT_SET_LDT, PvMmuAbi.MMUEXT_TLB_FLUSH_MULTI}) {
      s.add(new Spec(Hypercall.MMUEXT_OP, "mmuext " + cmd).arg(0, Kind.PTR, buf)
          .arg(1, Kind.COUNT, 1).arg(2, Kind.PTR, list).arg(3, Kind.DOMID,
              EventChannelOp.DOMID_SELF)
          .field("cmd", PvMmuAbi.EXT_CMD, 4, Kind.SMALL, cmd)
          .field("arg1", PvMmuAbi.EXT_ARG1, 4, Kind.FRAME, cmd == PvMmuAbi.MMUEXT_SET_LDT
              ? a.buffers[3] : spare)
          .field("arg2", PvMmuAbi.EXT_ARG2, 4, Kind.COUNT, cmd == PvMmuAbi.MMUEXT_TLB_FLUSH_MULTI
              ? list : 16));
    }
    s.add(new Spec(Hypercall.UPDATE_VA_MAPPING, "update_va_mapping").arg(0, Kind.PTR, 0x14000)
        .arg(1, Kind.PTE, own << 12 | 7).arg(2, Kind.SMALL, 0).arg(3, Kind.FLAGS,
            PvMmuAbi.UVMF_INVLPG));
    s.add(new Spec(Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN, "update_va_mapping_otherdomain")
        .arg(0, Kind.PTR, 0x14000).arg(1, Kind.PTE, 0).arg(2, Kind.SMALL, 0)
        .arg(3, Kind.FLAGS, PvMmuAbi.UVMF_INVLPG).arg(4, Kind.DOMID, c.pv.d.domid()));
    s.add(new Spec(Hypercall.SET_GDT, "set_gdt").arg(0, Kind.PTR, buf).arg(1, Kind.COUNT, 512)
        .field("frame", 0, 4, Kind.FRAME, spare));
    s.add(new Spec(Hypercall.UPDATE_DESCRIPTOR, "update_descriptor")
        .arg(0, Kind.HOST, spare << 12 | 8).arg(1, Kind.SMALL, 0).arg(2, Kind.SMALL, 0xFFFF)
        .arg(3, Kind.SMALL, 0x00CF_BA00));
    s.add(new Spec(Hypercall.SET_TRAP_TABLE, "set_trap_table").arg(0, Kind.PTR, buf)
        .field("vector", 0, 1, Kind.SMALL, 14).field("flags", 1, 1, Kind.FLAGS, 0)
        .field("cs", 2, 2, Kind.SMALL, 0xE019).field("address", 4, 4, Kind.PTR, 0x5000));
    s.add(new Spec(Hypercall.CALLBACK_OP, "callback register").arg(0, Kind.SMALL, 0)
        .arg(1, Kind.PTR, buf).field("type", 0, 2, Kind.SMALL, 0).field("flags", 2, 2,
            Kind.FLAGS, 0).field("cs", 4, 4, Kind.SMALL, 0xE019).field("eip", 8, 4, Kind.PTR,
            0x5000));
    s.add(new Spec(Hypercall.PHYSDEV_OP, "set_iobitmap").arg(0, Kind.SMALL, 7)
        .arg(1, Kind.PTR, buf).field("bitmap", 0, 4, Kind.PTR, a.buffers[3])
        .field("nr_ports", 4, 4, Kind.COUNT, 1024));
    s.add(new Spec(Hypercall.SET_DEBUGREG, "set_debugreg").arg(0, Kind.SMALL, 7)
        .arg(1, Kind.FLAGS, 0x401));
    s.add(new Spec(Hypercall.VM_ASSIST, "vm_assist").arg(0, Kind.SMALL, 0).arg(1, Kind.SMALL, 3));
    s.add(new Spec(Hypercall.STACK_SWITCH, "stack_switch").arg(0, Kind.SMALL, 0xE021)
        .arg(1, Kind.PTR, 0x7FF0));
  }

  /** The call as {@code spec} has it, with {@code edge} (if any) set to {@code value}. */
  private void call(Spec spec, Field edge, long value) {
    FuzzAttacker a = c.attacker;
    int[] args = new int[6];
    ByteBuffer struct = le(256);
    for (Field f : spec.fields) {
      long v = f == edge ? value : f.valid();
      if (f.offset() < 0) {
        args[-1 - f.offset()] = (int) v;
        continue;
      }
      switch (f.size()) {
        case 1 -> struct.put(f.offset(), (byte) v);
        case 2 -> struct.putShort(f.offset(), (short) v);
        case 4 -> struct.putInt(f.offset(), (int) v);
        default -> struct.putLong(f.offset(), v);
      }
    }
    a.write(a.buffers[0], struct.array());
    if (spec.list.length > 0) {
      a.write(a.buffers[1], spec.list);
    }
    c.run(spec.call.number(), args, PvTestDomains.STACK_TOP);
  }

  /** Every spec valid, then every edge of every field, the rest valid. */
  void sweep() {
    int n = specs().size();
    for (int i = 0; i < n; i++) {
      call(specs().get(i), null, 0);
      int fields = specs().get(i).fields.size();
      for (int k = 0; k < fields; k++) {
        Spec spec = specs().get(i);
        Field f = spec.fields.get(k);
        for (long v : edges(f.kind())) {
          // The attacker may have been rebuilt: its values are taken afresh for each call.
          Spec now = specs().get(i);
          call(now, now.fields.get(k), v);
        }
      }
    }
  }
}
