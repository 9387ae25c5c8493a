package org.hospes.dom0.study;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.HypervisorFactory;
import org.hospes.x86.jit.Engine;

/**
 * A declarative study: workloads times modes times parameters (RAM, scheduler, cost model,
 * engine) times repetitions. Read from YAML or JSON ({@code .json}); every list may be left out
 * and then has one default value. Kernel paths are relative to the study file; a bare name
 * ({@code nanobench}) is a sample kernel of {@code samples/kernels}, built on demand with the
 * workload's {@code make} variables.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record StudySpec(String name, List<Workload> workloads, List<String> modes,
    List<Integer> ram, List<String> schedulers, List<String> costModels, List<String> engines,
    Integer repetitions, Long maxInstructions) {

  /**
   * One workload: a kernel image, its command line, an optional loader and make variables; or,
   * with {@code sdk}, a guest SDK program (its C sources, or the name of a sample of
   * samples/guests) built once into the SDK's one image, which boots in every mode (native,
   * hvm, hvm-shadow, pvhvm, pvh, pv); or, with {@code io}, Debian's Linux kernel doing fixed
   * disk and network work through one I/O path ({@link LinuxIo}; {@code kernel} then defaults
   * to the cached Debian kernel).
   *
   * @param disk for an SDK program: a zeroed scratch disk of this many MiB, its xvda, served by
   *     dom0's blkback (a PV disk: runs in native, which has no hypervisor, are skipped)
   * @param modes the study's modes this workload runs in (all of them when left out)
   */
  @JsonIgnoreProperties(ignoreUnknown = false)
  public record Workload(String name, String kernel, String cmdline, String loader,
      Map<String, String> make, List<String> sdk, LinuxIo.Params io, Integer disk,
      List<String> modes) implements java.io.Serializable {
    /** A kernel workload (no SDK program, no I/O path). */
    public Workload(String name, String kernel, String cmdline, String loader,
        Map<String, String> make) {
      this(name, kernel, cmdline, loader, make, null);
    }

    /** An SDK program workload. */
    public Workload(String name, String kernel, String cmdline, String loader,
        Map<String, String> make, List<String> sdk) {
      this(name, kernel, cmdline, loader, make, sdk, null);
    }

    /** Any workload, in every mode of the study, without a scratch disk. */
    public Workload(String name, String kernel, String cmdline, String loader,
        Map<String, String> make, List<String> sdk, LinuxIo.Params io) {
      this(name, kernel, cmdline, loader, make, sdk, io, null, null);
    }

    /** True for an SDK program: one image for every mode. */
    public boolean isSdk() {
      return sdk != null && !sdk.isEmpty();
    }

    /** True if the workload runs in {@code mode} (its own modes, when it lists them). */
    public boolean runsIn(String mode) {
      return modes == null || modes.isEmpty() || modes.contains(mode);
    }
  }

  /**
   * Every list filled with its default, checked; IllegalArgumentException naming the key. Each
   * key is checked even after an error in another ({@link SpecError#all} holds them all, in the
   * order found), so that a study file's errors are reported together.
   */
  public StudySpec withDefaults() {
    if (workloads == null || workloads.isEmpty()) {
      throw new SpecError(workloads == null ? "" : "/workloads", true,
          "workloads: at least one workload is needed");
    }
    List<SpecError> errors = new ArrayList<>();
    List<Workload> ws = new ArrayList<>();
    List<Integer> wsIndex = new ArrayList<>(); // each checked workload's index in the file
    // Runs find their kernel image by workload name: a second workload of the same name
    // would silently run the first one's image in its place.
    java.util.Set<String> names = new java.util.HashSet<>();
    for (int i = 0; i < workloads.size(); i++) {
      try {
        wsIndex.add(i);
        ws.add(checked(i, workloads.get(i), names));
      } catch (SpecError e) {
        wsIndex.remove(wsIndex.size() - 1);
        errors.add(e);
      }
    }
    List<String> ms = collect(errors, () -> {
      List<String> l = orDefault("modes", modes, List.of("native", "hvm", "hvm-shadow"));
      checkModes("modes", "/modes", l);
      checkRepeats("modes", l);
      return l;
    });
    for (int j = 0; ms != null && j < ws.size(); j++) {
      // A workload's modes: picks among the study's; with none in common it ran nowhere, and
      // a study of such workloads ended "0 runs" with status 0 and an empty report.
      int i = wsIndex.get(j);
      List<String> own = ws.get(j).modes();
      if (own != null && own.stream().noneMatch(ms::contains)) {
        errors.add(new SpecError("/workloads/" + i + "/modes", true, "workloads[" + i + "].modes:"
            + " none of " + String.join(", ", own) + " is among the study's modes ("
            + String.join(", ", ms) + "), so workload '" + ws.get(j).name()
            + "' would run nowhere"));
      }
    }
    List<Integer> rs = collect(errors, () -> {
      List<Integer> l = orDefault("ram", ram, List.of(64));
      checkRepeats("ram", l);
      for (int i = 0; i < l.size(); i++) {
        int r = l.get(i);
        if (r < 1 || r > 1024) {
          throw new SpecError("/ram/" + i, false, "ram: " + r + " MiB is outside 1..1024");
        }
      }
      return l;
    });
    int reps = repetitions == null ? 1 : repetitions;
    if (reps < 1) {
      errors.add(new SpecError("/repetitions", false, "repetitions must be at least 1, got "
          + reps));
    }
    if (maxInstructions != null && maxInstructions < 1) {
      errors.add(new SpecError("/maxInstructions", false,
          "maxInstructions must be positive, got " + maxInstructions));
    }
    // Names are checked here, against what `run --sched` and `--cost-model` accept (plugins
    // included), so that a misspelt one is refused before the first run, not in the middle.
    HypervisorFactory factory = HvmMachine.factory();
    List<String> ss = collect(errors, () -> {
      List<String> l = orDefault("schedulers", schedulers, List.of("credit"));
      for (int i = 0; i < l.size(); i++) {
        String s = l.get(i);
        checkName("schedulers", i, () -> factory.scheduler(s));
      }
      checkRepeats("schedulers", l);
      return l;
    });
    List<String> cs = collect(errors, () -> {
      List<String> l = orDefault("costModels", costModels, List.of("default"));
      for (int i = 0; i < l.size(); i++) {
        String c = l.get(i);
        checkName("costModels", i, () -> factory.costModel(c));
      }
      checkRepeats("costModels", l);
      return l;
    });
    List<String> es = collect(errors, () -> {
      List<String> l = new ArrayList<>();
      List<String> named = orDefault("engines", engines, List.of(Engine.DEFAULT.cliName()));
      for (int i = 0; i < named.size(); i++) {
        String e = named.get(i);
        // Runs go engine by engine: an unknown second engine used to be found after the first
        // engine's runs.
        checkName("engines", i, () -> l.add(Engine.parse(e).cliName()));
      }
      checkRepeats("engines", l);
      return l;
    });
    if (!errors.isEmpty()) {
      throw SpecError.all(errors);
    }
    return new StudySpec(name == null ? "study" : name, List.copyOf(ws), ms, rs, ss, cs,
        List.copyOf(es), reps, maxInstructions);
  }

  /** What {@code check} returns, or null after adding its SpecError to {@code errors}. */
  private static <T> T collect(List<SpecError> errors, java.util.function.Supplier<T> check) {
    try {
      return check.get();
    } catch (SpecError e) {
      errors.add(e);
      return null;
    }
  }

  /** Workload {@code i} with its defaults, checked; its name is added to {@code names}. */
  private static Workload checked(int i, Workload w, java.util.Set<String> names) {
    String at = "/workloads/" + i;
    LinuxIo.Params io = null;
    if (w != null && w.io() != null) {
      if (w.isSdk()) {
        throw new SpecError(at + "/io", true, "workloads[" + i + "]: give sdk or io, not both");
      }
      try {
        io = w.io().withDefaults();
      } catch (IllegalArgumentException e) {
        throw new SpecError(at + "/io", true, "workloads[" + i + "].io: " + e.getMessage());
      }
    }
    if (w != null && w.sdk() != null && w.sdk().isEmpty()) {
      throw new SpecError(at + "/sdk", true, "workloads[" + i + "].sdk: is empty (a program's C"
          + " files, or the name of a sample of samples/guests)");
    }
    if (w != null && w.isSdk() && w.kernel() != null) {
      throw new SpecError(at + "/kernel", true,
          "workloads[" + i + "]: give kernel or sdk, not both");
    }
    String kernel = w == null ? null
        : io != null && (w.kernel() == null || w.kernel().isBlank()) ? LinuxIo.defaultKernel()
        : w.kernel();
    if (w == null || !w.isSdk() && (kernel == null || kernel.isBlank())) {
      // A missing key has no line of its own: the workload's is the nearest.
      throw new SpecError(w != null && w.kernel() != null ? at + "/kernel" : at, w != null
          && w.kernel() != null, "workloads[" + i + "].kernel is missing");
    }
    String n = w.name() != null ? w.name()
        : io != null ? "linux-io-" + io.disk()
        : w.isSdk()
            ? Path.of(w.sdk().get(0)).getFileName().toString().replaceFirst("\\.c$", "")
            : Path.of(kernel).getFileName().toString().replaceFirst("\\.elf$", "");
    if (!names.add(n)) {
      throw new SpecError(w.name() != null ? at + "/name" : at, w.name() != null,
          "two workloads are named '" + n + "'" + (w.name()
          == null ? " (a workload without name: is named after its kernel or program)" : ""));
    }
    if (w.disk() != null && (!w.isSdk() || w.disk() < 1 || w.disk() > 1024)) {
      throw new SpecError(at + "/disk", false, "workloads[" + i + "].disk: " + (w.isSdk()
          ? w.disk() + " MiB is outside 1..1024" : "a scratch disk is for sdk programs"));
    }
    if (w.modes() != null) {
      if (w.modes().isEmpty()) {
        // runsIn would take it for every mode of the study.
        throw new SpecError(at + "/modes", true, "workloads[" + i + "].modes: is empty (leave the"
            + " key out for all of the study's modes)");
      }
      checkModes("workloads[" + i + "].modes", at + "/modes", w.modes());
    }
    return new Workload(n, kernel, w.cmdline(), w.loader(),
        w.make() == null ? Map.of() : Map.copyOf(w.make()),
        w.isSdk() ? List.copyOf(w.sdk()) : null, io, w.disk(),
        w.modes() == null ? null : List.copyOf(w.modes()));
  }

  /** A run's instruction limit when the study gives no {@code maxInstructions}. */
  public static final long DEFAULT_MAX_INSTRUCTIONS = 2_000_000_000L;

  /**
   * The same for a run of an {@code io:} workload. Debian's boot dominates it: the README's
   * example (16 MiB of disk, 4 of network) retired 3.07e9 instructions in pvhvm, 3.50e9 in hvm
   * over IDE and 3.22e9 over virtio, 0.71e9 in pvh (4 and 2 MiB in pvhvm: 2.94e9), so 2e9 cut
   * off every mode but pvh, after 24 s of host time at the smaller size. This is about three
   * times the most of those; a run that gets there is stuck or moves far more data, and its
   * progress line says to raise maxInstructions.
   */
  public static final long DEFAULT_IO_MAX_INSTRUCTIONS = 10_000_000_000L;

  /**
   * The instruction limit of a run of {@code w}: the study's {@code maxInstructions} if it gives
   * one (for every workload), else the default for the workload's kind.
   */
  public long maxInstructions(Workload w) {
    return maxInstructions(maxInstructions, w);
  }

  /** As above, for a study whose {@code maxInstructions} is {@code given} (null: none). */
  public static long maxInstructions(Long given, Workload w) {
    if (given != null) {
      return given;
    }
    return w.io() != null ? DEFAULT_IO_MAX_INSTRUCTIONS : DEFAULT_MAX_INSTRUCTIONS;
  }

  /**
   * Runs {@code check} on entry {@code index} of list {@code key}; its
   * IllegalArgumentException, listing the known names, gets the key.
   */
  private static void checkName(String key, int index, Runnable check) {
    try {
      check.run();
    } catch (IllegalArgumentException e) {
      throw new SpecError("/" + key + "/" + index, false, key + ": " + e.getMessage());
    }
  }

  /**
   * Refuses an entry listed twice: it would run every combination twice under the same label,
   * and the summary keys its columns by mode and cost model (repetitions: is for repeats).
   */
  private static <T> void checkRepeats(String key, List<T> values) {
    java.util.Set<T> seen = new java.util.HashSet<>();
    for (int i = 0; i < values.size(); i++) {
      T v = values.get(i);
      if (!seen.add(v)) {
        throw new SpecError("/" + key + "/" + i, false, key + ": '" + v + "' is listed twice"
            + " (repetitions: runs each combination more than once)");
      }
    }
  }

  private static void checkModes(String key, String pointer, List<String> ms) {
    for (int i = 0; i < ms.size(); i++) {
      String m = ms.get(i);
      if (BootMode.byName(m).isEmpty()) {
        throw new SpecError(pointer + "/" + i, false, key + ": unknown mode '" + m + "' ("
            + java.util.Arrays.stream(BootMode.values()).map(BootMode::toString)
                .collect(java.util.stream.Collectors.joining(", ")) + ")");
      }
    }
  }

  /**
   * The list, or its default when the key is left out. An empty list is refused: running the
   * default in its place would run what the user did not ask for.
   */
  private static <T> List<T> orDefault(String key, List<T> l, List<T> d) {
    if (l == null) {
      return d;
    }
    if (l.isEmpty()) {
      throw new SpecError("/" + key, true, key + ": is empty (leave the key out for its default: "
          + d.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", "))
          + ")");
    }
    return List.copyOf(l);
  }

  /** Every run of the study, in a fixed order (the order of the results). */
  public List<RunSpec> runs() {
    List<RunSpec> out = new ArrayList<>();
    for (Workload w : workloads) {
      for (String m : modes) {
        if (!w.runsIn(m)) {
          continue;
        }
        for (int r : ram) {
          for (String s : schedulers) {
            for (String c : costModels) {
              for (String e : engines) {
                for (int rep = 1; rep <= repetitions; rep++) {
                  out.add(new RunSpec(out.size() + 1, w, m, r, s, c, e, rep));
                }
              }
            }
          }
        }
      }
    }
    return out;
  }

  /**
   * A study's error found after its text was read into values (a bad mode, a missing kernel),
   * with where it is, so that {@link #read} can name the file's line: {@code pointer} is the
   * JSON pointer of the key or value at fault ("/workloads/1/modes/0"), {@code atKey} whether
   * the key's own position is meant (a key present but empty) rather than its value's.
   */
  static final class SpecError extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    final String pointer;
    final boolean atKey;

    /** This error and the ones found after it ({@link #all}); just this one otherwise. */
    private List<SpecError> found = List.of(this);

    SpecError(String pointer, boolean atKey, String message) {
      super(message);
      this.pointer = pointer;
      this.atKey = atKey;
    }

    /** The first of {@code errors}, carrying them all. */
    static SpecError all(List<SpecError> errors) {
      SpecError first = errors.get(0);
      first.found = List.copyOf(errors);
      return first;
    }

    /** Every error this one carries, itself first. */
    List<SpecError> found() {
      return found;
    }
  }

  /**
   * Where each key and each value of a study's text starts, by JSON pointer. Taken from the
   * parser's tokens as it reads, since the values built from them keep no position; every error
   * in a study then names its line, and those found after reading too.
   */
  record Positions(Map<String, JsonLocation> keys, Map<String, JsonLocation> values) {
    static Positions of(ObjectMapper mapper, String text, List<DuplicateKey> duplicates)
        throws IOException {
      Map<String, JsonLocation> keys = new java.util.HashMap<>();
      Map<String, JsonLocation> values = new java.util.HashMap<>();
      try (JsonParser p = mapper.createParser(text)) {
        for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
          JsonStreamContext c = p.getParsingContext();
          if (t == JsonToken.FIELD_NAME) {
            // YAML forbids a key twice in one mapping, but SnakeYAML and Jackson keep the last
            // one without a word: a second "modes:" further down silently replaced the first.
            JsonLocation first = keys.putIfAbsent(c.pathAsPointer().toString(),
                p.currentTokenLocation());
            if (first != null) {
              // Each one is an error of its own; reading goes on to find the others.
              duplicates.add(new DuplicateKey(p.currentTokenLocation(), "duplicate key '"
                  + p.currentName() + "'" + where(c.getParent()) + " (first at line "
                  + first.getLineNr() + ")"));
            }
          } else if (t != JsonToken.END_OBJECT && t != JsonToken.END_ARRAY) {
            // A mapping or list that starts here has opened its own context already.
            JsonStreamContext in = t.isStructStart() ? c.getParent() : c;
            values.putIfAbsent(in.pathAsPointer().toString(), p.currentTokenLocation());
          }
        }
      }
      return new Positions(keys, values);
    }

    /** " in workloads[1]" for the mapping a key is in, "" at the top. */
    private static String where(JsonStreamContext mapping) {
      StringBuilder b = new StringBuilder();
      for (JsonStreamContext c = mapping; c != null && !c.inRoot(); c = c.getParent()) {
        if (c.inArray()) {
          b.insert(0, "[" + c.getCurrentIndex() + "]");
        } else if (c.getCurrentName() != null) {
          b.insert(0, (c.getParent() != null && !c.getParent().inRoot() ? "." : "")
              + c.getCurrentName());
        }
      }
      return b.length() == 0 ? "" : " in " + b;
    }

    /**
     * "LINE:COLUMN" of the key (or value) at {@code pointer}, the other one if there is none,
     * else that of the nearest enclosing key or value that has one; null if none has.
     */
    String of(String pointer, boolean atKey) {
      for (String at = pointer; ; at = at.substring(0, at.lastIndexOf('/'))) {
        JsonLocation l = atKey ? keys.getOrDefault(at, values.get(at))
            : values.getOrDefault(at, keys.get(at));
        if (l != null && l.getLineNr() > 0) {
          return l.getLineNr() + ":" + l.getColumnNr();
        }
        if (at.isEmpty()) {
          return null;
        }
      }
    }

    /** "FILE:LINE:COLUMN: " for {@code pointer}, or "FILE: " if it has no position. */
    String prefix(Path file, String pointer, boolean atKey) {
      String lc = of(pointer, atKey);
      return file + ":" + (lc == null ? "" : lc + ":") + " ";
    }
  }

  /** A key given twice in one mapping, at the second one's position. */
  static final class DuplicateKey extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    final transient JsonLocation at;

    DuplicateKey(JsonLocation at, String message) {
      super(message);
      this.at = at;
    }
  }

  /** Which file a study was read from, and where its keys and values are. */
  private record Origin(Path file, Positions at) {}

  /**
   * The origin of each study {@link #read} returned, for the errors found only when a study
   * runs (a kernel file missing, an SDK source not there): they name the file's line too.
   * Weak keys: a study no one holds any more needs no origin.
   */
  private static final Map<StudySpec, Origin> ORIGINS =
      java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

  /**
   * "FILE:LINE:COLUMN: " of key {@code key} of workload {@code index} of a study {@link #read}
   * returned (of the workload itself when the key is not in the file), or "" for a study made
   * otherwise (the bundled default study).
   */
  public String origin(int index, String key) {
    Origin o = ORIGINS.get(this);
    return o == null ? "" : o.at().prefix(o.file(), "/workloads/" + index + "/" + key, false);
  }

  /** The JSON pointer of a mapping error's path: /workloads/1/modes. */
  static String pointer(List<JsonMappingException.Reference> refs) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : refs) {
      if (r.getFieldName() != null) {
        b.append('/').append(r.getFieldName().replace("~", "~0").replace("/", "~1"));
      } else if (r.getIndex() >= 0) {
        b.append('/').append(r.getIndex());
      }
    }
    return b.toString();
  }

  /**
   * Reads a study file: JSON if it ends in {@code .json}, else YAML. Every error in the file
   * names it as FILE:LINE:COLUMN, as a compiler does, so that an editor can jump there.
   */
  public static StudySpec read(Path file) throws IOException {
    ObjectMapper mapper = file.toString().endsWith(".json") ? new ObjectMapper()
        : new YAMLMapper();
    mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    if (Files.isDirectory(file)) {
      throw new IllegalArgumentException(file + ": is a directory, not a study file");
    }
    String text;
    try {
      text = Files.readString(file);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new IllegalArgumentException(file + ": not a text file; a study is YAML, or JSON"
          + " in a .json file");
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file");
    }
    if (text.isBlank()) {
      throw new IllegalArgumentException(file + ": is empty: a study needs workloads: at least"
          + " (keys: " + keys(StudySpec.class) + ")");
    }
    Positions at = new Positions(Map.of(), Map.of());
    // Every error found, each "FILE:LINE:COLUMN: ...": reported together, in the file's order.
    // The first pass stopped at the first one (a duplicate key before any other, whatever its
    // line), so a user fixed a file one error per attempt, not always from the top.
    List<String> problems = new ArrayList<>();
    try {
      // A syntax error stops this first pass, with the parser's own position.
      List<DuplicateKey> duplicates = new ArrayList<>();
      at = Positions.of(mapper, text, duplicates);
      for (DuplicateKey d : duplicates) {
        problems.add(file + ":" + d.at.getLineNr() + ":" + d.at.getColumnNr() + ": "
            + d.getMessage());
      }
      // Unknown keys: each one at its key, found in the tree (the parser's place when Jackson
      // meets one inside a record is not the key's), and skipped by the mapping, so that it
      // goes on to find the errors after them.
      unknownKeys(mapper.readTree(text), StudySpec.class, "", at, file, problems);
      mapper.addHandler(new DeserializationProblemHandler() {
        @Override
        public boolean handleUnknownProperty(DeserializationContext ctxt, JsonParser p,
            JsonDeserializer<?> deserializer, Object bean, String property) throws IOException {
          p.skipChildren();
          return true;
        }
      });
      StudySpec spec = mapper.readValue(text, StudySpec.class);
      // A list key written with nothing after it ("modes:") reads as null, as a key left out
      // does, and would silently get the default; only the tree tells the two apart.
      String bare = bareListKey(mapper.readTree(text));
      if (bare != null) {
        throw new SpecError("/" + bare.replace("[", "/").replace("]", "").replace('.', '/'),
            true, bare + ": has no value (leave the key out for its default, or list at least"
                + " one entry)");
      }
      StudySpec study = spec.withDefaults();
      if (problems.isEmpty()) {
        ORIGINS.put(study, new Origin(file, at));
        return study;
      }
    } catch (MismatchedInputException e) {
      // Jackson's own text names Java classes and constructors; say it in the study's terms.
      String where = path(e.getPath());
      problems.add(prefix(file, at, e) + (where.isEmpty()
          ? "not a study file: expected a mapping with " + keys(StudySpec.class)
          : where + ": expected " + expected(e.getTargetType()) + ", got " + found(e)));
    } catch (JacksonException e) {
      if (e instanceof JsonMappingException m && m.getCause() instanceof InputCoercionException c) {
        // The parser's own text has no key and names Java's types: give the key and the range.
        var node = nodeAt(mapper.readTree(text), m.getPath());
        problems.add(prefix(file, at, m) + path(m.getPath()) + ": "
            + (node != null && node.isNumber() ? node.asText() : "the number")
            + " is out of range (a whole number from " + (isLong(c.getTargetType())
                ? Long.MIN_VALUE + " to " + Long.MAX_VALUE
                : Integer.MIN_VALUE + " to " + Integer.MAX_VALUE) + ")");
      } else {
        problems.add(prefix(file, at, e) + oneLine(e.getOriginalMessage()));
      }
    } catch (SpecError e) {
      for (SpecError each : e.found()) {
        problems.add(at.prefix(file, each.pointer, each.atKey) + each.getMessage());
      }
    } catch (IllegalArgumentException e) {
      problems.add(file + ": " + e.getMessage());
    }
    throw new IllegalArgumentException(inFileOrder(file, problems));
  }

  /**
   * The errors one to a line, ordered by the line and column each names (one with no position
   * first); the order found stands between equals.
   */
  static String inFileOrder(Path file, List<String> problems) {
    java.util.regex.Pattern lc = java.util.regex.Pattern.compile(
        java.util.regex.Pattern.quote(file + ":") + "(\\d+):(\\d+): ");
    java.util.function.ToLongFunction<String> key = m -> {
      java.util.regex.Matcher x = lc.matcher(m);
      return x.lookingAt() ? Long.parseLong(x.group(1)) << 32 | Long.parseLong(x.group(2)) : 0;
    };
    return problems.stream().distinct().sorted(java.util.Comparator.comparingLong(key))
        .collect(java.util.stream.Collectors.joining("\n"));
  }

  /**
   * Adds a line to {@code problems} for each key of mapping {@code node} (at JSON pointer
   * {@code pointer}) that record {@code type} does not have, and for those of the records and
   * lists of records under it.
   */
  private static void unknownKeys(com.fasterxml.jackson.databind.JsonNode node, Class<?> type,
      String pointer, Positions at, Path file, List<String> problems) {
    if (node == null || !node.isObject() || !type.isRecord()) {
      return;
    }
    Map<String, java.lang.reflect.RecordComponent> components = new java.util.HashMap<>();
    for (java.lang.reflect.RecordComponent c : type.getRecordComponents()) {
      components.put(c.getName(), c);
    }
    for (var fields = node.fields(); fields.hasNext(); ) {
      var f = fields.next();
      String key = pointer + "/" + f.getKey().replace("~", "~0").replace("/", "~1");
      java.lang.reflect.RecordComponent c = components.get(f.getKey());
      if (c == null) {
        problems.add(at.prefix(file, key, true) + "unknown key '" + f.getKey() + "'"
            + (pointer.isEmpty() ? "" : " in " + pathOf(pointer)) + " (known: " + keys(type)
            + ")");
      } else if (c.getType().isRecord()) {
        unknownKeys(f.getValue(), c.getType(), key, at, file, problems);
      } else if (List.class.isAssignableFrom(c.getType()) && f.getValue().isArray()
          && c.getGenericType() instanceof java.lang.reflect.ParameterizedType t
          && t.getActualTypeArguments()[0] instanceof Class<?> element && element.isRecord()) {
        for (int i = 0; i < f.getValue().size(); i++) {
          unknownKeys(f.getValue().get(i), element, key + "/" + i, at, file, problems);
        }
      }
    }
  }

  /** "workloads[1].modes" for the JSON pointer "/workloads/1/modes". */
  private static String pathOf(String pointer) {
    StringBuilder b = new StringBuilder();
    for (String part : pointer.substring(1).split("/")) {
      if (part.matches("\\d+")) {
        b.append('[').append(part).append(']');
      } else {
        b.append(b.length() == 0 ? "" : ".").append(part.replace("~1", "/").replace("~0", "~"));
      }
    }
    return b.toString();
  }

  /**
   * "FILE:LINE:COLUMN: " of a parser or mapping error: where its path's value starts when the
   * path has one (the parser may have read past it), else where the parser stopped.
   */
  private static String prefix(Path file, Positions at, JacksonException e) {
    if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
      String lc = at.of(pointer(m.getPath()), false);
      if (lc != null) {
        return file + ":" + lc + ": ";
      }
    }
    // SnakeYAML marks where the problem is, and separately the context it arose in ("while
    // parsing a flow sequence" that began a line earlier); Jackson's location is the latter.
    if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException y
        && y.getProblemMark() != null) {
      return file + ":" + (y.getProblemMark().getLine() + 1) + ":"
          + (y.getProblemMark().getColumn() + 1) + ": ";
    }
    var l = e.getLocation();
    return l == null || l.getLineNr() < 1 ? file + ": "
        : file + ":" + l.getLineNr() + ":" + l.getColumnNr() + ": ";
  }

  /**
   * The first list-valued key of the study or of one of its workloads that is present with no
   * value (YAML's "key:" alone, or null), as its path (modes, workloads[1].sdk), or null.
   */
  static String bareListKey(com.fasterxml.jackson.databind.JsonNode tree) {
    String top = bareListKey(tree, StudySpec.class, "");
    if (top != null || tree == null || !tree.path("workloads").isArray()) {
      return top;
    }
    for (int i = 0; i < tree.get("workloads").size(); i++) {
      String w = bareListKey(tree.get("workloads").get(i), Workload.class,
          "workloads[" + i + "].");
      if (w != null) {
        return w;
      }
    }
    return null;
  }

  private static String bareListKey(com.fasterxml.jackson.databind.JsonNode node, Class<?> type,
      String prefix) {
    if (node == null || !node.isObject()) {
      return null;
    }
    for (java.lang.reflect.RecordComponent c : type.getRecordComponents()) {
      if (List.class.isAssignableFrom(c.getType()) && node.has(c.getName())
          && node.get(c.getName()).isNull()) {
        return prefix + c.getName();
      }
    }
    return null;
  }

  /** The keys a study (or a workload, its io: ...) may have, in the order of the record. */
  private static String keys(Class<?> type) {
    return java.util.Arrays.stream(type.getRecordComponents())
        .map(java.lang.reflect.RecordComponent::getName)
        .collect(java.util.stream.Collectors.joining(", "));
  }

  /** What a key of type {@code type} takes, in YAML's words. */
  private static String expected(Class<?> type) {
    if (type == null) {
      return "another kind of value";
    }
    if (java.util.Collection.class.isAssignableFrom(type) || type.isArray()) {
      return "a list";
    }
    if (Map.class.isAssignableFrom(type) || type.isRecord()) {
      return "a mapping" + (type.isRecord() ? " with " + keys(type) : "");
    }
    if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
      return "a whole number";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    return type == String.class ? "a single value" : "a " + type.getSimpleName();
  }

  /** What the study has where a mismatched value is: a list, a mapping, or the value. */
  private static String found(MismatchedInputException e) {
    if (e instanceof com.fasterxml.jackson.databind.exc.InvalidFormatException f) {
      return "'" + f.getValue() + "'";
    }
    // The parser has moved on by now; Jackson's message names the token it found.
    String m = e.getOriginalMessage();
    java.util.regex.Matcher value = java.util.regex.Pattern
        .compile("from String value \\('(.*)'\\)").matcher(m);
    if (value.find()) {
      return "'" + value.group(1) + "'";
    }
    java.util.regex.Matcher token = java.util.regex.Pattern
        .compile("JsonToken\\.([A-Z_]+)").matcher(m);
    String t = token.find() ? token.group(1) : "";
    return switch (t) {
      case "START_ARRAY" -> "a list";
      case "START_OBJECT", "FIELD_NAME" -> "a mapping";
      case "VALUE_STRING" -> "a single value";
      case "VALUE_NUMBER_INT", "VALUE_NUMBER_FLOAT" -> "a number";
      case "VALUE_TRUE", "VALUE_FALSE" -> "true or false";
      case "VALUE_NULL" -> "nothing";
      default -> "something else";
    };
  }

  private static boolean isLong(Class<?> type) {
    return type == long.class || type == Long.class;
  }

  /** The value at a mapping error's path in the study's tree, or null. */
  private static com.fasterxml.jackson.databind.JsonNode nodeAt(
      com.fasterxml.jackson.databind.JsonNode node, List<JsonMappingException.Reference> refs) {
    for (JsonMappingException.Reference r : refs) {
      if (node == null) {
        return null;
      }
      node = r.getFieldName() != null ? node.get(r.getFieldName()) : node.get(r.getIndex());
    }
    return node;
  }

  /** Where in the study a mapping error is, as the user writes it: workloads[1].modes. */
  static String path(List<JsonMappingException.Reference> refs) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : refs) {
      if (r.getFieldName() != null) {
        b.append(b.length() == 0 ? "" : ".").append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.toString();
  }

  /**
   * A parser's message on one line: SnakeYAML's spans several, with the input's position
   * (" in 'reader', line 3, column 1:") and a caret under the text; the line number is given
   * separately.
   */
  static String oneLine(String message) {
    StringBuilder b = new StringBuilder();
    for (String line : message.split("\\R")) {
      String t = line.strip();
      if (t.isEmpty() || t.startsWith("in 'reader'") || t.chars().allMatch(c -> c == '^')) {
        continue;
      }
      if (b.indexOf(t) >= 0) {
        continue; // snippets of the input repeat once per mark
      }
      b.append(b.length() == 0 ? "" : ": ").append(t);
    }
    return b.toString();
  }

  /** Reads a study from the class path (the bundled default study). */
  public static StudySpec resource(String name) throws IOException {
    try (var in = StudySpec.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("missing resource " + name);
      }
      return new YAMLMapper().readValue(in, StudySpec.class).withDefaults();
    }
  }
}
