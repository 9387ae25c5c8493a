/**
 * Differential tests of the emulated processor's user-level instruction set.
 *
 * <p>Generated cases (fixed seed, one random stream per case) run on a reference and on
 * {@link org.hospes.x86.Cpu} from the same state; the 8 GPRs, EIP, the scratch memory window and
 * the EFLAGS bits the instruction defines ({@link org.hospes.x86.diff.DefinedFlags}) are compared.
 *
 * <ul>
 *   <li>{@code HostCpuDiffTest}: the host CPU in 64-bit mode, for every form whose semantics are
 *       the same there ({@code HostForms}); memory operands carry 0x67 on the host only.
 *   <li>{@code QemuDiffTest}: {@code qemu-i386} running a static 32-bit harness, for the forms 64-bit
 *       mode lacks and for generated sequences ({@code QemuForms}).
 *   <li>{@code SegmentDiffTest}: the same harness at CPL 3 with its segment registers, LDT and
 *       low code page, for segment loads and 16-bit-operand transfers ({@code SegmentForms}); the
 *       emulator runs those cases paged at CPL 3 under the same GDT and LDT
 *       ({@code DiffCase.userMode}), and selectors, error codes and CR2 are compared as well.
 * </ul>
 *
 * <p>Both references are one C file, {@code src/test/native/diffharness.c}, compiled by the host
 * gcc into {@code target/diff-native/} when the tests start. A run ends with all mismatches
 * grouped by form (also written to {@code target/diff-reports/}).
 *
 * <pre>
 *   mvn -pl hypervisor test -Dtest='HostCpuDiffTest,QemuDiffTest'
 *   mvn -pl hypervisor test -Dtest=HostCpuDiffTest -Dhospes.diff.host=3000000 -Dhospes.diff.seed=0xbeef
 *   mvn -q -pl hypervisor test -Dtest=HostCpuDiffTest -Dhospes.diff.seed=0x5eed2026 -Dhospes.diff.case=475
 *   -Dhospes.diff.dump=/tmp/in.bin   keeps the harness input to replay by hand
 *   DIFFHARNESS_TRACE=1              makes the harness print each case number on stderr
 * </pre>
 *
 * <p>While {@code Cpu} is still the API stub, the suites run the reference alone (checking that
 * no generated case faults there) and are then skipped.
 */
package org.hospes.x86.diff;
