package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.hospes.dom0.bench.QemuRunner;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Re-runs each test kernel under QEMU TCG and checks that QEMU still produces the golden output,
 * so the goldens cannot rot silently when a kernel changes (re-record them with
 * {@code samples/kernels/record-golden.sh}).
 */
class QemuGoldenTest {

  static List<String> kernels() throws Exception {
    return TestKernels.names();
  }

  @BeforeAll
  static void requireQemu() {
    if (!QemuRunner.isAvailable()) {
      fail(QemuRunner.BINARY + " not found: install qemu-system-x86");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kernels")
  void qemuStillMatchesGolden(String name) throws Exception {
    QemuRunner.Result r = QemuRunner.run(TestKernels.elf(name), 120);

    assertThat(r.exitStatus())
        .as("QEMU exit status for %s (stderr: %s)", name, r.stderr().trim())
        .isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(r.firmwareMarkerSeen())
        .as("SeaBIOS marker \"%s\" in QEMU's output", QemuRunner.FIRMWARE_MARKER)
        .isTrue();
    String expected = new String(TestKernels.golden(name), StandardCharsets.ISO_8859_1);
    assertThat(r.serialText())
        .as("%s under QEMU vs golden/%s.out (re-record with samples/kernels/record-golden.sh)",
            name, name)
        .isEqualTo(expected);
  }
}
