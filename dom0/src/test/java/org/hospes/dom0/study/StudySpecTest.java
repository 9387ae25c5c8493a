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
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ": modes: unknown mode 'pv9'"
        + " (native, hvm, hvm-shadow, pvhvm, pvh, pv)");
    Files.writeString(f, "workloads: [{kernel: k}]\nram: [4096]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("ram: 4096 MiB");
    Files.writeString(f, "modes: [native]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("workloads:");
    Files.writeString(f, "workloads: [{kernel: k}]\nmodez: [native]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("unknown key 'modez'")
        .hasMessageContaining("modes");
    Files.writeString(f, "workloads: [{kernel: k}\nmodes: native]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f + ": ")
        .hasMessageContaining("line");
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
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":4: unknown key 'bogus' in"
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
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f + ":5: unknown key"
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
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f + ":7: unknown key"
        + " 'name' in workloads[1].io (known: disk, ");
    Path json = dir.resolve("keys.json");
    Files.writeString(json, "{\n  \"workloads\": [\n    {\"kernel\": \"k\"}\n  ],\n"
        + "  \"extra\": {\n    \"a\": [1,\n      2]\n  }\n}\n");
    assertThatThrownBy(() -> StudySpec.read(json)).hasMessageStartingWith(json
        + ":5: unknown key 'extra' (known: ");
  }

  @Test
  void aNameOrAListEntryGivenTwiceIsRefused() throws Exception {
    Path f = dir.resolve("dup.yaml");
    // Images are found by workload name: the second 'h' would run the first one's kernel.
    Files.writeString(f, "workloads: [{name: h, kernel: hello}, {name: h, kernel: spin}]\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ": two workloads are named 'h'");
    Files.writeString(f, "workloads: [{kernel: k/hello.elf}, {kernel: hello, cmdline: x}]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ": two workloads are named"
        + " 'hello' (a workload without name: is named after its kernel or program)");
    for (String list : new String[] {"modes: [native, hvm, native]", "ram: [64, 64]",
        "schedulers: [credit, credit]", "costModels: [default, default]",
        "engines: [jit, jit]"}) {
      Files.writeString(f, "workloads: [{kernel: k}]\n" + list + "\n");
      String key = list.substring(0, list.indexOf(':'));
      assertThatThrownBy(() -> StudySpec.read(f)).as(list)
          .hasMessageStartingWith(f + ": " + key + ": '")
          .hasMessageContaining("' is listed twice (repetitions: runs each combination");
    }
  }

  @Test
  void unknownSchedulersCostModelsAndEnginesAreRefusedAtLoad() throws Exception {
    Path f = dir.resolve("names.yaml");
    Files.writeString(f, "workloads: [{kernel: k}]\ncostModels: [default, bogus]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f
        + ": costModels: unknown cost model 'bogus'; known cost models: ")
        .hasMessageContaining("default").hasMessageContaining("prescott");
    Files.writeString(f, "workloads: [{kernel: k}]\nschedulers: [nosuch]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageStartingWith(f
        + ": schedulers: unknown scheduler 'nosuch'; known schedulers: ")
        .hasMessageContaining("credit");
    // Runs go engine by engine: the second engine must not be found after the first's runs.
    Files.writeString(f, "workloads: [{kernel: k}]\nengines: [jit, bogus]\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessage(f + ": engines: unknown engine 'bogus' (known: interp, jit, lockstep)");
    Files.writeString(f, "workloads: [{kernel: k}]\nengines: [JIT]\n");
    assertThat(StudySpec.read(f).engines()).containsExactly("jit");
  }

  @Test
  void anEmptyListIsRefusedAndALeftOutKeyKeepsItsDefault() throws Exception {
    Path f = dir.resolve("empty.yaml");
    Files.writeString(f, "workloads: [{kernel: k}]\nmodes: []\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ": modes: is empty (leave the"
        + " key out for its default: native, hvm, hvm-shadow)");
    for (String key : new String[] {"ram", "schedulers", "costModels", "engines"}) {
      Files.writeString(f, "workloads: [{kernel: k}]\n" + key + ": []\n");
      assertThatThrownBy(() -> StudySpec.read(f)).as(key)
          .hasMessageStartingWith(f + ": " + key + ": is empty (leave the key out for its"
              + " default: ");
    }
    Files.writeString(f, "workloads: []\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("workloads: at least one");
    Files.writeString(f, "workloads: [{kernel: k, modes: []}]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ": workloads[0].modes: is empty"
        + " (leave the key out for all of the study's modes)");
    Files.writeString(f, "workloads: [{name: p, sdk: []}]\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessageStartingWith(f + ": workloads[0].sdk: is empty");
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
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ": modes: has no value (leave"
        + " the key out for its default, or list at least one entry)");
    Files.writeString(f, "workloads:\n  - kernel: k\n  - kernel: j\n    modes:\n");
    assertThatThrownBy(() -> StudySpec.read(f))
        .hasMessageStartingWith(f + ": workloads[1].modes: has no value");
    Files.writeString(f, "{\"workloads\": [{\"kernel\": \"k\"}], \"engines\": null}");
    Path json = dir.resolve("bare.json");
    Files.move(f, json);
    assertThatThrownBy(() -> StudySpec.read(json))
        .hasMessageStartingWith(json + ": engines: has no value");
    // A key that is not a list keeps meaning "not given" when it has no value.
    Files.writeString(f, "workloads: [{kernel: k}]\nrepetitions:\n");
    assertThat(StudySpec.read(f).modes()).containsExactly("native", "hvm", "hvm-shadow");
  }

  @Test
  void aNumberTooLargeNamesItsKey() throws Exception {
    // The parser refuses it before the mapper knows the key: the message must still say where.
    Path f = dir.resolve("big.yaml");
    Files.writeString(f, "workloads:\n  - kernel: k\nram: [64, 99999999999]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ": ram[1]: 99999999999 is out"
        + " of range (a whole number from -2147483648 to 2147483647) (line 3, column 22)");
    Path json = dir.resolve("big.json");
    Files.writeString(json, "{\"workloads\": [{\"kernel\": \"k\"}],"
        + " \"repetitions\": 123456789012345678901234}");
    assertThatThrownBy(() -> StudySpec.read(json)).hasMessageStartingWith(json
        + ": repetitions: 123456789012345678901234 is out of range");
  }

  @Test
  void everyUnreadableFileIsOneLineNamingIt() throws Exception {
    Path f = dir.resolve("cut.yaml");
    Files.writeString(f, "name: x\nworkloads: [\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ": while parsing a flow node:"
        + " expected the node content, but found '<stream end>' (line 2, column 13)");
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
    assertThatThrownBy(() -> StudySpec.read(md)).hasMessage(md + ": not a study file: expected"
        + " a mapping with " + keys + " (line 3, column 1)");
    Path f = dir.resolve("s.yaml");
    String[][] cases = {
      {"- a\n- b\n", "not a study file: expected a mapping with " + keys
          + " (line 1, column 1)"},
      {"workloads: [hello]\n", "workloads[0]: expected a mapping with name, kernel, cmdline,"
          + " loader, make, sdk, io, disk, modes, got 'hello' (line 1, column 13)"},
      {"workloads: {name: h}\n", "workloads: expected a list, got a mapping (line 1, column 12)"},
      {"workloads: [{kernel: k}]\nmodes: native\n",
          "modes: expected a list, got 'native' (line 2, column 8)"},
      {"workloads: [{kernel: k}]\nram: [abc]\n",
          "ram[0]: expected a whole number, got 'abc' (line 2, column 7)"},
      {"workloads: [{kernel: k}]\nrepetitions: [1]\n",
          "repetitions: expected a whole number, got a list (line 2, column 14)"},
      {"workloads: [{kernel: k, cmdline: [a, b]}]\n",
          "workloads[0].cmdline: expected a single value, got a list (line 1, column 34)"},

      {"  \n", "is empty: a study needs workloads: at least (keys: " + keys + ")"},
    };
    for (String[] c : cases) {
      Files.writeString(f, c[0]);
      assertThatThrownBy(() -> StudySpec.read(f)).as(c[0]).hasMessage(f + ": " + c[1]);
    }
    Files.writeString(f, "workloads: [{name: h, kernel: k, bogus: 1}]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":1: unknown key 'bogus' in"
        + " workloads[0] (known: name, kernel, cmdline, loader, make, sdk, io, disk, modes)");
    Files.writeString(f, "workloads: [{kernel: k, io: {disk: xen, frob: 2}}]\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessage(f + ":1: unknown key 'frob' in"
        + " workloads[0].io (known: disk, net, diskMiB, fetchMiB, modules)");
    Path json = dir.resolve("s.json");
    Files.writeString(json, "\"hello\"");
    assertThatThrownBy(() -> StudySpec.read(json)).hasMessageStartingWith(json
        + ": not a study file: expected a mapping with name, workloads,");
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
