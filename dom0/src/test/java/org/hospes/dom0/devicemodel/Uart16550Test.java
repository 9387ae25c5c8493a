package org.hospes.dom0.devicemodel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.dom0.devicemodel.Uart16550.*;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verifyNoInteractions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

class Uart16550Test {

  private final ByteArrayOutputStream host = new ByteArrayOutputStream();
  private final Uart16550 uart = new Uart16550(host);

  private int in(int offset) {
    return uart.in(COM1_BASE + offset, 1);
  }

  private void out(int offset, int value) {
    uart.out(COM1_BASE + offset, 1, value);
  }

  private String hostText() {
    uart.flush();
    return host.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void bytesWrittenToThrReachTheHost() {
    for (byte b : "OK\n".getBytes(StandardCharsets.US_ASCII)) {
      out(THR, b);
    }
    assertThat(host.toString(StandardCharsets.US_ASCII)).isEqualTo("OK\n");
    assertThat(uart.transmitted()).isEqualTo(3);
  }

  @Test
  void outputIsHeldUntilNewlineOrFlush() {
    out(THR, 'a');
    assertThat(host.size()).isZero();
    uart.flush();
    assertThat(host.toString(StandardCharsets.US_ASCII)).isEqualTo("a");
  }

  @Test
  void lineStatusAlwaysShowsAnEmptyTransmitterSoPollingDriversProceed() {
    assertThat(in(LSR)).isEqualTo(LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY);
    out(THR, 'x');
    assertThat(in(LSR) & (LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY))
        .isEqualTo(LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY);
  }

  @Test
  void queuedInputSetsDataReadyAndIsReadInOrder() {
    uart.queueInput(new byte[] {'h', 'i'});
    assertThat(in(LSR) & LSR_DATA_READY).isEqualTo(LSR_DATA_READY);
    assertThat(in(RBR)).isEqualTo('h');
    assertThat(in(LSR) & LSR_DATA_READY).isEqualTo(LSR_DATA_READY);
    assertThat(in(RBR)).isEqualTo('i');
    assertThat(in(LSR) & LSR_DATA_READY).isZero();
    assertThat(uart.pendingInput()).isZero();
  }

  @Test
  void hostInputLargerThanTheFifoIsNeverLost() {
    out(FCR, FCR_ENABLE_FIFO);
    byte[] text = "a line much longer than sixteen bytes".getBytes(StandardCharsets.US_ASCII);
    uart.queueInput(text);
    StringBuilder read = new StringBuilder();
    while ((in(LSR) & LSR_DATA_READY) != 0) {
      read.append((char) in(RBR));
    }
    assertThat(read).hasToString("a line much longer than sixteen bytes");
    assertThat(in(LSR) & LSR_OVERRUN).isZero();
  }

  @Test
  void dlabSwitchesOffsetsZeroAndOneToTheDivisorLatch() {
    out(IER, IER_RX_DATA);
    out(LCR, LCR_DLAB | 0x03);
    out(DLL, 0x01);
    out(DLM, 0x00);
    assertThat(in(DLL)).isEqualTo(0x01);
    assertThat(in(DLM)).isZero();
    out(LCR, 0x03);
    assertThat(in(IER)).isEqualTo(IER_RX_DATA);
    assertThat(host.size()).as("divisor writes are not transmitted").isZero();
    assertThat(in(LCR)).isEqualTo(0x03);
  }

  @Test
  void scratchRegisterHoldsAByte() {
    out(SCR, 0xA5);
    assertThat(in(SCR)).isEqualTo(0xA5);
  }

  @Test
  void ierKeepsOnlyItsFourDefinedBits() {
    out(IER, 0xFF);
    assertThat(in(IER)).isEqualTo(0x0F);
  }

  @Test
  void iirReportsNoInterruptAndFifoStateInTheTopBits() {
    assertThat(in(IIR)).isEqualTo(IIR_NO_INTERRUPT);
    out(FCR, FCR_ENABLE_FIFO);
    assertThat(in(IIR)).isEqualTo(IIR_FIFO_ENABLED | IIR_NO_INTERRUPT);
  }

  @Test
  void thrEmptyInterruptIsRaisedWhenEnabledAndAcknowledgedByReadingIir() {
    out(IER, IER_THR_EMPTY);
    assertThat(in(IIR)).isEqualTo(IIR_THR_EMPTY);
    assertThat(in(IIR)).isEqualTo(IIR_NO_INTERRUPT);
    out(THR, 'x');
    assertThat(in(IIR)).isEqualTo(IIR_THR_EMPTY);
  }

  @Test
  void receivedDataOutranksThrEmpty() {
    out(IER, IER_THR_EMPTY | IER_RX_DATA);
    uart.queueInput(new byte[] {'k'});
    assertThat(in(IIR)).isEqualTo(IIR_RX_DATA);
    in(RBR);
    assertThat(in(IIR)).isEqualTo(IIR_THR_EMPTY);
  }

  @Test
  void dataBelowTheFifoTriggerLevelIsReportedAsTimeout() {
    out(FCR, FCR_ENABLE_FIFO | 0xC0); // trigger at 14 bytes
    out(IER, IER_RX_DATA);
    uart.queueInput(new byte[] {'1'});
    assertThat(in(IIR)).isEqualTo(IIR_FIFO_ENABLED | IIR_RX_TIMEOUT);
    uart.queueInput(new byte[14]);
    assertThat(in(IIR)).isEqualTo(IIR_FIFO_ENABLED | IIR_RX_DATA);
  }

  @Test
  void loopbackReflectsModemControlInModemStatus() {
    out(MCR, MCR_LOOPBACK | MCR_RTS | MCR_OUT2);
    int msr = in(MSR);
    assertThat(msr & 0xF0).isEqualTo(MSR_CTS | MSR_DCD);
    out(MCR, MCR_LOOPBACK | MCR_DTR | MCR_OUT1);
    assertThat(in(MSR) & 0xF0).isEqualTo(MSR_DSR | MSR_RI);
    out(MCR, 0);
    assertThat(in(MSR) & 0xF0).isEqualTo(MSR_CTS | MSR_DSR | MSR_DCD);
  }

  @Test
  void modemStatusDeltasLatchUntilMsrIsRead() {
    out(MCR, MCR_LOOPBACK); // all lines drop
    assertThat(in(MSR)).isEqualTo(MSR_DELTA_CTS | MSR_DELTA_DSR | MSR_DELTA_DCD);
    assertThat(in(MSR)).isZero();
    out(MCR, MCR_LOOPBACK | MCR_OUT1);
    out(MCR, MCR_LOOPBACK);
    assertThat(in(MSR)).isEqualTo(MSR_TRAILING_EDGE_RI);
  }

  @Test
  void modemStatusInterruptNeedsItsEnableBit() {
    out(MCR, MCR_LOOPBACK);
    assertThat(in(IIR)).isEqualTo(IIR_NO_INTERRUPT);
    out(IER, IER_MODEM_STATUS);
    assertThat(in(IIR)).isEqualTo(IIR_MODEM_STATUS);
    in(MSR);
    assertThat(in(IIR)).isEqualTo(IIR_NO_INTERRUPT);
  }

  @Test
  void loopbackSendsTransmittedBytesToTheReceiverNotTheHost() {
    out(MCR, MCR_LOOPBACK);
    out(THR, 0x5A);
    assertThat(in(LSR) & LSR_DATA_READY).isEqualTo(LSR_DATA_READY);
    assertThat(in(RBR)).isEqualTo(0x5A);
    assertThat(hostText()).isEmpty();
    assertThat(uart.transmitted()).isZero();
  }

  @Test
  void loopbackOverrunIsReportedOnceThroughLsrAndItsInterrupt() {
    out(MCR, MCR_LOOPBACK);
    out(IER, IER_LINE_STATUS);
    out(THR, 1);
    out(THR, 2); // the 1-byte holding register is full: overrun
    assertThat(in(IIR)).isEqualTo(IIR_LINE_STATUS);
    assertThat(in(LSR) & LSR_OVERRUN).isEqualTo(LSR_OVERRUN);
    assertThat(in(LSR) & LSR_OVERRUN).isZero();
    assertThat(in(IIR)).isEqualTo(IIR_NO_INTERRUPT);
    assertThat(in(RBR)).isEqualTo(1);
  }

  @Test
  void fifoControlClearsTheReceiveFifo() {
    out(FCR, FCR_ENABLE_FIFO);
    out(MCR, MCR_LOOPBACK);
    out(THR, 'a');
    out(THR, 'b');
    out(FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RX);
    assertThat(in(LSR) & LSR_DATA_READY).isZero();
  }

  @Test
  void interruptLineIsGatedByOut2AndSignalledOnlyOnChange() {
    IrqLine line = mock(IrqLine.class);
    Uart16550 u = new Uart16550(OutputStream.nullOutputStream(), line);
    u.out(COM1_BASE + IER, 1, IER_THR_EMPTY);
    verifyNoInteractions(line);
    u.out(COM1_BASE + MCR, 1, MCR_OUT2);
    u.out(COM1_BASE + SCR, 1, 0); // no change in level: no second call
    u.in(COM1_BASE + IIR, 1); // acknowledges THRE
    InOrder order = inOrder(line);
    order.verify(line).set(true);
    order.verify(line).set(false);
    order.verifyNoMoreInteractions();
  }

  @Test
  void wordAccessesSplitIntoConsecutiveRegisters() {
    uart.out(COM1_BASE + LCR, 2, (MCR_DTR << 8) | 0x03);
    assertThat(in(LCR)).isEqualTo(0x03);
    assertThat(in(MCR)).isEqualTo(MCR_DTR);
    assertThat(uart.in(COM1_BASE + LCR, 2)).isEqualTo((MCR_DTR << 8) | 0x03);
    assertThat(uart.in(COM1_BASE + SCR, 2) >>> 8).as("beyond the device").isEqualTo(0xFF);
  }

  @Test
  void registersAreDecodedFromTheLowPortBitsSoAnyComBaseWorks() {
    uart.out(COM2_BASE + SCR, 1, 0x42);
    assertThat(uart.in(COM2_BASE + SCR, 1)).isEqualTo(0x42);
  }

  @Test
  void aFailingHostStreamDropsOutputInsteadOfCrashing() {
    OutputStream broken = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("broken pipe");
      }
    };
    Uart16550 u = new Uart16550(broken);
    u.out(COM1_BASE + THR, 1, '\n');
    u.out(COM1_BASE + THR, 1, 'x');
    u.flush();
    assertThat(u.transmitted()).isEqualTo(2);
  }

  @Test
  void resetRestoresDatasheetDefaults() {
    out(IER, 0x0F);
    out(LCR, 0x83);
    out(MCR, MCR_LOOPBACK | MCR_DTR);
    out(SCR, 7);
    uart.reset();
    assertThat(in(IER)).isZero();
    assertThat(in(LCR)).isZero();
    assertThat(in(MCR)).isZero();
    assertThat(in(IIR)).isEqualTo(IIR_NO_INTERRUPT);
    assertThat(in(LSR)).isEqualTo(LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY);
    assertThat(in(SCR)).isEqualTo(7);
  }
}
