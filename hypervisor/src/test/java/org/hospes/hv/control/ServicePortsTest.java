package org.hospes.hv.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** 2-level event semantics for a service domain's ports: pending, masked, handed on once. */
class ServicePortsTest {
  private final List<Integer> queued = new ArrayList<>();
  private final ServicePorts ports = new ServicePorts(queued::add);

  @Test
  void aPendingPortIsHandedOnOnceUntilTaken() {
    ports.setPending(0, 3);
    ports.setPending(0, 3);
    assertThat(queued).containsExactly(3);
    assertThat(ports.delivered()).isEqualTo(1);
    assertThat(ports.upcallPending(0)).isTrue();
    assertThat(ports.take(3)).isTrue();
    assertThat(ports.isPending(3)).isFalse();
    assertThat(ports.upcallPending(0)).isFalse();
    ports.setPending(0, 3);
    assertThat(queued).containsExactly(3, 3);
  }

  @Test
  void aMaskedPortStaysPendingAndIsHandedOnWhenUnmasked() {
    ports.mask(5);
    ports.setPending(0, 5);
    assertThat(queued).isEmpty();
    assertThat(ports.isPending(5)).isTrue();
    ports.unmask(0, 5);
    assertThat(queued).containsExactly(5);
    // Masked again before the work ran: nothing to handle, the event stays pending.
    ports.mask(5);
    assertThat(ports.take(5)).isFalse();
    assertThat(ports.isPending(5)).isTrue();
    ports.unmask(0, 5);
    assertThat(queued).containsExactly(5, 5);
    assertThat(ports.take(5)).isTrue();
  }

  @Test
  void aPortClearedBeforeItsWorkRunsHasNothingToHandle() {
    ports.setPending(0, 7);
    ports.clearPending(7);
    assertThat(ports.take(7)).isFalse();
    assertThat(ports.vcpuInfo(0)).isEqualTo(-1);
  }
}
