package org.hospes.samples.edu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The edu device's registers, interrupt and DMA, and what a hostile driver gets. */
class EduDeviceTest {
  /** 1 MiB of "guest memory" behind the device's DMA. */
  private final byte[] ram = new byte[1 << 20];
  private final List<Boolean> intx = new ArrayList<>();
  private EduDevice edu;

  @BeforeEach
  void attach() {
    GuestDma dma = new GuestDma() {
      @Override
      public void read(long gpa, byte[] dst, int off, int len) {
        check(gpa, len);
        System.arraycopy(ram, (int) gpa, dst, off, len);
      }

      @Override
      public void write(long gpa, byte[] src, int off, int len) {
        check(gpa, len);
        System.arraycopy(src, off, ram, (int) gpa, len);
      }

      private void check(long gpa, int len) {
        if (gpa < 0 || gpa + len > ram.length) {
          throw new IllegalArgumentException("outside the domain");
        }
      }
    };
    edu = new EduDevice(dma, EduDevice.DEFAULT_DMA_MASK);
    PciHostBridge bus = new PciHostBridge((slot, pin, level) -> intx.add(level));
    bus.attach(3, 0, edu.function());
    edu.function().write(PciFunction.COMMAND, 2,
        PciFunction.COMMAND_MEMORY | PciFunction.COMMAND_MASTER);
  }

  @Test
  void configurationSpaceIsQemusEdu() {
    PciFunction f = edu.function();
    assertThat(f.read(PciFunction.VENDOR_ID, 4)).isEqualTo(0x11E8_1234);
    assertThat(f.read(PciFunction.REVISION_ID, 4)).isEqualTo(0x00FF_0010);
    assertThat(f.read(PciFunction.SUBSYSTEM_VENDOR_ID, 4)).isEqualTo(0x1100_1AF4);
    assertThat(f.read(PciFunction.INTERRUPT_PIN, 1)).isEqualTo(1);
    assertThat(f.barSize(0)).isEqualTo(1 << 20);
    assertThat(f.barIsIo(0)).isFalse();
  }

  @Test
  void identificationLivenessAndUnknownRegisters() {
    assertThat(edu.read(EduDevice.REG_ID, 4)).isEqualTo(0x010000ED);
    edu.write(EduDevice.REG_LIVENESS, 4, 0x12345678);
    assertThat(edu.read(EduDevice.REG_LIVENESS, 4)).isEqualTo(0xEDCBA987);
    edu.write(EduDevice.REG_ID, 4, 5);
    assertThat(edu.read(EduDevice.REG_ID, 4)).isEqualTo(0x010000ED);
    assertThat(edu.read(0x10, 4)).isEqualTo(-1);
    assertThat(edu.read(0x40000, 4)).isEqualTo(-1);
    // Registers below 0x80 take 32-bit accesses only.
    assertThat(edu.read(EduDevice.REG_ID, 1)).isEqualTo(-1);
    edu.write(EduDevice.REG_LIVENESS, 2, 0);
    assertThat(edu.read(EduDevice.REG_LIVENESS, 4)).isEqualTo(0xEDCBA987);
    // The write to the ID register, and the two of the wrong size.
    assertThat(edu.counters().get("bad_accesses")).isEqualTo(3);
  }

  @Test
  void factorialsModuloTwoToThe32AndHostileOnesAreCheap() {
    assertThat(factorial(0)).isEqualTo(1);
    assertThat(factorial(12)).isEqualTo(479001600);
    assertThat(factorial(13)).isEqualTo(1932053504);
    assertThat(factorial(33)).isEqualTo(-2147483648);
    assertThat(factorial(34)).isZero();
    assertThat(factorial(0xFFFF_FFFF)).isZero();
    assertThat(edu.read(EduDevice.REG_STATUS, 4) & EduDevice.STATUS_COMPUTING).isZero();
    assertThat(intx).isEmpty();
  }

  @Test
  void factorialInterruptIsLevelUntilAcknowledged() {
    edu.write(EduDevice.REG_STATUS, 4, EduDevice.STATUS_IRQ_FACT | EduDevice.STATUS_COMPUTING);
    assertThat(edu.read(EduDevice.REG_STATUS, 4)).isEqualTo(EduDevice.STATUS_IRQ_FACT);
    factorial(5);
    assertThat(intx).containsExactly(true);
    assertThat(edu.read(EduDevice.REG_IRQ_STATUS, 4)).isEqualTo(EduDevice.IRQ_FACT);
    edu.write(EduDevice.REG_IRQ_RAISE, 4, 0x10);
    edu.write(EduDevice.REG_IRQ_ACK, 4, EduDevice.IRQ_FACT);
    assertThat(intx).containsExactly(true); // 0x10 still pending: the line stays up
    edu.write(EduDevice.REG_IRQ_ACK, 4, 0x10);
    assertThat(intx).containsExactly(true, false);
    assertThat(edu.read(EduDevice.REG_IRQ_STATUS, 4)).isZero();
  }

  @Test
  void dmaBothWaysThroughTheBufferWithItsInterrupt() {
    for (int i = 0; i < 4096; i++) {
      ram[0x1000 + i] = (byte) (i * 7 + 3);
    }
    dma(0x1000, EduDevice.DMA_BUFFER, 4096, 0);
    dma(EduDevice.DMA_BUFFER + 256, 0x8000, 1024, EduDevice.DMA_TO_RAM | EduDevice.DMA_IRQ);
    for (int i = 0; i < 1024; i++) {
      assertThat(ram[0x8000 + i]).isEqualTo(ram[0x1000 + 256 + i]);
    }
    assertThat(ram[0x8000 + 1024]).isZero();
    assertThat(edu.read(EduDevice.REG_IRQ_STATUS, 4)).isEqualTo(EduDevice.IRQ_DMA);
    assertThat(intx).containsExactly(true);
    assertThat(edu.read(EduDevice.REG_DMA_CMD, 4) & EduDevice.DMA_RUN).isZero();
    assertThat(edu.counters()).containsEntry("dma_transfers", 2L)
        .containsEntry("dma_bytes", 5120L).containsEntry("dma_errors", 0L);
  }

  @Test
  void hostileTransfersMoveNothingAndRaiseNothing() {
    ram[0x2000] = 42;
    // Device side past the buffer, a count beyond it, and RAM outside the domain.
    dma(0x2000, EduDevice.DMA_BUFFER + 4000, 200, EduDevice.DMA_IRQ);
    dma(0x2000, EduDevice.DMA_BUFFER, 0xFFFF_FFFFL, EduDevice.DMA_IRQ);
    dma(EduDevice.DMA_BUFFER, 0x3000, 16, EduDevice.DMA_TO_RAM | EduDevice.DMA_IRQ);
    dma(0x0FFF_F000L, EduDevice.DMA_BUFFER, 4096, EduDevice.DMA_IRQ);
    dma(EduDevice.DMA_BUFFER - 1, 0x3000, 1, EduDevice.DMA_TO_RAM);
    assertThat(edu.counters()).containsEntry("dma_errors", 4L)
        .containsEntry("dma_transfers", 1L);
    // Without bus mastering the device cannot reach memory.
    edu.function().write(PciFunction.COMMAND, 2, PciFunction.COMMAND_MEMORY);
    dma(0x2000, EduDevice.DMA_BUFFER, 1, EduDevice.DMA_IRQ);
    assertThat(edu.counters()).containsEntry("dma_errors", 5L);
    assertThat(intx).containsExactly(true); // only the one good transfer's interrupt
    // The RAM side is masked to 28 bits, as QEMU's default dma_mask does.
    edu.function().write(PciFunction.COMMAND, 2,
        PciFunction.COMMAND_MEMORY | PciFunction.COMMAND_MASTER);
    dma(0x1000_2000L, EduDevice.DMA_BUFFER + 8, 1, 0);
    dma(EduDevice.DMA_BUFFER + 8, 0x3001, 1, EduDevice.DMA_TO_RAM);
    assertThat(ram[0x3001]).isEqualTo((byte) 42);
  }

  private int factorial(int n) {
    edu.write(EduDevice.REG_FACTORIAL, 4, n);
    return edu.read(EduDevice.REG_FACTORIAL, 4);
  }

  private void dma(long src, long dst, long count, int cmd) {
    edu.write(EduDevice.REG_DMA_SRC, 4, (int) src);
    edu.write(EduDevice.REG_DMA_DST, 4, (int) dst);
    edu.write(EduDevice.REG_DMA_COUNT, 4, (int) count);
    edu.write(EduDevice.REG_DMA_CMD, 4, cmd | EduDevice.DMA_RUN);
  }
}
