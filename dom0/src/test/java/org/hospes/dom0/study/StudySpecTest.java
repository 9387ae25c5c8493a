package org.hospes.dom0.study;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StudySpecTest {
  @TempDir
  Path dir;

  @Test
  void aYamlStudyExpandsToEveryCombinationInAFixedOrder() throws Exception {
    Path f = dir.resolve("s.yaml");
    Files.writeString(f, """
        name: grid
        workloads:
          - {kernel: k/one.elf, cmdline: "iters=5"}
          - {name: two, kernel: two}
        modes: [native, hvm]
        ram: [32, 64]
        costModels: [default]
        repetitions: 2
        """);
    StudySpec s = StudySpec.read(f);
    assertThat(s.runs()).hasSize(2 * 2 * 2 * 2);
    RunSpec first = s.runs().get(0);
    assertThat(first.workload().name()).isEqualTo("one");
    assertThat(first.mode()).isEqualTo("native");
    assertThat(first.ramMiB()).isEqualTo(32);
    assertThat(first.scheduler()).isEqualTo("credit");
    assertThat(first.engine()).isEqualTo("jit");
    assertThat(s.runs().get(1).repetition()).isEqualTo(2);
    assertThat(s.runs().get(15).index()).isEqualTo(16);
    assertThat(s.runs().get(15).workload().name()).isEqualTo("two");
  }

  @Test
  void aJsonStudyReadsTheSame() throws Exception {
    Path f = dir.resolve("s.json");
    Files.writeString(f, "{\"workloads\":[{\"kernel\":\"nanobench\"}],\"modes\":[\"hvm-shadow\"]}");
    StudySpec s = StudySpec.read(f);
    assertThat(s.name()).isEqualTo("study");
    assertThat(s.runs()).singleElement().satisfies(r -> {
      assertThat(r.mode()).isEqualTo("hvm-shadow");
      assertThat(r.ramMiB()).isEqualTo(64);
    });
  }

  @Test
  void mistakesAreNamedWithTheFileAndTheKey() throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, "workloads: [{kernel: k}]\nmodes: [native, pv9]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":2:17: modes: unknown mode 'pv9'"
        + " (native, hvm, hvm-shadow, pvhvm, pvh, pv)");
    Files.writeString(f, "workloads: [{kernel: k}]\nram: [4096]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f + ":2:7: ram: 4096 MiB");
    // A key left out has no line: the study's start stands for it.
    Files.writeString(f, "modes: [native]\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ":1:1: workloads: at least one workload is needed");
    Files.writeString(f, "workloads: [{kernel: k}]\nmodez: [native]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f + ":2:1: unknown key 'modez'")
        .hasMessageContaining("modes");
    Files.writeString(f, "workloads: [{kernel: k}\nmodes: native]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f + ":2:1: while parsing"
        + " a flow sequence: ").hasMessageNotContaining("\n");
    assertThatThrownBy(() -> StudySpec.read(dir.resolve("none.yaml")))
        .hasMessageEndingWith("none.yaml: no such file");
  }

  /**
   * An unknown key is reported at its own line, as file:line:, in YAML and JSON alike: the
   * parser stops after the key's value, which for a block mapping or list under the key is
   * lines further down (the trial's study named the line of the next key).
   */
  @Test
  void anUnknownKeyIsReportedAtItsOwnLine() throws Exception {
    Path f = dir.resolve("keys.yaml");
    Files.writeString(f, """
        name: s
        workloads:
          - kernel: k
            bogus:
              a: 1
              b: 2
          - kernel: other
        modes: [native]
        """);
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":4:5: unknown key 'bogus' in"
        + " workloads[0] (known: name, kernel, cmdline, loader, make, sdk, io, disk, modes)");
    Files.writeString(f, """
        # a comment

        workloads:
          - {kernel: k}
        modez:
          - native
          - hvm

        ram: [32]
        """);
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f + ":5:1: unknown key"
        + " 'modez' (known: name, workloads, modes, ");
    // The same name as a known key elsewhere: the one at the error's path is meant.
    Files.writeString(f, """
        workloads:
          - kernel: k
          - kernel: k2
            name: two
            io:
              disk: xen
              name: x
        """);
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f + ":7:7: unknown key"
        + " 'name' in workloads[1].io (known: disk, ");
    Path json = dir.resolve("keys.json");
    Files.writeString(json, "{\n  \"workloads\": [\n    {\"kernel\": \"k\"}\n  ],\n"
        + "  \"extra\": {\n    \"a\": [1,\n      2]\n  }\n}\n");
    assertThatThrownBy(() -> StudySpec.read(json)).hasMessageStartingWith(json
        + ":5:3: unknown key 'extra' (known: ");
  }

  /**
   * Every error found in a study names FILE:LINE:COLUMN, also those found after the text was
   * read into values (a missing kernel, a value out of range, a bad I/O path), which the last
   * trial saw named by key alone: in a long block-style study the key's name did not say which
   * workload. A value's own position, or for a missing key the mapping that lacks it.
   */
  @Test
  void everyErrorFoundInAStudyNamesItsLine() throws Exception {
    Path f = dir.resolve("lines.yaml");
    String head = """
        name: lines
        workloads:
          - name: a
            kernel: k
          - name: b
            cmdline: "x=1"
        """;
    Files.writeString(f, head);
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ":5:5: workloads[1].kernel is missing");
    String ok = "name: lines\nworkloads:\n  - name: a\n    kernel: k\n";
    String[][] cases = {
      {"ram:\n  - 64\n  - 2048\n", "7:5: ram: 2048 MiB is outside 1..1024"},
      {"repetitions: 0\n", "5:14: repetitions must be at least 1, got 0"},
      {"maxInstructions: -5\n", "5:18: maxInstructions must be positive, got -5"},
      {"modes:\n  - pvh\n  - hvm-ept\n", "7:5: modes: unknown mode 'hvm-ept' (native, hvm,"
          + " hvm-shadow, pvhvm, pvh, pv)"},
      {"engines: [interp]\nschedulers:\n  - credit\n  - lottery9\n",
          "8:5: schedulers: unknown scheduler 'lottery9'; known schedulers: "},
      {"  - name: s\n    sdk: [events]\n    disk: 4096\n",
          "7:11: workloads[1].disk: 4096 MiB is outside 1..1024"},
      {"  - name: l\n    io:\n      disk: scsi\n", "6:5: workloads[1].io: disk must be ide,"
          + " virtio, xen or none, got 'scsi'"},
      {"  - name: l\n    sdk: [events]\n    io: {disk: xen}\n",
          "7:5: workloads[1]: give sdk or io, not both"},
    };
    for (String[] c : cases) {
      Files.writeString(f, ok + c[0]);
      assertThatThrownBy(() -> StudySpec.read(f)).as(c[0])
          .hasMessageStartingWith(f + ":" + c[1]);
    }
  }

  @Test
  void aNameOrAListEntryGivenTwiceIsRefused() throws Exception {
    Path f = dir.resolve("dup.yaml");
    // Images are found by workload name: the second 'h' would run the first one's kernel.
    Files.writeString(f, "workloads: [{name: h, kernel: hello}, {name: h, kernel: spin}]\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ":1:40: two workloads are named 'h'");
    Files.writeString(f, "workloads: [{kernel: k/hello.elf}, {kernel: hello, cmdline: x}]\n");
    // No name: key to point at; the workload's own mapping is where it is.
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":1:36: two workloads are named"
        + " 'hello' (a workload without name: is named after its kernel or program)");
    for (String list : new String[] {"modes: [native, hvm, native]", "ram: [64, 64]",
        "schedulers: [credit, credit]", "costModels: [default, default]",
        "engines: [jit, jit]"}) {
      Files.writeString(f, "workloads: [{kernel: k}]\n" + list + "\n");
      String key = list.substring(0, list.indexOf(':'));
      assertThatThrownBy(() -> StudySpec.read(f)).as(list)
          .hasMessageStartingWith(f + ":2:" + (list.lastIndexOf(", ") + 3) + ": " + key + ": '")
          .hasMessageContaining("' is listed twice (repetitions: runs each combination");
    }
  }

  /**
   * Every error of a study file, each on its own line, in the file's order. The trial got only
   * the first one found: a duplicate key (line 8) before an unknown key (line 3), and nothing
   * of the others, so the file took one attempt per error.
   */
  @Test
  void everyErrorIsReportedInTheFilesOrder() throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, """
        name: bad
        workloads:
          - {name: nb, kernel: k, bogus: 1}
          - {name: x, colour: red}
        modes: [native, hvmx]
        ram: [4096]
        repetitions: -1
        engines: [jit]
        engines: [interp]
        """);
    String known = " (known: name, kernel, cmdline, loader, make, sdk, io, disk, modes)";
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(String.join("\n",
        f + ":3:27: unknown key 'bogus' in workloads[0]" + known,
        f + ":4:5: workloads[1].kernel is missing",
        f + ":4:15: unknown key 'colour' in workloads[1]" + known,
        f + ":5:17: modes: unknown mode 'hvmx' (native, hvm, hvm-shadow, pvhvm, pvh, pv)",
        f + ":6:7: ram: 4096 MiB is outside 1..1024",
        f + ":7:14: repetitions must be at least 1, got -1",
        f + ":9:1: duplicate key 'engines' (first at line 8)"));
  }

  @Test
  void aKeyGivenTwiceInOneMappingIsRefusedAtTheSecond() throws Exception {
    // SnakeYAML and Jackson keep the last of two equal keys without a word: the second modes:
    // below used to replace the first, and the study ran in pv alone.
    Path f = dir.resolve("twice.yaml");
    Files.writeString(f, "name: twice\nmodes: [native, hvm]\nworkloads:\n  - {kernel: k}\n"
        + "modes: [pv]\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ":5:1: duplicate key 'modes' (first at line 2)");
    Files.writeString(f, "workloads:\n  - name: a\n    kernel: k\n    cmdline: x\n"
        + "    cmdline: y\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ":5:5: duplicate key 'cmdline' in workloads[0] (first at line 4)");
    Files.writeString(f, "workloads:\n  - {kernel: k}\n  - {kernel: j, make: {A: 1, A: 2}}\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ":3:30: duplicate key 'A' in workloads[1].make (first at line 3)");
    Path json = dir.resolve("twice.json");
    Files.writeString(json, "{\"workloads\": [{\"kernel\": \"k\"}],\n \"ram\": [64],"
        + " \"ram\": [128]}\n");
    assertThatThrownBy(() -> StudySpec.read(json))
        .hasMessageStartingWith(json + ":2:15: duplicate key 'ram' (first at line 2)");
    // The same key in two different mappings is no repeat.
    Files.writeString(f, "workloads:\n  - {name: a, kernel: k}\n  - {name: b, kernel: k}\n");
    assertThat(StudySpec.read(f).workloads()).hasSize(2);
  }

  @Test
  void aWorkloadWhoseModesAreNoneOfTheStudysIsRefused() throws Exception {
    // It ran nowhere: the study ended "0 runs" with status 0 and an empty report.
    Path f = dir.resolve("nowhere.yaml");
    Files.writeString(f, "workloads:\n  - {name: m, kernel: k, modes: [pv]}\nmodes: [pvh]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":2:26: workloads[0].modes: none"
        + " of pv is among the study's modes (pvh), so workload 'm' would run nowhere");
    Files.writeString(f, "workloads:\n  - {kernel: k}\n  - {kernel: j, modes: [pv, pvh]}\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":3:17: workloads[1].modes: none"
        + " of pv, pvh is among the study's modes (native, hvm, hvm-shadow), so workload 'j' would"
        + " run nowhere");
    // Some in common: it runs in those, as the README says.
    Files.writeString(f, "workloads:\n  - {kernel: k, modes: [pv, hvm]}\nmodes: [hvm, pvh]\n");
    assertThat(StudySpec.read(f).runs()).extracting(RunSpec::mode).containsExactly("hvm");
  }

  @Test
  void unknownSchedulersCostModelsAndEnginesAreRefusedAtLoad() throws Exception {
    Path f = dir.resolve("names.yaml");
    Files.writeString(f, "workloads: [{kernel: k}]\ncostModels: [default, bogus]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f
        + ":2:23: costModels: unknown cost model 'bogus'; known cost models: ")
        .hasMessageContaining("default").hasMessageContaining("prescott");
    Files.writeString(f, "workloads: [{kernel: k}]\nschedulers: [nosuch]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f
        + ":2:14: schedulers: unknown scheduler 'nosuch'; known schedulers: ")
        .hasMessageContaining("credit");
    // Runs go engine by engine: the second engine must not be found after the first's runs.
    Files.writeString(f, "workloads: [{kernel: k}]\nengines: [jit, bogus]\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ":2:16: engines: unknown engine 'bogus' (known: interp, jit, lockstep)");
    Files.writeString(f, "workloads: [{kernel: k}]\nengines: [JIT]\n");
    assertThat(StudySpec.read(f).engines()).containsExactly("jit");
  }

  @Test
  void anEmptyListIsRefusedAndALeftOutKeyKeepsItsDefault() throws Exception {
    Path f = dir.resolve("empty.yaml");
    Files.writeString(f, "workloads: [{kernel: k}]\nmodes: []\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":2:1: modes: is empty (leave the"
        + " key out for its default: native, hvm, hvm-shadow)");
    for (String key : new String[] {"ram", "schedulers", "costModels", "engines"}) {
      Files.writeString(f, "workloads: [{kernel: k}]\n" + key + ": []\n");
      assertThatThrownBy(() -> StudySpec.read(f)).as(key)
          .hasMessageStartingWith(f + ":2:1: " + key + ": is empty (leave the key out for its"
              + " default: ");
    }
    Files.writeString(f, "workloads: []\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ":1:1: workloads: at least one workload is needed");
    Files.writeString(f, "workloads: [{kernel: k, modes: []}]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":1:25: workloads[0].modes: is empty"
        + " (leave the key out for all of the study's modes)");
    Files.writeString(f, "workloads: [{name: p, sdk: []}]\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessageStartingWith(f + ":1:23: workloads[0].sdk: is empty");
    Files.writeString(f, "workloads: [{kernel: k}]\n");
    StudySpec s = StudySpec.read(f);
    assertThat(s.modes()).containsExactly("native", "hvm", "hvm-shadow");
    assertThat(s.ram()).containsExactly(64);
    assertThat(s.engines()).containsExactly("jit");
  }

  @Test
  void aListKeyWithNoValueIsRefusedNotTakenAsLeftOut() throws Exception {
    // "modes:" alone reads as null, as a key left out does: it must not get the default.
    Path f = dir.resolve("bare.yaml");
    Files.writeString(f, "workloads: [{kernel: k}]\nmodes:\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":2:1: modes: has no value (leave"
        + " the key out for its default, or list at least one entry)");
    Files.writeString(f, "workloads:\n  - kernel: k\n  - kernel: j\n    modes:\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessageStartingWith(f + ":4:5: workloads[1].modes: has no value");
    Files.writeString(f, "{\"workloads\": [{\"kernel\": \"k\"}], \"engines\": null}");
    Path json = dir.resolve("bare.json");
    Files.move(f, json);
    assertThatThrownBy(() -> StudySpec.read(json))
        .hasMessageStartingWith(json + ":1:34: engines: has no value");
    // A key that is not a list keeps meaning "not given" when it has no value.
    Files.writeString(f, "workloads: [{kernel: k}]\nrepetitions:\n");
    assertThat(StudySpec.read(f).modes()).containsExactly("native", "hvm", "hvm-shadow");
  }

  @Test
  void aNumberTooLargeNamesItsKey() throws Exception {
    // The parser refuses it before the mapper knows the key: the message must still say where.
    Path f = dir.resolve("big.yaml");
    Files.writeString(f, "workloads:\n  - kernel: k\nram: [64, 99999999999]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":3:11: ram[1]: 99999999999 is"
        + " out of range (a whole number from -2147483648 to 2147483647)");
    Path json = dir.resolve("big.json");
    Files.writeString(json, "{\"workloads\": [{\"kernel\": \"k\"}],"
        + " \"repetitions\": 123456789012345678901234}");
    assertThatThrownBy(() -> StudySpec.read(json)).hasMessageStartingWith(json
        + ":1:49: repetitions: 123456789012345678901234 is out of range");
  }

  @Test
  void everyUnreadableFileIsOneLineNamingIt() throws Exception {
    Path f = dir.resolve("cut.yaml");
    Files.writeString(f, "name: x\nworkloads: [\n");
    // Where SnakeYAML found the problem (here the file's end), not where its context began.
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":3:1: while parsing a flow"
        + " node: expected the node content, but found '<stream end>'");
    Path bin = dir.resolve("bin.yaml");
    Files.write(bin, new byte[] {0x7F, 'E', 'L', 'F', 1, 1, 1, 0, (byte) 0xFF, (byte) 0xFE});
    assertThatThrownBy(() -> StudySpec.read(bin)).hasMessage(bin + ": not a text file; a study"
        + " is YAML, or JSON in a .json file");
    assertThatThrownBy(() -> StudySpec.read(dir)).hasMessage(dir
        + ": is a directory, not a study file");
  }

  @Test
  void aFileOfAnotherShapeOrAValueOfTheWrongKindIsAPlainSentence() throws Exception {
    String keys = "name, workloads, modes, ram, schedulers, costModels, engines, repetitions,"
        + " maxInstructions";
    Path md = dir.resolve("README.md");
    Files.writeString(md, "# Title\n\nSome text.\n");
    assertThatThrownBy(() -> StudySpec.read(md)).hasMessage(md + ":3:1: not a study file:"
        + " expected a mapping with " + keys);
    Path f = dir.resolve("s.yaml");
    String[][] cases = {
      {"- a\n- b\n", "1:1: not a study file: expected a mapping with " + keys},
      {"workloads: [hello]\n", "1:13: workloads[0]: expected a mapping with name, kernel,"
          + " cmdline, loader, make, sdk, io, disk, modes, got 'hello'"},
      {"workloads: {name: h}\n", "1:12: workloads: expected a list, got a mapping"},
      {"workloads: [{kernel: k}]\nmodes: native\n",
          "2:8: modes: expected a list, got 'native'"},
      {"workloads: [{kernel: k}]\nram: [abc]\n",
          "2:7: ram[0]: expected a whole number, got 'abc'"},
      {"workloads: [{kernel: k}]\nrepetitions: [1]\n",
          "2:14: repetitions: expected a whole number, got a list"},
      {"workloads: [{kernel: k, cmdline: [a, b]}]\n",
          "1:34: workloads[0].cmdline: expected a single value, got a list"},

      {"  \n", " is empty: a study needs workloads: at least (keys: " + keys + ")"},
    };
    for (String[] c : cases) {
      Files.writeString(f, c[0]);
      assertThatThrownBy(() -> StudySpec.read(f)).as(c[0]).hasMessage(f + ":" + c[1]);
    }
    Files.writeString(f, "workloads: [{name: h, kernel: k, bogus: 1}]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":1:34: unknown key 'bogus' in"
        + " workloads[0] (known: name, kernel, cmdline, loader, make, sdk, io, disk, modes)");
    Files.writeString(f, "workloads: [{kernel: k, io: {disk: xen, frob: 2}}]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":1:41: unknown key 'frob' in"
        + " workloads[0].io (known: disk, net, diskMiB, fetchMiB, modules)");
    Path json = dir.resolve("s.json");
    Files.writeString(json, "\"hello\"");
    assertThatThrownBy(() -> StudySpec.read(json)).hasMessageStartingWith(json
        + ":1:1: not a study file: expected a mapping with name, workloads,");
  }

  @Test
  void theBundledDefaultStudyCoversTheModes() throws Exception {
    StudySpec s = StudySpec.resource("default-study.yaml");
    assertThat(s.modes()).containsExactly("native", "hvm", "hvm-shadow", "pvhvm", "pvh", "pv");
    assertThat(s.workloads()).extracting(StudySpec.Workload::name)
        .containsExactly("nanobench", "cpu-bound", "disk-bench");
    // Every mode has a column: cpu-bound is an SDK program, one image for all six.
    StudySpec.Workload cpu = s.workloads().get(1);
    assertThat(cpu.isSdk()).isTrue();
    assertThat(s.modes()).allMatch(cpu::runsIn);
    // Disk I/O without Linux: disk-bench on a scratch disk in every mode, over emulated IDE in
    // native, hvm and hvm-shadow and over blkfront in pvhvm, pvh and pv.
    StudySpec.Workload disk = s.workloads().get(2);
    assertThat(disk.disk()).isEqualTo(1);
    assertThat(s.modes()).allMatch(disk::runsIn);
    // The nanobenchmarks are ring-0 operations of a Multiboot kernel.
    assertThat(s.workloads().get(0).modes()).containsExactly("native", "hvm", "hvm-shadow");
    assertThat(s.runs()).hasSize((3 + 6 + 6) * 2);
  }
}
