package org.hospes.dom0.toolstack.host;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.dom0.toolstack.xl.OnCrash;
import org.hospes.dom0.toolstack.xl.XlConfigException;
import org.hospes.dom0.toolstack.xl.XlDomainConfig;

/**
 * A running host: one hypervisor with dom0's services, driven in wall-clock time by one run
 * thread, and controlled through a Unix socket ({@link Wire}) by the {@code hospes} verbs.
 *
 * <p><b>Wall-clock mode.</b> The virtual clock (1 GHz: one cycle is one nanosecond) is paced to
 * real time: it never runs ahead of the wall clock, so a guest that sleeps one second sleeps one
 * real second, and an idle host uses no CPU. When the emulator is slower than real time (any
 * busy guest), the clock lags and the host runs flat out; the lag is capped at
 * {@value #MAX_LAG_NANOS} ns, so after a busy stretch the clock slips rather than racing to
 * catch up (timers are then late in real time, never early). When nothing can run (every vCPU
 * blocked with no timer) virtual time stands still until a request or console input comes.
 *
 * <p>Every touch of the hypervisor happens on the run thread: socket handlers submit tasks and
 * wait for their results between scheduling decisions, as a toolstack's hypercalls would.
 */
public final class HostDaemon {
  /** How far the virtual clock may fall behind real time before it slips. */
  static final long MAX_LAG_NANOS = 50_000_000;
  /** Longest scheduling decision asked of the hypervisor, so requests wait at most this. */
  private static final long SLICE_CYCLES = 2_000_000;
  private static final long IDLE_WAIT_NANOS = 50_000_000;
  /**
   * A domain that crashes sooner than this after it was built is not restarted (as xl refuses
   * a restart that comes too quickly): a kernel that crashes at boot would otherwise loop.
   */
  static final long MIN_RUN_BEFORE_RESTART_NANOS = 10_000_000_000L;
  /**
   * How long, in virtual time, a console whose piped input ended waits for a guest that never
   * goes idle (one that polls or computes) before it detaches anyway.
   */
  static final long SETTLE_LIMIT_NANOS = 1_000_000_000L;

  private final HostPaths paths;
  private final HostRunner runner;
  private final PrintStream log;
  private final DmesgBuffer dmesg = new DmesgBuffer(256 * 1024);
  private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
  /** Live and preserved domains by name, in creation order (run thread only). */
  private final Map<String, Managed> domains = new LinkedHashMap<>();
  /** Consoles by domain name; shared with socket handlers. */
  private final Map<String, ConsoleHub> consoles = new ConcurrentHashMap<>();
  /** Consoles whose piped input ended, waiting for their domain to settle (run thread only). */
  private final java.util.List<Settling> settling = new java.util.ArrayList<>();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final ServerSocketChannel server;
  private final FileChannel lockFile;
  private final FileLock lock;
  private final long wallStart = System.nanoTime();
  private volatile boolean stopping;
  private Thread runThread;

  /** A console to detach once its domain has taken the input and answered. */
  private record Settling(String name, ConsoleHub hub, ConsoleHub.Attached attached,
      long deadline) {}

  /** A domain the host built and what the toolstack keeps for it. */
  private static final class Managed {
    final XlDomainConfig config;
    GuestDomain guest;
    /** Console input the guest has yet to take (run thread only; see {@link #setPending}). */
    byte[] pendingInput = new byte[0];
    /**
     * pendingInput's length, for the consoles' socket threads: they stop reading their
     * client's input while this is full ({@link #MAX_PENDING_INPUT}).
     */
    volatile int pendingLength;
    /** Set when the toolstack forgets the domain: no input is waited for any more. */
    volatile boolean forgotten;
    boolean preserved;
    final long builtAtNanos = System.nanoTime();

    Managed(XlDomainConfig config, GuestDomain guest) {
      this.config = config;
      this.guest = guest;
    }

    void setPending(byte[] input) {
      pendingInput = input;
      pendingLength = input.length;
    }
  }

  /**
   * The most console input held for a domain, taken or not by its console ring: beyond it the
   * console's socket thread stops reading from its client, so that a client that sends faster
   * than the guest reads (yes | hospes console echo, a large file piped in) waits in its own
   * socket buffer, as a pty's writer waits for xenconsoled. Without it the daemon kept every
   * byte, appending each chunk to one array (a copy of all of it per chunk): gigabytes of heap
   * within seconds, and a run thread so busy copying that host stop went unanswered.
   */
  static final int MAX_PENDING_INPUT = 64 << 10;

  private HostDaemon(HostPaths paths, HostRunner runner, PrintStream log,
      ServerSocketChannel server, FileChannel lockFile, FileLock lock) {
    this.paths = paths;
    this.runner = runner;
    this.log = log;
    this.server = server;
    this.lockFile = lockFile;
    this.lock = lock;
  }

  /**
   * Starts a host on {@code paths}: takes the lock, binds the socket, writes the pid file and
   * starts the run and accept threads.
   *
   * @throws HostException when a host already runs there, or the directory is unusable
   */
  public static HostDaemon start(HostPaths paths, int machineMiB, String scheduler,
      String costModel, PrintStream log) throws HostException {
    return start(paths, machineMiB, scheduler, costModel, 1, log);
  }

  /** As above, on {@code pcpus} physical CPUs (HostException if the scheduler cannot). */
  public static HostDaemon start(HostPaths paths, int machineMiB, String scheduler,
      String costModel, int pcpus, PrintStream log) throws HostException {
    String problem = paths.problem();
    if (problem != null) {
      throw new HostException(problem, true);
    }
    FileChannel lockFile = null;
    try {
      Files.createDirectories(paths.dir());
      lockFile = FileChannel.open(paths.lock(), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = lockFile.tryLock();
      } catch (java.nio.channels.OverlappingFileLockException e) {
        lock = null; // held by a host in this very JVM (tests start hosts on threads)
      }
      if (lock == null) {
        lockFile.close();
        String pid = readPid(paths);
        throw new HostException("a host is already running (" + (pid == null ? "" : "pid " + pid
            + ", ") + "state directory " + paths.dir() + "); stop it with ./hospes host stop",
            true);
      }
      // The lock is ours: any socket left is a dead host's.
      Files.deleteIfExists(paths.socket());
      HostRunner runner;
      try {
        runner = HostRunner.create(machineMiB, scheduler, costModel, null);
        if (pcpus != 1) {
          try {
            runner.hypervisor().setPcpus(pcpus);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--pcpus " + pcpus + ": " + e.getMessage(), e);
          }
        }
      } catch (IllegalArgumentException e) {
        lock.release();
        lockFile.close();
        throw new HostException(e.getMessage(), true);
      }
      ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(paths.socket()));
      Files.writeString(paths.pidFile(), ProcessHandle.current().pid() + "\n");
      HostDaemon d = new HostDaemon(paths, runner, log, server, lockFile, lock);
      d.begin(machineMiB, scheduler);
      return d;
    } catch (IOException e) {
      if (lockFile != null) {
        try {
          lockFile.close();
        } catch (IOException ignored) {
          // Reporting the first error matters more.
        }
      }
      throw new HostException("cannot start a host in " + paths.dir() + ": "
          + HostPaths.reason(e, paths.dir()), true);
    }
  }

  static String readPid(HostPaths paths) {
    try {
      return Files.readString(paths.pidFile()).strip();
    } catch (IOException e) {
      return null;
    }
  }

  private void begin(int machineMiB, String scheduler) {
    runner.setConsoleTaps(name -> consoles.computeIfAbsent(name, n -> new ConsoleHub()));
    runner.setHypervisorLog(dmesg);
    xen("Hospes host started: " + machineMiB + " MiB of machine memory, scheduler "
        + scheduler + " on " + runner.hypervisor().pcpuCount() + " physical CPU(s), pid "
        + ProcessHandle.current().pid() + ", socket " + paths.socket());
    // The stack the tests run with (-Xss8m), not the 1 MiB default of a new thread.
    runThread = new Thread(null, this::runLoop, "hospes-host", 8L << 20);
    runThread.start();
    Thread acceptor = new Thread(this::acceptLoop, "hospes-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public HostPaths paths() {
    return paths;
  }

  /** Asks the host to stop: domains are destroyed and the files removed. */
  public void stop() {
    stopping = true;
    tasks.offer(() -> {});
  }

  /** Waits until the host has stopped and cleaned up. */
  public void awaitStop() throws InterruptedException {
    stopped.await();
  }

  public boolean awaitStop(long timeout, TimeUnit unit) throws InterruptedException {
    return stopped.await(timeout, unit);
  }

  // ---------------------------------------------------------------- run thread

  private void runLoop() {
    long wallBase = System.nanoTime();
    long virtBase = runner.hypervisor().now();
    try {
      while (!stopping) {
        runTasks();
        deliverInput();
        reapEnded();
        for (String gone : runner.reapDriverDomains()) {
          xen(gone);
        }
        detachSettled();
        long target = virtBase + (System.nanoTime() - wallBase);
        long lag = target - runner.hypervisor().now();
        if (lag > MAX_LAG_NANOS) {
          virtBase -= lag - MAX_LAG_NANOS; // the clock slips: no racing to catch up
          lag = MAX_LAG_NANOS;
        }
        if (lag <= 0) {
          awaitTask(Math.min(-lag, IDLE_WAIT_NANOS) + 1);
          continue;
        }
        boolean more;
        try {
          more = runner.hypervisor().step(Math.min(lag, SLICE_CYCLES));
        } catch (RuntimeException | StackOverflowError e) {
          // A bug, not a guest's doing (guests are contained by the hypervisor): keep the
          // host up for the other domains and say so.
          xen("internal error in the run loop: " + e);
          e.printStackTrace(log);
          awaitTask(IDLE_WAIT_NANOS);
          continue;
        }
        if (!more) {
          awaitTask(IDLE_WAIT_NANOS); // nothing can run: time stands still until asked
        }
      }
    } catch (Error e) {
      // Nothing sensible can go on: say so, and still destroy the domains and remove the files.
      xen("fatal error in the run loop, stopping the host: " + e);
      e.printStackTrace(log);
    } finally {
      shutDown();
    }
  }

  private void runTasks() {
    for (Runnable t; (t = tasks.poll()) != null; ) {
      t.run();
    }
  }

  private void awaitTask(long nanos) {
    try {
      Runnable t = tasks.poll(nanos, TimeUnit.NANOSECONDS);
      if (t != null) {
        t.run();
      }
    } catch (InterruptedException e) {
      stopping = true;
    }
  }

  /** Console input the guest's ring had no room for is retried between decisions. */
  private void deliverInput() {
    for (Managed m : domains.values()) {
      if (m.pendingInput.length > 0) {
        int n = m.guest.input(m.pendingInput);
        m.setPending(m.guest.isLive() ? Arrays.copyOfRange(m.pendingInput, n,
            m.pendingInput.length) : new byte[0]);
      }
    }
  }

  /**
   * Detaches the consoles whose input ended once their domain has settled: it took all the
   * input and is idle again (so what it wrote in answer is in the hub, ahead of the end), or it
   * ended, or it is paused (nothing comes until it is unpaused), or it kept running past
   * {@link #SETTLE_LIMIT_NANOS}. Detaching here, on the run thread that feeds the hubs, orders
   * the end after every byte the guest wrote before it.
   */
  private void detachSettled() {
    if (settling.isEmpty()) {
      return;
    }
    long now = runner.hypervisor().now();
    for (java.util.Iterator<Settling> it = settling.iterator(); it.hasNext(); ) {
      Settling s = it.next();
      Managed m = domains.get(s.name());
      boolean settled = m == null || !m.guest.isLive() || now >= s.deadline()
          || m.guest.domain().state() == org.hospes.hv.domain.DomainState.PAUSED
          || m.pendingInput.length == 0 && m.guest.consoleIdle();
      if (settled) {
        s.hub().detach(s.attached());
        it.remove();
      }
    }
  }

  /** Applies xl's actions to domains that ended: gone from the list, kept, or restarted. */
  private void reapEnded() {
    boolean any = false;
    for (Managed m : domains.values()) {
      any |= !m.guest.isLive() && !m.preserved;
    }
    if (!any) {
      return; // the usual case, after every scheduling decision: nothing to copy
    }
    for (Managed m : domains.values().toArray(new Managed[0])) {
      if (m.guest.isLive() || m.preserved) {
        continue;
      }
      GuestDomain g = m.guest;
      var state = g.domain().state();
      xen("domain " + g.domain().domid() + " (" + g.name() + ") " + g.outcome().describe());
      if (state == org.hospes.hv.domain.DomainState.CRASHED
          && m.config.onCrashAction() == OnCrash.PRESERVE) {
        m.preserved = true;
        continue;
      }
      forget(m);
      boolean restart = state == org.hospes.hv.domain.DomainState.CRASHED
          && m.config.onCrashAction() == OnCrash.RESTART;
      if (restart && System.nanoTime() - m.builtAtNanos < MIN_RUN_BEFORE_RESTART_NANOS) {
        xen("domain " + g.name() + " crashed less than "
            + MIN_RUN_BEFORE_RESTART_NANOS / 1_000_000_000L + " s after it was built: not"
            + " restarting it (on_crash = \"restart\" would loop)");
        restart = false;
      }
      if (restart) {
        try {
          Managed again = build(m.config);
          xen("domain " + g.name() + " restarted as domain " + again.guest.domain().domid()
              + " (on_crash = \"restart\")");
        } catch (HostException e) {
          xen("domain " + g.name() + " could not be restarted: " + e.getMessage());
          endConsole(g.name());
        }
      } else {
        endConsole(g.name());
      }
    }
  }

  private void forget(Managed m) {
    GuestDomain g = m.guest;
    domains.remove(g.name());
    m.forgotten = true;
    // The runner releases its xenstore connection and removes its nodes, as libxl does.
    runner.forget(g.name());
  }

  private void endConsole(String name) {
    ConsoleHub hub = consoles.remove(name);
    if (hub != null) {
      hub.end();
    }
  }

  /** Destroys the domains and removes the files; never leaves awaitStop waiting. */
  private void shutDown() {
    try {
      for (Managed m : domains.values().toArray(new Managed[0])) {
        try {
          runner.destroy(m.guest.name(), "host stopped");
          xen("domain " + m.guest.domain().domid() + " (" + m.guest.name()
              + ") destroyed: the host stopped");
        } catch (RuntimeException e) {
          xen("domain " + m.guest.name() + ": cannot destroy: " + e);
          e.printStackTrace(log);
        }
        endConsole(m.guest.name());
      }
      domains.clear();
      try {
        server.close();
      } catch (IOException e) {
        // Closing is all that is left to do.
      }
      try {
        Files.deleteIfExists(paths.socket());
        Files.deleteIfExists(paths.pidFile());
        lock.release();
        lockFile.close();
      } catch (IOException e) {
        log.println("hospes: host: cannot clean up " + paths.dir() + ": " + e.getMessage());
      }
      xen("Hospes host stopped");
      log.flush();
      // Requests still queued get an answer rather than a hang.
      for (Runnable t; (t = tasks.poll()) != null; ) {
        t.run();
      }
    } finally {
      stopped.countDown();
    }
  }

  /** A line in the hypervisor log (dmesg) and the daemon's log, as Xen prefixes its own. */
  private void xen(String message) {
    String line = "(XEN) [" + Instant.now() + "] " + message + "\n";
    dmesg.append(line.getBytes(StandardCharsets.UTF_8));
    log.print(line);
    log.flush();
  }

  // ---------------------------------------------------------------- requests

  /** Runs {@code task} on the run thread and returns its result. */
  private <T> T onRunThread(Callable<T> task) throws HostException {
    CompletableFuture<T> f = new CompletableFuture<>();
    tasks.offer(() -> {
      try {
        f.complete(task.call());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    if (stopping && !runThread.isAlive()) {
      throw new HostException("the host is stopping", false);
    }
    try {
      return f.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof HostException h) {
        throw h;
      }
      throw new HostException("internal error: " + e.getCause(), false);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new HostException("the host did not answer within 60 s", false);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HostException("interrupted", false);
    }
  }

  private void acceptLoop() {
    while (!stopping) {
      SocketChannel ch;
      try {
        ch = server.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (stopping) {
          return;
        }
        log.println("hospes: host: accept: " + e.getMessage());
        continue;
      }
      Thread t = new Thread(() -> serve(ch), "hospes-client");
      t.setDaemon(true);
      t.start();
    }
  }

  private void serve(SocketChannel ch) {
    try (ch) {
      InputStream in = SocketStreams.in(ch);
      OutputStream out = SocketStreams.out(ch);
      JsonNode req;
      try {
        req = Wire.read(in);
      } catch (IOException e) {
        Wire.write(out, Wire.error("usage", "bad request: " + e.getMessage()));
        return;
      }
      if (req == null) {
        return;
      }
      int v = req.path("v").asInt(-1);
      if (v != Wire.VERSION) {
        Wire.write(out, Wire.error("usage", "this host speaks protocol version " + Wire.VERSION
            + ", not " + v + " (the client and the host are from different builds)"));
        return;
      }
      String op = req.path("op").asText("");
      if (op.equals("console")) {
        console(req, ch, in, out);
        return;
      }
      Object result;
      try {
        result = handle(op, req);
      } catch (HostException e) {
        Wire.write(out, Wire.error(e.usage() ? "usage" : "internal", e.getMessage()));
        return;
      }
      Wire.write(out, Wire.ok(result));
      if (op.equals("stop")) {
        stop();
      }
    } catch (IOException e) {
      // The client went away: nothing to answer.
    }
  }

  private Object handle(String op, JsonNode req) throws HostException {
    switch (op) {
      case "ping":
        // "stopping": a console whose stream ended asks, to tell a host stop (its consoles end
        // after this is set) from its domain's end; a second host stop still gets the pid.
        return Map.of("pid", ProcessHandle.current().pid(), "protocol", Wire.VERSION,
            "stopping", stopping);
      case "stop":
        return Map.of("pid", ProcessHandle.current().pid());
      case "create": {
        XlDomainConfig config;
        try {
          config = Wire.JSON.treeToValue(req.path("config"), XlDomainConfig.class);
        } catch (IOException e) {
          throw new HostException("bad create request: " + e.getMessage(), true);
        }
        return onRunThread(() -> {
          Managed m = build(config);
          return Map.of("name", m.guest.name(), "domid", m.guest.domain().domid());
        });
      }
      case "list":
        return onRunThread(this::snapshot);
      case "pause":
      case "unpause":
      case "destroy":
      case "shutdown": {
        String target = req.path("domain").asText("");
        return onRunThread(() -> lifecycle(op, target));
      }
      case "sched-credit": {
        String target = req.hasNonNull("domain") ? req.get("domain").asText() : null;
        // asLong, not asInt: a weight of 2^32 + 256 must be refused, not taken as 256.
        Long weight = req.hasNonNull("weight") ? req.get("weight").asLong() : null;
        Long cap = req.hasNonNull("cap") ? req.get("cap").asLong() : null;
        return onRunThread(() -> schedCredit(target, weight, cap));
      }
      case "dmesg":
        return Map.of("log", new String(dmesg.contents(), StandardCharsets.UTF_8));
      case "xenstore-ls":
      case "xenstore-read":
      case "xenstore-write": {
        String path = req.path("path").asText("");
        String value = req.path("value").asText("");
        return onRunThread(() -> new XenstoreAccess(runner.xenstoreService()).handle(op, path,
            value));
      }
      case "block-attach":
      case "block-detach": {
        String target = req.path("domain").asText("");
        String disk = req.path("disk").asText("");
        String cwd = req.path("cwd").asText("");
        return onRunThread(() -> block(op, target, disk, cwd));
      }
      default:
        throw new HostException("unknown request '" + op + "'", true);
    }
  }

  /** Builds and starts a domain (run thread). */
  private Managed build(XlDomainConfig config) throws HostException {
    if (domains.containsKey(config.name())) {
      throw new HostException(config.source() + ": a domain named " + config.name()
          + " exists already", true);
    }
    try {
      var spec = config.toSpec();
      byte[] image = KernelFiles.read(spec.kernel());
      var modules = config.ramdisk() == null ? java.util.List.<org.hospes.dom0.boot.BootModule>of()
          : KernelFiles.readModules(java.util.List.of(java.nio.file.Path.of(config.ramdisk())));
      ConsoleHub hub = consoles.computeIfAbsent(config.name(), n -> new ConsoleHub());
      GuestDomain g = runner.start(spec, image, new BootRequest(spec.cmdline(), modules));
      Managed m = new Managed(config, g);
      domains.put(config.name(), m);
      xen("domain " + g.domain().domid() + " (" + g.name() + ") created from " + config.source()
          + ": " + spec.mode().cliName() + ", " + spec.ramMiB() + " MiB, kernel "
          + spec.kernel());
      return m;
    } catch (BootException e) {
      consoles.remove(config.name());
      throw new HostException(config.source() + ": kernel " + config.kernel() + ": "
          + e.getMessage(), true);
    } catch (XlConfigException e) {
      consoles.remove(config.name());
      throw new HostException(e.getMessage(), true);
    } catch (IllegalArgumentException | IllegalStateException e) {
      consoles.remove(config.name());
      throw new HostException(config.source() + ": " + config.name() + ": " + e.getMessage(),
          true);
    }
  }

  /** The domain named or numbered {@code target}, or a usage error naming it. */
  /**
   * The guest named or numbered {@code target}. Domain-0 is no guest: it is refused with
   * {@code dom0Refusal}, which says why for the verb asked ("it cannot be paused"), so that a
   * console is not told that dom0 cannot be destroyed.
   */
  private Managed find(String target, String dom0Refusal) throws HostException {
    // An ID first, as xl's domain qualifier reads a number: with a domain named "5" and
    // domain 5 both there, "destroy 5" must not end the one named 5. A name that is a number
    // nobody has as an ID is still found by its name.
    for (Managed m : domains.values()) {
      if (Integer.toString(m.guest.domain().domid()).equals(target)) {
        return m;
      }
    }
    Managed byName = domains.get(target);
    if (byName != null) {
      return byName;
    }
    if (target.equals("0") || target.equals("Domain-0")) {
      throw new HostException("Domain-0 runs the toolstack itself; " + dom0Refusal, true);
    }
    var served = runner.servedBy(target);
    if (!served.isEmpty()) {
      // The toolstack made it for one guest's disks and ends it with the last of them.
      java.util.List<String> disks = new java.util.ArrayList<>();
      String guest = null;
      for (var be : served) {
        var g = runner.hypervisor().domain(be.domid());
        guest = g == null ? Integer.toString(be.domid()) : g.name();
        String vdev = runner.xenstore().read(org.hospes.dom0.backend.blk.VbdNodes.backendPath(
            be.backendDomid(), be.domid(), be.devid()) + "/dev");
        disks.add(vdev == null ? Integer.toString(be.devid()) : vdev);
      }
      throw new HostException(target + " is a driver domain serving " + guest + "'s "
          + String.join(", ", disks) + "; the toolstack destroys it with its last disk"
          + " (./hospes block-detach " + guest + " " + disks.get(0) + ")", true);
    }
    throw new HostException("no domain named or numbered '" + target + "' (see ./hospes list)",
        true);
  }

  private Object lifecycle(String op, String target) throws HostException {
    Managed m = find(target, switch (op) {
      case "pause" -> "it cannot be paused";
      case "unpause" -> "it is never paused";
      case "shutdown" -> "it cannot be shut down (stop the host: ./hospes host stop)";
      default -> "it cannot be destroyed (stop the host: ./hospes host stop)";
    });
    var hv = runner.hypervisor();
    var d = m.guest.domain();
    switch (op) {
      case "pause" -> {
        requireLive(m, op);
        if (hv.pauseByController(d) != 0) {
          // xl pause: the domctl's -EOVERFLOW.
          throw new HostException(m.guest.name() + " is paused "
              + org.hospes.hv.Hypervisor.MAX_CONTROLLER_PAUSES + " times already, the most"
              + " a domain can be (Xen: EOVERFLOW); unpause it first", true);
        }
      }
      case "unpause" -> {
        requireLive(m, op);
        if (hv.unpauseByController(d) != 0) {
          // xl unpause of a domain no pause holds: the domctl's -EINVAL.
          throw new HostException(m.guest.name() + " is not paused (Xen: EINVAL)", true);
        }
      }
      case "destroy" -> {
        if (m.guest.isLive()) {
          runner.destroy(m.guest.name(), "destroyed by the toolstack (xl destroy)");
          reapEnded();
        } else {
          // A crashed domain kept by on_crash = "preserve": gone now, not restarted.
          xen("domain " + d.domid() + " (" + m.guest.name() + ") destroyed by the toolstack");
          forget(m);
          endConsole(m.guest.name());
        }
      }
      case "shutdown" -> {
        requireLive(m, op);
        if (m.guest.pvConsole() == null) {
          throw new HostException(m.guest.name() + " has no PV control interface (a bare HVM"
              + " kernel without xenstore); use ./hospes destroy " + m.guest.name(), true);
        }
        // Xen's protocol: the toolstack writes control/shutdown; the guest watches it and
        // powers itself off (SCHEDOP_shutdown). A guest that does not watch it ignores it.
        String control = "/local/domain/" + d.domid() + "/control";
        var xs = runner.xenstore();
        xs.write(control + "/shutdown", "poweroff");
        xs.setPerms(control, "n" + d.domid());
        xs.setPerms(control + "/shutdown", "n" + d.domid());
        xen("domain " + d.domid() + " (" + m.guest.name() + ") asked to power off");
      }
      default -> throw new IllegalStateException(op);
    }
    // The toolstack pauses left: an unpause that leaves one still holding the domain is said
    // so by the client, which had reported "unpaused" for a domain list still showed paused.
    return Map.of("name", m.guest.name(), "domid", d.domid(), "pauses", d.controllerPauses());
  }

  /**
   * The position of the first xvdX none of {@code disks} is, for a disk given without vdev=.
   * Their count was taken instead: after xvda was detached while xvdb stayed, the next attach
   * was given xvdb and refused ("already has xvdb"), though xvda was free.
   */
  static int firstFreeXvd(java.util.List<org.hospes.dom0.backend.blk.VbdBackend> disks) {
    java.util.Set<Integer> taken = new java.util.HashSet<>();
    for (var d : disks) {
      taken.add(d.devid());
    }
    int i = 0;
    while (i < 16 && taken.contains(org.hospes.abi.Blkif.devidOf("xvd" + (char) ('a' + i)))) {
      i++;
    }
    return i; // 16: DiskSpec says at most 16 disks
  }

  /** xl block-attach DOMAIN DISKSPEC and block-detach DOMAIN VDEV (run thread). */
  private Object block(String op, String target, String disk, String cwd)
      throws HostException {
    Managed m = find(target, "block-attach and block-detach are for guests");
    requireLive(m, op);
    int domid = m.guest.domain().domid();
    try {
      org.hospes.dom0.backend.blk.VbdBackend be;
      if (op.equals("block-attach")) {
        var spec = org.hospes.dom0.toolstack.DiskSpec.parse(disk,
            firstFreeXvd(runner.blockBackends(domid)), cwd.isEmpty() ? null
                : java.nio.file.Path.of(cwd));
        be = runner.blockAttach(domid, spec);
        xen("domain " + domid + " (" + m.guest.name() + "): " + spec.vdev() + " attached, backend"
            + " in domain " + be.backendDomid());
        return Map.of("name", m.guest.name(), "vdev", spec.vdev(), "devid", be.devid(),
            "backend", be.backendDomid());
      }
      be = runner.blockDetach(domid, disk);
      // The vdev, also when the disk was named by its number (xvdX: major 202, X in bits 4-7).
      if (be.devid() >> 8 == 202 && (be.devid() & 0xF) == 0) {
        disk = "xvd" + (char) ('a' + ((be.devid() >> 4) & 0xF));
      }
      xen("domain " + domid + " (" + m.guest.name() + "): " + disk + " detach requested");
      for (String gone : runner.reapDriverDomains()) {
        xen(gone); // removed at once: its driver domain went with it
      }
      return Map.of("name", m.guest.name(), "vdev", disk, "removed", be.removed());
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new HostException(m.guest.name() + ": " + e.getMessage(), true);
    }
  }

  private static void requireLive(Managed m, String op) throws HostException {
    if (!m.guest.isLive()) {
      throw new HostException(m.guest.name() + " has ended (" + m.guest.outcome().describe()
          + "); it can only be destroyed now (asked: " + op + ")", true);
    }
  }

  private Object schedCredit(String target, Long weight, Long cap) throws HostException {
    if (weight == null && cap == null) {
      HostSnapshot s = snapshot();
      if (target == null) {
        requireCredit();
        return s;
      }
      // An ID before a name, as find() reads it.
      for (boolean byId : new boolean[] {true, false}) {
        for (DomainInfo i : s.domains()) {
          if (byId ? Integer.toString(i.domid()).equals(target) : i.name().equals(target)) {
            requireCredit(); // after the domain was found, as xl's order of checks
            return new HostSnapshot(s.virtualCycles(), s.wallNanos(), s.scheduler(),
                java.util.List.of(i));
          }
        }
      }
      throw new HostException("no domain named or numbered '" + target + "' (see ./hospes"
          + " list)", true);
    }
    if (target == null) {
      throw new HostException("give the domain: sched-credit -d DOMAIN -w WEIGHT -c CAP", true);
    }
    org.hospes.hv.domain.Domain d;
    if (target.equals("0") || target.equals("Domain-0")) {
      d = runner.hypervisor().domain(0);
    } else {
      d = find(target, "").guest.domain(); // Domain-0 is taken above
    }
    requireCredit();
    try {
      runner.hypervisor().setSchedulerParameters(d, weight == null ? d.weight() : weight,
          cap == null ? d.cap() : cap);
    } catch (IllegalArgumentException e) {
      throw new HostException(d.name() + ": " + e.getMessage(), true);
    }
    xen("domain " + d.domid() + " (" + d.name() + "): weight " + d.weight() + ", cap "
        + d.cap());
    return Map.of("name", d.name(), "domid", d.domid(), "weight", d.weight(), "cap", d.cap());
  }

  /**
   * Refuses sched-credit on a host whose scheduler is not credit (rr): weights and caps mean
   * nothing there, as xl sched-credit refuses when libxl reports another scheduler.
   */
  private void requireCredit() throws HostException {
    String sched = runner.hypervisor().scheduler().name();
    if (!sched.equals(org.hospes.hv.sched.CreditScheduler.NAME)) {
      throw new HostException("the host's scheduler is " + sched + ", not credit: weights and"
          + " caps are the credit scheduler's (start the host with --sched credit)", true);
    }
  }

  private HostSnapshot snapshot() {
    var hv = runner.hypervisor();
    java.util.List<DomainInfo> rows = rows(hv,
        domains.values().stream().map(m -> m.guest).toList());
    return new HostSnapshot(hv.now(), System.nanoTime() - wallStart,
        hv.scheduler().getClass().getSimpleName(), rows);
  }

  /**
   * list's rows: dom0, the toolstack's guests, then the driver domains (service domains other
   * than dom0, made by block-attach's backend=: xl list shows a driver domain like any other)
   * and the domains the hypervisor still holds dying after they were destroyed (another domain
   * has some of their frames grant-mapped), as xl list shows a dying domain until it is gone.
   */
  static java.util.List<DomainInfo> rows(org.hospes.hv.Hypervisor hv,
      java.util.List<GuestDomain> guests) {
    java.util.List<DomainInfo> rows = new java.util.ArrayList<>();
    rows.add(DomainRows.of(hv.domain(0), "dom0", hv.now()));
    java.util.Set<org.hospes.hv.domain.Domain> shown = new java.util.HashSet<>();
    for (GuestDomain g : guests) {
      rows.add(DomainRows.of(g.domain(), g.spec().mode().cliName(), hv.now()));
      shown.add(g.domain());
    }
    for (org.hospes.hv.domain.Domain d : hv.domains()) {
      if (d.domid() == 0 || shown.contains(d)) {
        continue;
      }
      if (d.isService()) {
        rows.add(DomainRows.of(d, "service", hv.now()));
      } else if (hv.isHeld(d)) {
        rows.add(DomainRows.of(d, d.mode().cliName(), hv.now()));
      }
    }
    return rows;
  }

  /**
   * Waits, on a console's socket thread, until the domain's input it has not taken leaves room
   * for {@code read} more bytes within {@link #MAX_PENDING_INPUT}; false once there is no point in reading more (the host stops, the
   * domain was forgotten).
   */
  private boolean awaitRoomForInput(Managed m, java.util.concurrent.atomic.AtomicInteger inTasks,
      int read) {
    // Room for a whole read: the held input never exceeds the bound.
    while (m.pendingLength + inTasks.get() + read > MAX_PENDING_INPUT) {
      if (stopping || m.forgotten) {
        return false;
      }
      try {
        Thread.sleep(5); // the run thread delivers between decisions; a few ms is plenty
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return !stopping && !m.forgotten;
  }

  /** The console input {@code name} holds and has not taken (tests). */
  int pendingInput(String name) throws HostException {
    return onRunThread(() -> find(name, "it has no console input").pendingInput.length);
  }

  /** Attaches a client to a domain's console until it detaches or the domain goes. */
  private void console(JsonNode req, SocketChannel ch, InputStream in, OutputStream out)
      throws IOException {
    String target = req.path("domain").asText("");
    Managed attachedTo;
    try {
      attachedTo = onRunThread(() -> find(target, "it has no console of its own (its log:"
          + " ./hospes dmesg)"));
    } catch (HostException e) {
      Wire.write(out, Wire.error(e.usage() ? "usage" : "internal", e.getMessage()));
      return;
    }
    String name = attachedTo.guest.name();
    ConsoleHub hub = consoles.get(name);
    if (hub == null) {
      Wire.write(out, Wire.error("usage", name + " has no console any more"));
      return;
    }
    Wire.write(out, Wire.ok(Map.of("name", name)));
    // When the domain goes, the client sees the end of its stream and exits.
    ConsoleHub.Attached a = hub.attach(out, name, () -> {
      try {
        ch.shutdownOutput();
      } catch (IOException e) {
        // Already closed by the client.
      }
    });
    byte[] buf = new byte[4096];
    boolean inputEnded = false;
    // Bytes read from the client whose task has not yet added them to the pending input.
    java.util.concurrent.atomic.AtomicInteger inTasks =
        new java.util.concurrent.atomic.AtomicInteger();
    try {
      int n = 0;
      while (awaitRoomForInput(attachedTo, inTasks, buf.length) && (n = in.read(buf)) > 0) {
        byte[] chunk = Arrays.copyOf(buf, n);
        inTasks.addAndGet(n);
        tasks.offer(() -> {
          Managed m = domains.get(name);
          if (m != null) {
            byte[] joined = Arrays.copyOf(m.pendingInput, m.pendingInput.length + chunk.length);
            System.arraycopy(chunk, 0, joined, m.pendingInput.length, chunk.length);
            m.setPending(joined);
          }
          // Only now, with the bytes counted in pendingLength: counted in neither for a moment,
          // they let the socket thread read one buffer past the bound (68,608 bytes held once,
          // in a clean test run at load 2).
          inTasks.addAndGet(-chunk.length);
        });
      }
      inputEnded = n < 0;
    } catch (IOException e) {
      // Detached.
    }
    if (inputEnded && !stopping) {
      // The end of piped input (the client half-closed): the guest has yet to read what came
      // and answer it. Detaching now would drop the answer; the run thread detaches once the
      // domain has settled, after the input queued above (the tasks run in order).
      tasks.offer(() -> settling.add(new Settling(name, hub, a,
          runner.hypervisor().now() + SETTLE_LIMIT_NANOS)));
    } else {
      hub.detach(a);
    }
    try {
      a.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
