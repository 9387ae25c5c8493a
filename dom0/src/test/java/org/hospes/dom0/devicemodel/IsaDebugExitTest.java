package org.hospes.dom0.devicemodel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;

import org.junit.jupiter.api.Test;

class IsaDebugExitTest {

  private final IsaDebugExit.Listener listener = mock(IsaDebugExit.Listener.class);
  private final IsaDebugExit device = new IsaDebugExit(listener);

  @Test
  void aByteWriteRequestsExitWithQemuStatus() {
    device.out(IsaDebugExit.DEFAULT_PORT, 1, 0x10);
    verify(listener).exitRequested(0x10, 0x21);
  }

  @Test
  void onlyTheWrittenWidthCounts() {
    device.out(IsaDebugExit.DEFAULT_PORT, 1, 0xFFFF_FF01);
    verify(listener).exitRequested(0x01, 0x03);
    device.out(IsaDebugExit.DEFAULT_PORT, 2, 0xABCD_1234);
    verify(listener).exitRequested(0x1234, 0x2469);
  }

  @Test
  void aDwordWriteUsesAll32BitsAsQemuDoes() {
    device.out(IsaDebugExit.DEFAULT_PORT, 4, 0x8000_0001);
    verify(listener).exitRequested(0x8000_0001, 0x0000_0003);
  }

  @Test
  void zeroGivesStatusOne() {
    assertThat(IsaDebugExit.exitStatusFor(0)).isEqualTo(1);
  }

  @Test
  void readsAreZero() {
    assertThat(device.in(IsaDebugExit.DEFAULT_PORT, 4)).isZero();
  }
}
