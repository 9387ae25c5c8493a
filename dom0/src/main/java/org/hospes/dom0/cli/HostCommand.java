package org.hospes.dom0.cli;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.dom0.toolstack.host.HostClient;
import org.hospes.dom0.toolstack.host.HostDaemon;
import org.hospes.dom0.toolstack.host.HostException;
import org.hospes.dom0.toolstack.host.HostPaths;
import org.hospes.dom0.toolstack.host.Wire;
import org.hospes.hv.HypervisorFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code hospes host start|stop|status}: the long-running host the xl-style verbs talk to. */
@Command(name = "host", mixinStandardHelpOptions = true,
    description = "Starts, stops or shows the host: the hypervisor and dom0 running as a"
        + " daemon in wall-clock time, controlled by create, list, console, ... over a Unix"
        + " socket in the state directory.",
    subcommands = {HostCommand.Start.class, HostCommand.Stop.class, HostCommand.Status.class})
final class HostCommand implements Callable<Integer> {
  private final CliStreams streams;

  HostCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    streams.error("host needs start, stop or status (see 'hospes host --help')");
    return ExitStatus.USAGE;
  }

  @Command(name = "start", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Starts a host in the background (pid file and log in the state"
          + " directory) and returns once it answers.",
        "The virtual clock is paced to real time: it never runs ahead of the wall clock (an"
            + " idle host sleeps), and when the guests keep the emulator busy it runs flat out"
            + " and slips behind rather than catching up later."},
      exitCodeListHeading = "%nExit status:%n",
      exitCodeList = {"0:the host runs (with --foreground: it ran and was stopped by host"
          + " stop, Ctrl-C or SIGTERM, and shut down cleanly)",
        "2:a host already runs on this state directory, or bad options"})
  static final class Start implements Callable<Integer> {
    private final CliStreams streams;

    @Mixin
    HostDirOption dir = new HostDirOption();

    @Option(names = "--memory", paramLabel = "MIB", defaultValue = "256",
        description = "Machine memory for all domains, in MiB (64 up to the JVM's heap, or"
            + " -Dhospes.machine-memory-mib; backed as domains touch it; default ${DEFAULT-VALUE}).")
    long memoryMiB;

    @Option(names = "--sched", paramLabel = "NAME", defaultValue = HypervisorFactory.DEFAULT_SCHEDULER,
        description = "Scheduler (default ${DEFAULT-VALUE}; plugins may add more).")
    String scheduler;

    @Option(names = "--pcpus", paramLabel = "N", defaultValue = "1",
        description = "Physical CPUs the scheduler places vCPUs on, 1 to "
            + org.hospes.hv.Hypervisor.MAX_PCPUS + " (default ${DEFAULT-VALUE}; more than one"
            + " needs the credit scheduler).")
    long pcpus;

    @Option(names = "--foreground",
        description = "Run the host in this process until stopped (host stop, Ctrl-C or"
            + " SIGTERM) and log to stderr.")
    boolean foreground;

    Start(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public Integer call() {
      int max = org.hospes.hv.memory.MachineMemoryLimit.maxMiB();
      if (memoryMiB < 64 || memoryMiB > max) {
        streams.error("--memory must be 64.." + max + " MiB (the limit is "
            + org.hospes.hv.memory.MachineMemoryLimit.source() + "), got " + memoryMiB);
        return ExitStatus.USAGE;
      }
      String pcpusProblem = HostOptions.pcpusProblem(pcpus);
      if (pcpusProblem != null) {
        streams.error(pcpusProblem);
        return ExitStatus.USAGE;
      }
      // An unknown scheduler, or one that cannot use --pcpus, is said here with run's words,
      // not after the fork in the daemon's log: a throwaway hypervisor (its memory is backed
      // only when touched) is asked as the daemon's would be.
      try {
        String refused = HostOptions.applyPcpus(HvmMachine.factory().hypervisor(scheduler,
            HypervisorFactory.DEFAULT_COST_MODEL, 64), (int) pcpus);
        if (refused != null) {
          streams.error(refused);
          return ExitStatus.USAGE;
        }
      } catch (IllegalArgumentException e) {
        streams.error(e.getMessage());
        return ExitStatus.USAGE;
      }
      HostPaths paths = dir.paths();
      // Said here, in the user's terminal, rather than by a daemon that fails in the log.
      String problem = paths.problem();
      if (problem != null) {
        streams.error(problem);
        return ExitStatus.USAGE;
      }
      if (foreground) {
        // HostDaemon.start takes the host's own lock: a second host is refused there too.
        return new HostClient(paths).isRunning() ? alreadyRunning(paths) : runHere(paths);
      }
      try {
        Files.createDirectories(paths.dir());
      } catch (IOException e) {
        streams.error("cannot create the state directory " + paths.dir() + ": "
            + HostPaths.reason(e, paths.dir()));
        return ExitStatus.USAGE;
      }
      // Two starts at once both found no host and both started one: the one that lost the
      // host's lock died, and its starter then saw the winner answer and said "started" too.
      // The check and the start are now one step under the start lock.
      synchronized (Start.class) { // a JVM holds a file's lock for all its threads
        java.nio.channels.FileChannel ch;
        try {
          ch = java.nio.channels.FileChannel.open(paths.startLock(),
              java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        } catch (IOException e) {
          // The directory is there but takes no file (read-only, not the user's): said as a
          // directory that cannot be made is, in words and with status 2, since it is the
          // user's to fix (it was "cannot lock F: F: Read-only file system", status 1).
          streams.error("cannot start a host in " + paths.dir() + ": "
              + HostPaths.reason(e, paths.dir()));
          return ExitStatus.USAGE;
        }
        try (ch; java.nio.channels.FileLock held = ch.lock()) {
          return new HostClient(paths).isRunning() ? alreadyRunning(paths)
              : startDetached(paths);
        } catch (IOException e) {
          streams.error("cannot lock " + paths.startLock() + ": "
              + HostPaths.reason(e, paths.startLock()));
          return ExitStatus.INTERNAL_ERROR;
        }
      }
    }

    private int alreadyRunning(HostPaths paths) {
      streams.error("a host is already running (pid " + pid(paths) + ", state directory "
          + paths.dir() + "); stop it with ./hospes host stop");
      return ExitStatus.USAGE;
    }

    private int runHere(HostPaths paths) {
      HostDaemon daemon;
      try {
        daemon = HostDaemon.start(paths, (int) memoryMiB, scheduler,
            HypervisorFactory.DEFAULT_COST_MODEL, (int) pcpus, streams.err());
      } catch (HostException e) {
        streams.error(e.getMessage());
        return ExitStatus.USAGE;
      }
      // Ctrl-C or SIGTERM asks the host to stop, as host stop does: the domains are destroyed,
      // the files removed, and the status is 0 for a host that shut down cleanly.
      List<Runnable> restore = streams.process() ? trapStopSignals(daemon) : List.of();
      // Signals this JVM keeps (-Xrs) or did not trap (SIGHUP): destroy the domains and remove
      // the socket before the JVM goes.
      Thread hook = new Thread(() -> {
        daemon.stop();
        try {
          daemon.awaitStop(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "hospes-host-stop");
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        daemon.awaitStop();
      } catch (InterruptedException e) {
        daemon.stop();
        Thread.currentThread().interrupt();
      }
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // Shutting down: the hook is what stopped it.
      }
      restore.forEach(Runnable::run);
      return ExitStatus.HALTED;
    }

    /**
     * SIGINT and SIGTERM stop the daemon (a second one while it stops halts at once, 128 plus
     * the signal); returns what puts the previous handlers back. A signal inherited as ignored
     * (a background job's SIGINT) stays ignored.
     */
    private static List<Runnable> trapStopSignals(HostDaemon daemon) {
      List<Runnable> restore = new ArrayList<>();
      boolean[] asked = {false};
      for (String name : new String[] {"INT", "TERM"}) {
        try {
          sun.misc.Signal sig = new sun.misc.Signal(name);
          sun.misc.SignalHandler old = sun.misc.Signal.handle(sig, s -> {
            synchronized (asked) {
              if (asked[0]) {
                Runtime.getRuntime().halt(128 + s.getNumber());
              }
              asked[0] = true;
            }
            daemon.stop();
          });
          if (old == sun.misc.SignalHandler.SIG_IGN) {
            sun.misc.Signal.handle(sig, old);
          } else {
            restore.add(() -> sun.misc.Signal.handle(sig, old));
          }
        } catch (IllegalArgumentException e) {
          // This JVM keeps the signal (-Xrs): the shutdown hook stands in.
        }
      }
      return restore;
    }

    /** Starts this same program as a detached process running the host in the foreground. */
    private int startDetached(HostPaths paths) {
      List<String> cmd = new ArrayList<>();
      if (new File("/usr/bin/setsid").canExecute()) {
        cmd.add("/usr/bin/setsid"); // its own session: closing the terminal does not end it
      }
      cmd.add(ProcessHandle.current().info().command().orElse("java"));
      String root = System.getProperty("hospes.root");
      if (root != null) {
        cmd.add("-Dhospes.root=" + root);
      }
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add(HospesCli.class.getName());
      cmd.addAll(List.of("host", "start", "--foreground", "--state-dir", paths.dir().toString(),
          "--memory", Long.toString(memoryMiB), "--sched", scheduler,
          "--pcpus", Long.toString(pcpus)));
      Process p;
      try {
        p = new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.appendTo(paths.log().toFile()))
            .redirectErrorStream(true)
            .start();
      } catch (IOException e) {
        streams.error("cannot start the host process: " + e.getMessage());
        return ExitStatus.INTERNAL_ERROR;
      }
      HostClient client = new HostClient(paths);
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (System.nanoTime() < deadline) {
        long answering = answeringPid(client);
        if (answering > 0 && answering != p.pid()
            && p.descendants().noneMatch(h -> h.pid() == answering)) { // setsid may fork
          // Another host (a --foreground one, which takes no start lock) won the host's lock:
          // ours cannot get it and ends.
          p.destroy();
          return alreadyRunning(paths);
        }
        if (answering > 0) {
          streams.err().println("hospes: host started (pid " + answering + "); state directory "
              + paths.dir() + ", log " + paths.log());
          return ExitStatus.HALTED;
        }
        if (!p.isAlive()) {
          if (p.exitValue() == ExitStatus.USAGE && client.isRunning()) {
            return alreadyRunning(paths); // it lost the host's lock to another start
          }
          streams.error("the host did not start (status " + p.exitValue() + "); its log, "
              + paths.log() + ", ends with: " + lastLine(paths.log()));
          return p.exitValue() == 0 ? ExitStatus.INTERNAL_ERROR : p.exitValue();
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      streams.error("the host did not answer within 60 s; see " + paths.log());
      return ExitStatus.INTERNAL_ERROR;
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true,
      description = "Stops the host: destroys its domains, removes the socket and pid file.",
      exitCodeListHeading = "%nExit status:%n",
      exitCodeList = {"0:the host stopped, or none was running (as systemctl stop of a stopped"
          + " unit, and an init script's stop; the files of a host that ended without host"
          + " stop are removed)",
        "1:the host did not stop within 30 s, or a host process holds the state directory but"
            + " does not answer",
        "2:bad options"})
  static final class Stop implements Callable<Integer> {
    private final CliStreams streams;

    @Mixin
    HostDirOption dir = new HostDirOption();

    Stop(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public Integer call() {
      HostPaths paths = dir.paths();
      if (answeringPid(new HostClient(paths)) == 0
          && (Files.exists(paths.pidFile()) || Files.exists(paths.socket()))) {
        return removeLeftovers(paths);
      }
      return dir.run(streams, host -> {
        long pid;
        try {
          pid = host.call(Wire.request("stop")).path("pid").asLong();
        } catch (HostException.NoHost e) {
          // Stopping what is stopped is done, as systemctl stop and an LSB init script's stop
          // answer 0: a script's "host stop; host start" or cleanup need not test first.
          streams.error("no host is running; nothing to stop (state directory "
              + host.paths().dir() + ")");
          return ExitStatus.HALTED;
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (Files.exists(host.paths().socket()) && System.nanoTime() < deadline) {
          try {
            Thread.sleep(20);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
        }
        if (Files.exists(host.paths().socket())) {
          streams.error("the host (pid " + pid + ") was asked to stop but has not after 30 s;"
              + " see " + host.paths().log());
          return ExitStatus.INTERNAL_ERROR;
        }
        streams.err().println("hospes: host stopped (pid " + pid + ")");
        return ExitStatus.HALTED;
      });
    }
    /**
     * No host answers, but a pid file or socket is there: a host ended without host stop (kill
     * -9, a crash) and left them, and stop is what a user runs to clear them. They are removed
     * only while this holds the host's own lock, which a living host holds all its life, and
     * the start lock first, as host start takes them, so that a host starting meanwhile
     * neither loses its fresh files nor finds its lock taken.
     */
    private int removeLeftovers(HostPaths paths) {
      String pid = pid(paths);
      synchronized (Start.class) { // a JVM holds a file's lock for all its threads
        try (FileChannel start = FileChannel.open(paths.startLock(), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
            FileLock starting = start.lock();
            FileChannel host = FileChannel.open(paths.lock(), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
          FileLock held;
          try {
            held = host.tryLock();
          } catch (java.nio.channels.OverlappingFileLockException e) {
            held = null; // a host on a thread of this JVM (tests) holds it
          }
          if (held == null) {
            streams.error("a host process (pid " + pid + ") holds " + paths.dir() + " but does"
                + " not answer; see " + paths.log());
            return ExitStatus.INTERNAL_ERROR;
          }
          try {
            Files.deleteIfExists(paths.socket());
            Files.deleteIfExists(paths.pidFile());
          } finally {
            held.release();
          }
        } catch (IOException e) {
          streams.error("no host is running, and the files a host left in " + paths.dir()
              + " cannot be removed: " + HostPaths.reason(e, paths.dir()));
          return ExitStatus.INTERNAL_ERROR;
        }
      }
      streams.error("no host is running: host pid " + pid + " ended without host stop; its pid"
          + " file and socket are removed");
      return ExitStatus.HALTED; // stopped, as a stop of a service that died answers
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Says on stdout whether a host runs on the state directory.",
      exitCodeListHeading = "%nExit status:%n",
      exitCodeList = {"0:a host runs", "1:a host process is there but does not answer",
        "2:bad options", "3:no host runs (as an init script's status says it)"})
  static final class Status implements Callable<Integer> {
    /** No host runs: the status of an init script's (and systemctl's) status for it. */
    static final int NOT_RUNNING = 3;

    private final CliStreams streams;

    @Mixin
    HostDirOption dir = new HostDirOption();

    Status(CliStreams streams) {
      this.streams = streams;
    }

    @Override
    public Integer call() {
      HostPaths paths = dir.paths();
      long pid = answeringPid(new HostClient(paths));
      if (pid > 0) {
        streams.out().println("host running: pid " + pid + ", state directory " + paths.dir());
        return ExitStatus.HALTED;
      }
      // Not an error but the answer: said on stdout, with a status of its own for scripts.
      String left = pid(paths);
      long leftPid = left.matches("\\d+") ? Long.parseLong(left) : 0;
      // A pid file's process that lives on and is a host (not a pid used again since).
      if (leftPid > 0 && Files.exists(paths.socket()) && ProcessHandle.of(leftPid)
          .filter(ProcessHandle::isAlive).flatMap(h -> h.info().arguments())
          .map(a -> List.of(a).contains("--foreground")).orElse(false)) {
        streams.out().println("host not answering: pid " + leftPid + " (host.pid) is alive but"
            + " does not answer on " + paths.socket() + "; its log: " + paths.log());
        return ExitStatus.INTERNAL_ERROR;
      }
      streams.out().println("no host running (state directory " + paths.dir() + ")"
          + (leftPid > 0 ? "; host pid " + leftPid + " ended without host stop and left its"
              + " files, which the next host start replaces" : "")
          + "; start one with ./hospes host start");
      return NOT_RUNNING;
    }
  }

  /** The pid of the host answering on the socket, or 0 if none answers. */
  static long answeringPid(HostClient client) {
    try {
      return client.call(Wire.request("ping")).path("pid").asLong();
    } catch (HostException e) {
      return 0;
    }
  }

  static String pid(HostPaths paths) {
    try {
      return Files.readString(paths.pidFile()).strip();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String lastLine(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return lines.isEmpty() ? "(empty)" : lines.get(lines.size() - 1);
    } catch (IOException e) {
      return "(unreadable)";
    }
  }
}
