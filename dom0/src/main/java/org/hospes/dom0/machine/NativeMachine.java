package org.hospes.dom0.machine;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.BiFunction;
import org.hospes.dom0.boot.BiosLeftState;
import org.hospes.dom0.boot.BiosRom;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.LoadedKernel;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.BootTarget;
import org.hospes.dom0.boot.loader.BootedKernel;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.boot.loader.MultibootKernelLoader;
import org.hospes.dom0.devicemodel.FwCfg;
import org.hospes.dom0.devicemodel.IsaDebugExit;
import org.hospes.dom0.devicemodel.pci.I440fx;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.hospes.dom0.devicemodel.Uart16550;
import org.hospes.hv.platform.CmosRtc;
import org.hospes.hv.platform.CpuInterrupts;
import org.hospes.hv.platform.Hpet;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.platform.Pic8259Pair;
import org.hospes.hv.platform.Pit8254;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.Exceptions;
import org.hospes.x86.Flags;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;

/**
 * The "native" mode of the comparison table: a bare emulated PC with no hypervisor. RAM from
 * address 0, the cascaded 8259A interrupt controllers (ports 0x20/0xA0, ELCR at 0x4D0), the 8254
 * timer (ports 0x40-0x43 and 0x61) on IRQ 0, a local APIC (xAPIC at 0xFEE00000 with its
 * timer, IA32_APIC_BASE and CPUID.1:EDX.APIC; the hypervisor's {@link LocalApic}), an HPET at
 * 0xFED00000 ({@link Hpet}; legacy replacement takes IRQ 0 from the PIT), the CMOS RTC at
 * 0x70/0x71 on IRQ 8 ({@link CmosRtc}, starting at a fixed date), a 16550 UART
 * on COM1 (IRQ 4), an i440FX PCI host bridge with the PIIX3 ISA bridge ({@link I440fx}, config
 * mechanism #1 at 0xCF8/0xCFC), QEMU's isa-debug-exit at port 0xF4 and QEMU's fw_cfg at 0x510/0x511;
 * with {@link Builder#ideDisk} disks, the PIIX3's IDE function at 00:01.1 on the legacy IDE
 * ports (IRQ 14 and 15), the same model dom0's device model serves an HVM domain with.
 * A Multiboot loader stands in for the boot loader, and the PIC and PIT are left as the
 * firmware leaves them ({@link BiosLeftState}: IRQ 0 at vector 8, 18.2 Hz).
 *
 * <p>Time is virtual ({@link VirtualClock}): the processor's cycle count at a nominal 1 GHz, one
 * cycle per instruction plus what the cost model charges as it happens (page-walk references,
 * exception and interrupt delivery, port and MMIO accesses: the model's native costs, the same
 * ones a hypervisor mode charges for the work its processor does). The run loop runs the
 * processor in slices that end at the next timer deadline (at a block boundary), so a timer
 * interrupt arrives at the same instruction in every run. A HLT with
 * interrupts enabled skips virtual time forward to the next deadline ({@link Cpu#addIdleCycles})
 * instead of spinning.
 *
 * <p>The life cycle is build, {@link #loadMultiboot}, then {@link #run} until a terminal result.
 * A run that stops at its instruction limit may be resumed with another call to {@code run}.
 *
 * <p>Exit conventions (see {@link ExitStatus}): isa-debug-exit with value V gives status
 * {@code (V << 1) | 1}; a HLT that nothing can end gives 0 (interrupts disabled, or enabled with
 * nothing pending, no timer armed, or IRQ 0 masked; see {@link #sleep}); an exception the
 * processor could not deliver, or a triple fault, gives 3; the instruction limit gives 4. Crashes
 * and limits are also reported as one line on the diagnostics stream
 * ({@code hospes: kernel.elf: unhandled #UD at eip=0x00101234 (error code 0)}).
 */
public final class NativeMachine {

  public static final int DEFAULT_RAM_MIB = 64;
  /** The ISA interrupt lines of the devices. */
  public static final int TIMER_IRQ = 0;
  public static final int COM1_IRQ = 4;
  /** RAM is one Java array, so it stays below 2 GiB. */
  public static final int MAX_RAM_MIB = 2047;
  /**
   * Instructions per call into the processor. Between slices serial output is flushed, so that
   * a kernel that prints a prompt and spins is seen; the cost is one call per few million
   * instructions.
   */
  static final long SLICE = 1 << 22;
  /**
   * Consecutive timer deadlines a halted processor may sleep through without any interrupt
   * becoming deliverable before the machine counts as hung (e.g. IRQ 0 left in service without an
   * EOI): then the run ends as halted, as when nothing could wake it at all.
   */
  static final int MAX_FRUITLESS_WAKES = 1 << 16;

  private enum State { EMPTY, LOADED, FINISHED }

  private final MemoryBus memory;
  private final IoBus io;
  private final Cpu cpu;
  private final Uart16550 com1;
  private final Pic8259Pair pic;
  private final Pit8254 pit;
  private final LocalApic lapic;
  private final Hpet hpet;
  private final CmosRtc rtc;
  private final PciHostBridge pci;
  private final CpuInterrupts interrupts;
  private final VirtualClock clock;
  private final CostModel costModel;
  private final TimerQueue timers = new TimerQueue();
  private final PrintStream diagnostics;
  private final HostLink link;
  private final GuestOutputTail output;
  private final org.hospes.dom0.devicemodel.ide.Piix3Ide ide;

  private State state = State.EMPTY;
  private String kernelName = "kernel";
  private boolean debugExitRequested;
  private int debugExitStatus;

  private NativeMachine(Builder b) {
    memory = new MemoryBus(b.ramMiB << 20);
    io = new IoBus();
    pic = new Pic8259Pair();
    pic.register(io);
    output = new GuestOutputTail(b.serialOut);
    com1 = new Uart16550(output, asserted -> pic.setLevel(COM1_IRQ, asserted));
    io.register(Uart16550.COM1_BASE, Uart16550.PORT_COUNT, com1);
    io.register(IsaDebugExit.DEFAULT_PORT, IsaDebugExit.PORT_COUNT,
        new IsaDebugExit((value, status) -> debugExit(status)));
    io.register(FwCfg.SELECTOR_PORT, FwCfg.PORT_COUNT, new FwCfg(memory.ramSize(), 1));
    pci = I440fx.hostBridge();
    io.register(PciHostBridge.CONFIG_ADDRESS, PciHostBridge.PORT_COUNT, pci);
    diagnostics = b.diagnostics;
    link = b.link;
    cpu = b.cpuFactory.apply(memory, io);
    costModel = b.costModel;
    // The same cost model as the hypervisor modes: walks, event delivery and device accesses
    // advance the clock (and the TSC) as they happen.
    cpu.setCosts(costModel.cpuCosts());
    // A port access costs what its device says it takes on its bus, in the model's cycles
    // (an IDE data port is far quicker than port 0x80); the others the model's default.
    io.setPricing(costModel::devicePortAccess);
    cpu.setInterruptController(pic);
    clock = new VirtualClock(cpu::cycles);
    hpet = new Hpet(clock, timers, (irq, high) -> pic.setLevel(irq, high));
    memory.mapMmio(Hpet.BASE, Hpet.SIZE, hpet);
    pit = new Pit8254(clock, timers, hpet::pitOutput);
    pit.register(io);
    rtc = new CmosRtc(clock, timers, high -> pic.setLevel(CmosRtc.IRQ, high),
        CmosRtc.DEFAULT_START);
    rtc.register(io);
    lapic = new LocalApic(0, clock, timers);
    memory.mapMmio(LocalApic.BASE, LocalApic.SIZE, lapic);
    cpu.setApicBaseMsr(lapic);
    interrupts = new CpuInterrupts(lapic, pic, CpuInterrupts.Order.APIC_FIRST);
    cpu.setInterruptController(interrupts);
    ide = b.disks.isEmpty() ? null : attachIde(b.disks);
  }

  /**
   * The PIIX3's IDE function at 00:01.1 with {@code disks} at hda, hdb, hdc, hdd: its legacy
   * ports on this machine's own bus (a port access costs a PIO mode 4 cycle per 16 bits,
   * {@link org.hospes.dom0.devicemodel.ide.Piix3Ide#PIO4_CYCLE_NS}), IRQ 14 and 15 on the PIC, and bus-master DMA
   * straight into RAM. The BAR4 registers are not decoded (this bus has fixed ranges only), so
   * a guest drives the disks by PIO here.
   */
  private org.hospes.dom0.devicemodel.ide.Piix3Ide attachIde(
      java.util.List<org.hospes.dom0.disk.DiskImage> disks) {
    org.hospes.dom0.devicemodel.GuestDma ram = new org.hospes.dom0.devicemodel.GuestDma() {
      @Override
      public void read(long gpa, byte[] dst, int off, int len) {
        check(gpa, len);
        memory.read(gpa, dst, off, len);
      }

      @Override
      public void write(long gpa, byte[] src, int off, int len) {
        check(gpa, len);
        memory.write(gpa, src, off, len);
      }

      private void check(long gpa, int len) {
        if (gpa < 0 || len < 0 || gpa + len > memory.ramSize()) {
          throw new IllegalArgumentException(String.format("DMA of %d bytes at 0x%x", len, gpa));
        }
      }
    };
    org.hospes.dom0.devicemodel.ide.Piix3Ide c = new org.hospes.dom0.devicemodel.ide.Piix3Ide(
        irq -> level -> pic.setLevel(irq, level), ram);
    c.attach(pci, io::register);
    for (int i = 0; i < disks.size(); i++) {
      c.attachDisk(i, new org.hospes.dom0.devicemodel.ide.AtaDrive(disks.get(i),
          String.format("HOSPES%04d%d", 0, i), "HOSPES HARDDISK"));
    }
    return c;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Configures a machine. Defaults: 64 MiB, serial output to stdout, diagnostics to stderr. */
  public static final class Builder {
    private int ramMiB = DEFAULT_RAM_MIB;
    private OutputStream serialOut = System.out;
    private PrintStream diagnostics = System.err;
    private BiFunction<MemoryBus, IoBus, Cpu> cpuFactory = Cpu::new;
    private CostModel costModel = new DefaultCostModel();
    private HostLink link = HostLink.NONE;
    private final java.util.List<org.hospes.dom0.disk.DiskImage> disks =
        new java.util.ArrayList<>();

    private Builder() {}

    /**
     * Adds an IDE disk on the PIIX3's IDE function: the first at hda (primary master), then
     * hdb, hdc, hdd. The machine does not close the image.
     */
    public Builder ideDisk(org.hospes.dom0.disk.DiskImage image) {
      Preconditions.checkArgument(disks.size() < org.hospes.dom0.devicemodel.ide.Piix3Ide
          .MAX_DISKS, "at most 4 IDE disks (hda..hdd)");
      disks.add(Objects.requireNonNull(image));
      return this;
    }

    /** Input for COM1 and stop requests from the host, between slices. */
    public Builder hostLink(HostLink link) {
      this.link = Objects.requireNonNull(link);
      return this;
    }

    public Builder ramMiB(int ramMiB) {
      Preconditions.checkArgument(ramMiB >= 1 && ramMiB <= MAX_RAM_MIB,
          "RAM must be 1 to %s MiB, got %s", MAX_RAM_MIB, ramMiB);
      this.ramMiB = ramMiB;
      return this;
    }

    /** Where bytes the kernel writes to COM1 go. */
    public Builder serialOut(OutputStream serialOut) {
      this.serialOut = Objects.requireNonNull(serialOut);
      return this;
    }

    /** Where one-line crash and limit reports go. */
    public Builder diagnostics(PrintStream diagnostics) {
      this.diagnostics = Objects.requireNonNull(diagnostics);
      return this;
    }

    /** The cost model whose native costs the processor charges (default: {@code default}). */
    public Builder costModel(CostModel costModel) {
      this.costModel = Objects.requireNonNull(costModel);
      return this;
    }

    /** The seam for tests that drive the run loop with a scripted processor. */
    Builder cpuFactory(BiFunction<MemoryBus, IoBus, Cpu> cpuFactory) {
      this.cpuFactory = Objects.requireNonNull(cpuFactory);
      return this;
    }

    public NativeMachine build() {
      return new NativeMachine(this);
    }
  }

  /**
   * Loads a Multiboot kernel from a file and puts the processor in the Multiboot entry state.
   *
   * @param cmdline the kernel command line, or {@code null} for none
   * @throws BootException with a one-line reason if the file is missing, unreadable or unbootable
   */
  public LoadedKernel loadMultiboot(Path kernel, String cmdline) throws BootException {
    return loadMultiboot(KernelFiles.read(kernel), kernel.toString(), cmdline);
  }

  /**
   * Loads a Multiboot kernel image already in memory.
   *
   * @param name how diagnostics refer to the kernel
   */
  public LoadedKernel loadMultiboot(byte[] image, String name, String cmdline)
      throws BootException {
    Preconditions.checkState(state == State.EMPTY, "a kernel is already loaded");
    LoadedKernel loaded = new MultibootKernelLoader().loadMultiboot(image, cmdline,
        bootTarget());
    kernelName = name;
    // A boot loader runs after the firmware: the PIC and PIT are as SeaBIOS leaves them.
    BiosLeftState.apply(io);
    firmwarePci();
    state = State.LOADED;
    return loaded;
  }

  /**
   * Maps a system ROM as a PC does ({@link BiosRom}: a copy ending at 1 MiB, the alias ending at
   * 4 GiB) and puts the processor in its RESET state: real mode at F000:FFF0 with CS base
   * 0xFFFF0000, so the first instruction comes from the top of the alias. No boot loader and
   * no firmware ran: the PIC and PIT are in their power-on state, for the ROM to program.
   */
  public void loadBios(BiosRom rom, String name) throws BootException {
    Preconditions.checkState(state == State.EMPTY, "a kernel is already loaded");
    if (memory.ramSize() < BiosRom.LOW_END) {
      throw new BootException("a BIOS needs at least 1 MiB of RAM");
    }
    byte[] image = rom.bytes();
    memory.write(rom.lowBase(), image, 0, image.length);
    memory.mapMmio(rom.highBase(), rom.size(), rom);
    kernelName = name;
    cpu.resetReal();
    state = State.LOADED;
  }

  /**
   * Loads a kernel with {@code loader}, which puts the processor in its start-of-day state.
   * A boot loader runs after the firmware: the PIC and PIT are as SeaBIOS leaves them.
   *
   * @param name how diagnostics refer to the kernel
   */
  public BootedKernel load(KernelLoader loader, byte[] image, String name, BootRequest request)
      throws BootException {
    Preconditions.checkState(state == State.EMPTY, "a kernel is already loaded");
    BootedKernel loaded = loader.load(image, request, bootTarget());
    kernelName = name;
    BiosLeftState.apply(io);
    firmwarePci();
    state = State.LOADED;
    return loaded;
  }

  /**
   * With a PCI device besides the bridges (the IDE function), the bus as firmware leaves it
   * when no BIOS runs ({@link org.hospes.dom0.devicemodel.pci.PciFirmware}): I/O decoding on.
   */
  private void firmwarePci() {
    if (ide != null) {
      org.hospes.dom0.devicemodel.pci.PciFirmware.program(pci, io);
    }
  }

  private BootTarget bootTarget() {
    return new BootTarget(BootMode.NATIVE, memory, memory.ramSize(), cpu);
  }

  /** Runs until the kernel stops, with no instruction limit. */
  public RunResult run() {
    return run(Long.MAX_VALUE);
  }

  /**
   * Runs until the kernel stops or {@code maxInstructions} more instructions have retired. A
   * result with {@link ExitStatus#INSTRUCTION_LIMIT} leaves the machine resumable.
   */
  public RunResult run(long maxInstructions) {
    Preconditions.checkArgument(maxInstructions > 0, "instruction limit must be positive");
    Preconditions.checkState(state != State.EMPTY, "no kernel loaded");
    Preconditions.checkState(state != State.FINISHED, "the kernel has already stopped");
    long start = cpu.instructions();
    try {
      while (true) {
        timers.runExpired(clock.now());
        long used = cpu.instructions() - start;
        if (used >= maxInstructions) {
          return report(ExitStatus.INSTRUCTION_LIMIT, String.format(
              "instruction limit of %d reached at eip=0x%08x", maxInstructions, cpu.eip()));
        }
        int exit = cpu.run(sliceLength(maxInstructions - used));
        com1.flush();
        RunResult result = handleExit(exit);
        if (result == IDLE) {
          result = sleep();
        }
        if (result != null) {
          state = State.FINISHED;
          return result;
        }
        String stop = link.afterSlice();
        if (stop != null) {
          // Between slices: an instruction boundary, so the machine stays resumable.
          // Not printed here: the caller's run line says it (hospes run: once, with the
          // status and counts under --stats).
          return new RunResult(link.stopStatus(), RunResult.STOPPED_PREFIX + stop,
              cpu.instructions());
        }
      }
    } finally {
      com1.flush();
    }
  }

  /**
   * Cycles for the next call into the processor: at most {@link #SLICE}, and the instructions
   * left (every instruction costs at least one cycle, so the slice cannot retire more), and no
   * further than the next timer deadline.
   */
  private long sliceLength(long left) {
    long n = Math.min(SLICE, left);
    long next = timers.nextDeadline();
    if (next != TimerQueue.NEVER) {
      n = Math.min(n, Math.max(1, next - clock.now()));
    }
    return n;
  }

  /**
   * The processor halted with interrupts enabled and nothing deliverable: lets virtual time pass
   * from deadline to deadline, firing the timers, until an interrupt is pending (returns null:
   * the next run delivers it) or nothing can wake the processor any more (returns the halted
   * result).
   */
  private RunResult sleep() {
    for (int wakes = 0; wakes < MAX_FRUITLESS_WAKES; wakes++) {
      long next = timers.nextDeadline();
      long now = clock.now();
      if (next > now) {
        cpu.addIdleCycles(next - now);
      }
      timers.runExpired(clock.now());
      if (interrupts.pending()) {
        return null;
      }
      if (!canWake()) {
        break;
      }
    }
    return !pic.isMasked(COM1_IRQ) && link.awaitInput() ? null : halted();
  }

  /** True if a halted processor with interrupts enabled can still be woken. */
  private boolean canWake() {
    return interrupts.pending() || (timers.nextDeadline() != TimerQueue.NEVER
        && (!pic.isMasked(TIMER_IRQ) || !pic.isMasked(CmosRtc.IRQ) || lapic.timerCanInterrupt()
            || hpet.canInterrupt()));
  }

  private RunResult halted() {
    return new RunResult(ExitStatus.HALTED, RunResult.HALTED, cpu.instructions());
  }

  /** Maps one processor exit to a terminal result, or null to keep running. */
  private RunResult handleExit(int exit) {
    if (debugExitRequested) {
      // Checked first: the stop request is what ended the slice, whatever else happened.
      return new RunResult(debugExitStatus, RunResult.DEBUG_EXIT, cpu.instructions());
    }
    switch (exit) {
      case CpuExit.BUDGET:
        return null;
      case CpuExit.HLT:
        if ((cpu.eflags() & Flags.IF) == 0) {
          // Only NMI or reset could end this halt, and this machine has neither.
          return halted();
        }
        if (!canWake()) {
          // A COM1 interrupt from host input is the last thing that could wake it.
          return !pic.isMasked(COM1_IRQ) && link.awaitInput() ? null : halted();
        }
        // The next run delivers a pending interrupt; otherwise the machine sleeps to a deadline.
        return interrupts.pending() ? null : IDLE;
      case CpuExit.EXCEPTION:
        return crashed(String.format("unhandled %s at eip=0x%08x (error code %s)",
            Exceptions.mnemonic(cpu.exceptionVector()), cpu.eip(),
            hex(cpu.exceptionErrorCode())));
      case CpuExit.TRIPLE_FAULT:
        return crashed(String.format("triple fault at eip=0x%08x (delivering %s)", cpu.eip(),
            Exceptions.describe(cpu.exceptionVector(), cpu.exceptionErrorCode(), cpu.cr2())));
      default:
        // STOPPED without a stop request, or an exit this machine does not know: a bug here.
        throw new IllegalStateException("unexpected processor exit " + CpuExit.name(exit));
    }
  }

  /** Marker result of {@link #handleExit}: halted, waiting for a timer. */
  private static final RunResult IDLE = new RunResult(0, "idle", 0);

  private RunResult report(int status, String reason) {
    diagnostics.println("hospes: " + kernelName + ": " + reason);
    diagnostics.flush();
    return new RunResult(status, reason, cpu.instructions());
  }

  /** A crash: the one-line reason, then what the kernel printed last. */
  private RunResult crashed(String reason) {
    RunResult r = report(ExitStatus.GUEST_CRASHED, reason);
    output.report(diagnostics);
    return r;
  }

  private void debugExit(int status) {
    if (debugExitRequested) {
      // QEMU is gone after the first write; a later one before the processor stops must not
      // change the verdict.
      return;
    }
    debugExitRequested = true;
    debugExitStatus = status;
    cpu.requestStop();
  }

  private static String hex(int value) {
    return value == 0 ? "0" : "0x" + Integer.toHexString(value);
  }



  public Cpu cpu() {
    return cpu;
  }

  public MemoryBus memory() {
    return memory;
  }

  /** The interrupt controllers. */
  public Pic8259Pair pic() {
    return pic;
  }

  /** The local APIC. */
  public LocalApic lapic() {
    return lapic;
  }

  /** The HPET. */
  public Hpet hpet() {
    return hpet;
  }

  /** The IDE controller of the {@link Builder#ideDisk} disks, or null without disks. */
  public org.hospes.dom0.devicemodel.ide.Piix3Ide ide() {
    return ide;
  }

  /** The PCI host bridge (configuration mechanism #1). */
  public PciHostBridge pci() {
    return pci;
  }

  /** The CMOS real-time clock. */
  public CmosRtc rtc() {
    return rtc;
  }

  /** The interval timer. */
  public Pit8254 pit() {
    return pit;
  }

  /** The cost model the processor charges. */
  public CostModel costModel() {
    return costModel;
  }

  /** The machine's virtual clock. */
  public VirtualClock clock() {
    return clock;
  }

  /** The COM1 UART, e.g. to queue input for the kernel. */
  public Uart16550 com1() {
    return com1;
  }
}
