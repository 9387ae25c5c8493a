package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.hospes.abi.Hypercall;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.PvKernelLoader;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A classic PV32 kernel built with the SDK's PV runtime, booted by the PV domain builder in
 * {@code --mode pv}: ring compression seen from inside the guest.
 */
class PvGuestTest {
  private static Path pvTraps;
  private static Path pvPagetables;
  private static HvmMachine machine;
  private static RunResult result;
  private static String out;

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    GuestBuilder builder = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
    pvTraps = builder.buildPv("pv-traps",
        List.of(root.resolve("samples/guests/pv-traps/pv-traps.c")));
    pvPagetables = builder.buildPv("pv-pagetables",
        List.of(root.resolve("samples/guests/pv-pagetables/pv-pagetables.c")));
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    machine = run(pvTraps, console);
    result = machine.run();
    out = console.toString(StandardCharsets.US_ASCII);
  }

  private static HvmMachine run(Path kernel, ByteArrayOutputStream console) throws Exception {
    return run(kernel, null, console);
  }

  private static HvmMachine run(Path kernel, String cmdline, ByteArrayOutputStream console)
      throws Exception {
    HvmMachine m = HvmMachine.create(DomainMode.PV, 16, console,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.load(new PvKernelLoader(), kernel, BootRequest.of(cmdline), null);
    return m;
  }

  /**
   * The page-table-heavy sample: 20 address spaces, each built in free frames, pinned (the
   * whole tree validated), used, remapped with one 16-entry mmu_update batch, and unpinned.
   * Its hypercalls by op are exact, and afterwards no frame keeps a page type.
   */
  @Test
  void pageTableHeavyGuestPinsUsesRemapsAndUnpinsTwentyAddressSpaces() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    HvmMachine m = run(pvPagetables, "20", console);
    RunResult r = m.run();
    assertThat(console.toString(StandardCharsets.US_ASCII)).isEqualTo("pv-pagetables: 20"
        + " address spaces built, pinned, used and torn down; 320 pages remapped\n");
    assertThat(r.reason()).isEqualTo("shutdown: poweroff");
    var c = m.domain().totals();
    assertThat(c.hypercallCount[Hypercall.MMU_UPDATE.number()]).isEqualTo(20);
    // pin, new base, flush, old base, unpin per round.
    assertThat(c.hypercallCount[Hypercall.MMUEXT_OP.number()]).isEqualTo(100);
    // 4 tables filled through the scratch page and its unmapping, per round; plus shared_info.
    assertThat(c.hypercallCount[Hypercall.UPDATE_VA_MAPPING.number()]).isEqualTo(101);
    assertThat(c.hypercallErrors).isZero();
    // A domain that ended keeps its memory, and its page types, until it is destroyed (Xen's
    // domain_relinquish_resources); then no frame keeps a type.
    m.hypervisor().destroy(m.domain(), "xl destroy");
    var info = m.hypervisor().pvPageInfo();
    FrameTable frames = m.hypervisor().frames();
    for (long mfn = 0; mfn < frames.frames(); mfn++) {
      assertThat(info.typeCount(mfn)).as("type count of mfn %d", mfn).isZero();
    }
  }

  @Test
  void pvTrapsKernelBouncesItsTrapsWithXensFramesAndPowersOff() throws Exception {
    HvmMachine m = machine;
    RunResult r = result;
    assertThat(out).startsWith(
        "pv-traps: xen-3.0-x86_32p, 4096 pages, kernel in ring 1\n"
            // ud2a; "xen"; cpuid: Xen's leaves, only through the forced-emulation prefix.
            + "forced cpuid: XenVMMXenVMM max leaf 40000005\n"
            // A read of an unmapped page in ring 1: error code 0 (not present, read, kernel),
            // the address in vcpu_info.arch.cr2, the saved upcall mask in CS[23:16].
            + "#PF error 0 cr2 10000000 from ring 1 (upcall mask 1)\n"
            // HLT in ring 1: #GP(0), which Xen does not emulate.
            + "#GP error 0 from ring 1\n"
            + "resumed after #PF and #GP\n"
            // IN with the virtual IOPL 0: #GP. set_iopl 4 is -EINVAL; with IOPL 1 the ports
            // are emulated: a domU owns none, so 0x71 reads all ones, while the CMOS index
            // (0x70) and CONFIG_ADDRESS (0xCF8, dword) are latched per domain; CLI/STI pass.
            + "#GP error 0 from ring 1\n"
            + "set_iopl 4: -22, set_iopl 1: 0; port 0x70 reads 8f, 0x71 ff, 0xcf8 80000010\n"
            // MOV from CR0 shows the TS fpu_taskswitch set and CLTS cleared; CR3 the L3.
            + "cr0.ts 0/1/0, cr3 is the L3's frame: yes\n"
            + "timer event on port 3 through the event callback (bind 0)\n");
    // Ring 3 through the iret hypercall; int 0x80 through a DPL-3 virtual IDT entry, on the
    // stack_switch stack with the user ESP/SS in the frame; int 0x81 (DPL 1) is #GP(0x40a).
    // No LDT at first: FS <- 0x0f (TI=1, index 1) is #GP(0x0c). MMUEXT_SET_LDT on a page the
    // guest mapped read-only: the processor's descriptor read faults in the shadow LDT area,
    // the page is mapped there (typed a descriptor page) and the load is retried; SLDT shows
    // Xen's LDT selector (FIRST_RESERVED_GDT_ENTRY + 10) << 3.
    assertThat(out).contains("#GP error c from ring 1\n"
        + "ldt: remap read-only 0, set_ldt 0; fs 000f reads 1dc0ffee, sldt e050; unset 0\n"
        // NX in an L1 entry, as Xen allows it (EFER.NXE is on): data reads work, a fetch is
        // #PF with I/D and P from ring 1 (no U); without NX the same jump runs.
        + "nx: map with NX 0, reads ff, jump in: #PF error 11 (cr2 the page: yes); without NX"
        + " 0, jump in: runs\n");
    // SYSENTER from ring 3 (sysenter_entry): with no callback, #GP(0) with the null frame
    // {EIP 0, CS 3}; after callback_op registers one (events masked), the callback gets the
    // same frame with ESP 0 and FLAT_USER_SS; both return to EDX/ECX through iret.
    assertThat(out).contains(
        "#GP error 0 from sysenter (frame eip 0 cs 3)\n"
            + "callback_op register sysenter: 0\n"
            + "sysenter callback: eax 8, frame eip 0 cs 3 esp 0 ss e02b, upcall mask 1\n"
            + "sysenter results: 70 through #GP, 80 through the callback\n"
            + "int 0x80 eax 42 from ring 3 cs e02b ss e033\n"
            + "#GP error 40a from ring 3\n"
            + "back in ring 1 from ring 3; esp on the user stack\n");
    assertThat(r.exitStatus()).isZero();
    assertThat(r.reason()).isEqualTo("shutdown: poweroff");
    var c = m.domain().totals();
    assertThat(c.hypercallCount[Hypercall.SET_TRAP_TABLE.number()]).isEqualTo(1);
    assertThat(c.hypercallCount[Hypercall.IRET.number()]).isGreaterThanOrEqualTo(5);
    assertThat(m.pv().console().bytes()).isEqualTo(out.length());
  }

  @Test
  void hostileDescriptorAndGdtCallsAreRefusedOrFixedUpAsXenDoes() throws Exception {
    assertThat(out).contains(
        // compat set_gdt: too many entries, a frame mapped writable, a page table, a frame
        // the domain does not own: all -EINVAL.
        "set_gdt too many entries: -22\n"
            + "set_gdt writable frame: -22\n"
            + "set_gdt page-table frame: -22\n"
            + "set_gdt foreign frame: -22\n"
            // check_descriptor fixes DPL 0 up to 1 and gives a call gate DPL 0 (any use
            // faults into Xen) with its DPL kept in the target selector's RPL.
            + "update_descriptor DPL0 code: 0, stored DPL 1\n"
            + "update_descriptor call gate: 0, stored DPL 0 selector e01b\n"
            // A gate into Xen's ring-0 code, system descriptors other than call gates,
            // long-mode code, a misaligned address and a page-table frame: -EINVAL.
            + "update_descriptor gate to xen cs: -22\n"
            + "update_descriptor tss: -22\n"
            + "update_descriptor interrupt gate: -22\n"
            + "update_descriptor 64-bit code: -22\n"
            + "update_descriptor misaligned: -22\n"
            + "update_descriptor into the L3: -22\n"
            + "vm_assist writable_pagetables: -22, pae_extended_cr3: 0\n"
            + "update_va_mapping in the hypervisor hole: -22\n");
    assertThat(machine.domain().state()).isEqualTo(DomainState.SHUTDOWN);
  }

  /**
   * set_trap_table takes any code selector (Xen only turns RPL 0 into 1); an entry with a bad
   * one fails when it is used. One naming Xen's ring-0 code segment makes the return to the
   * guest fault, and Xen enters the failsafe callback, here the guest's own, which reports the
   * frame it could not enter and crashes the domain. One with the null selector (0 to 3) never
   * gets that far: compat_create_bounce_frame refuses it (compat_bounce_null_selector) and Xen
   * crashes the domain itself. The other PV domain on the host runs its whole program, and
   * every frame of the crashed domains goes back to the pool with no page type or reference
   * left behind.
   */
  @Test
  void virtualIdtEntriesWithBadSelectorsCrashTheirDomainAndHarmNoOne() throws Exception {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    HostRunner host = HostRunner.create(96, sink);
    FrameTable frames = host.hypervisor().frames();
    int free0 = frames.freeFrames();
    int xen0 = owned(frames, FrameTable.DOMID_XEN);
    GuestDomain xenCs = host.start(new DomainSpec("xen-cs", pvTraps, DomainMode.PV, 16, 256, 0,
        "bad-trap-xen-cs"));
    GuestDomain nullCs = host.start(DomainSpec.parse("null-cs=" + pvTraps
        + ",type=pv,ram=16,cmdline=bad-trap-null-cs", null));
    GuestDomain good = host.start(new DomainSpec("good", pvTraps, DomainMode.PV, 16, 256, 0,
        null));
    host.run(Long.MAX_VALUE);
    assertThat(xenCs.consoleText()).matches("set_trap_table int 0x80 -> e008: 0\n"
        + "failsafe callback: could not enter e009:c0[0-9a-f]{6}\n");
    assertThat(nullCs.consoleText()).isEqualTo("set_trap_table int 0x80 -> 0000: 0\n");
    assertThat(xenCs.outcome().reason()).isEqualTo("shutdown: crash");
    assertThat(nullCs.outcome().kind()).isEqualTo(DomainOutcome.Kind.CRASHED);
    assertThat(nullCs.outcome().reason()).startsWith("unhandled trap 128 ");
    assertThat(good.consoleText()).isEqualTo(out);
    assertThat(good.outcome().reason()).isEqualTo("shutdown: poweroff");
    // Domains that ended keep their memory until the toolstack destroys them, as in Xen.
    for (GuestDomain g : new GuestDomain[] {xenCs, nullCs, good}) {
      host.forget(g.name());
    }
    var info = host.hypervisor().pvPageInfo();
    for (long mfn = 0; mfn < frames.frames(); mfn++) {
      if (frames.owner(mfn) != FrameTable.DOMID_XEN) {
        assertThat(info.typeCount(mfn)).as("type count of mfn %d", mfn).isZero();
        assertThat(info.refCount(mfn)).as("references to mfn %d", mfn).isZero();
      }
    }
    // All three domains' frames are free again, their GDT areas too: the hypervisor keeps
    // only the M2P table (4 bytes per frame) and its L1s, made for the first PV domain.
    int m2pTable = (frames.frames() * 4 + 4095) / 4096;
    int m2p = m2pTable + (m2pTable + 511) / 512;
    for (GuestDomain g : new GuestDomain[] {xenCs, nullCs, good}) {
      assertThat(owned(frames, g.domain().domid())).isZero();
    }
    assertThat(owned(frames, FrameTable.DOMID_XEN)).isEqualTo(xen0 + m2p);
    assertThat(frames.freeFrames()).isEqualTo(free0 - m2p);
  }

  private static int owned(FrameTable frames, int domid) {
    int n = 0;
    for (long mfn = 0; mfn < frames.frames(); mfn++) {
      if (frames.owner(mfn) == domid) {
        n++;
      }
    }
    return n;
  }
}
