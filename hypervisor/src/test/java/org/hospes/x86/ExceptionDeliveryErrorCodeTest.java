package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The EXT bit (bit 0) of the error code of a fault met while delivering an event: set when the
 * event is external to the program (an exception here, #UD from UD2), clear for INT n (SDM vol.
 * 3A, 6.13). QEMU's TCG never sets it for exceptions, so sysfuzz's idt step cannot check it and
 * leaves it out; these cases do. Vector 6 (#UD) and vector 0x86 (INT 0x86) get the gate under
 * test; the fault that its delivery meets is delivered to a HLT of its own (#NP at 0x3100, #GP
 * at 0x3200), and the error code is read from the handler's stack.
 */
class ExceptionDeliveryErrorCodeTest {
  private final SystemFixture m = new SystemFixture();

  private void gateRaw(int vector, int selector, int typeAttr) {
    m.mem.write32(SystemFixture.IDT + 8L * vector,
        (selector << 16) | (SystemFixture.HANDLER & 0xFFFF));
    m.mem.write32(SystemFixture.IDT + 8L * vector + 4,
        (SystemFixture.HANDLER & 0xFFFF_0000) | (typeAttr << 8));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      // event, code, vector, gate selector, gate type/attributes, fault, error code
      "UD2 through a gate not present,     0f0b,   6,    0x08, 0x0E, 11, 0x33",
      "UD2 through a call-gate type,       0f0b,   6,    0x08, 0x8C, 13, 0x33",
      "UD2 to a null code selector,        0f0b,   6,    0x00, 0x8E, 13, 0x01",
      "UD2 to a data segment,              0f0b,   6,    0x10, 0x8E, 13, 0x11",
      "UD2 to a selector past the GDT,     0f0b,   6,    0x80, 0x8E, 13, 0x81",
      "INT 0x86 through a gate not present, cd86,  0x86, 0x08, 0x6E, 11, 0x432",
      "INT 0x86 to a null code selector,   cd86,   0x86, 0x00, 0xEE, 13, 0x00",
      "INT 0x86 to a data segment,         cd86,   0x86, 0x10, 0xEE, 13, 0x10",
  })
  void theErrorCodeSaysWhetherTheEventWasExternal(String event, String code, String vector,
      String selector, String typeAttr, int fault, String error) {
    m.cpu.setExceptionExitMask(0);
    m.gate(Exceptions.NP, NP_HANDLER, 0);
    m.gate(Exceptions.GP, GP_HANDLER, 0);
    m.code(NP_HANDLER, "f4");
    m.code(GP_HANDLER, "f4");
    gateRaw(Integer.decode(vector), Integer.decode(selector), Integer.decode(typeAttr));
    m.code(SystemFixture.RING0, code);
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.eip()).as("the handler that halted")
        .isEqualTo((fault == Exceptions.NP ? NP_HANDLER : GP_HANDLER) + 1);
    assertThat(m.mem.read32(m.cpu.reg(Cpu.ESP))).as("error code")
        .isEqualTo(Integer.decode(error));
  }

  private static final int NP_HANDLER = 0x3100;
  private static final int GP_HANDLER = 0x3200;
}
