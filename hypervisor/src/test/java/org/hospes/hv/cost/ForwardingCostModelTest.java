package org.hospes.hv.cost;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.hospes.x86.vmx.ExitReason;
import org.junit.jupiter.api.Test;

class ForwardingCostModelTest {

  /** A base model whose every answer is distinct, so a forwarding slip shows as a 0 or a swap. */
  private static final class Distinct implements CostModel {
    @Override public String name() { return "distinct"; }
    @Override public long instructions(long n) { return 3 * n + 1; }
    @Override public long pageWalk(int references) { return 7L * references + 2; }
    @Override public long vmExit(ExitReason reason) { return 1_000 + reason.ordinal(); }
    @Override public long exitHandling(ExitReason reason) { return 2_000 + reason.ordinal(); }
    @Override public long ioreq() { return 11; }
    @Override public long shadowFault() { return 12; }
    @Override public long realModeEmulation() { return 13; }
    @Override public long hypercall() { return 14; }
    @Override public long grantMap() { return 15; }
    @Override public long grantCopy(int bytes) { return 16 + bytes; }
    @Override public long exceptionDelivery() { return 17; }
    @Override public long interruptDelivery() { return 18; }
    @Override public long softwareInterrupt() { return 19; }
    @Override public long portAccess() { return 20; }
    @Override public long devicePortAccess(long nanos) { return 21 + nanos; }
    @Override public long mmioAccess() { return 22; }
    @Override public long rdtsc() { return 23; }
    @Override public long pause() { return 24; }
  }

  private static class Plain extends ForwardingCostModel {
    Plain(CostModel base) {
      super(base);
    }

    @Override
    public String name() {
      return "plain";
    }
  }

  private static List<Method> costMethods() {
    List<Method> m = new ArrayList<>();
    for (Method x : CostModel.class.getMethods()) {
      if (!x.getName().equals("name") && !Modifier.isStatic(x.getModifiers())) {
        m.add(x);
      }
    }
    return m;
  }

  private static Object[] sampleArgs(Method m) {
    return Arrays.stream(m.getParameterTypes()).map(t -> {
      if (t == long.class) {
        return (Object) 40L;
      } else if (t == int.class) {
        return (Object) 5;
      } else if (t == ExitReason.class) {
        return (Object) ExitReason.IO_INSTRUCTION;
      }
      throw new AssertionError("no sample argument of " + t + " for " + m);
    }).toArray();
  }

  @Test
  void declaresEveryMethodOfTheInterface() throws Exception {
    // A method CostModel gains later, with a default, would otherwise answer the default for
    // every forwarding model instead of its base's answer.
    for (Method m : costMethods()) {
      Method own = ForwardingCostModel.class.getDeclaredMethod(m.getName(), m.getParameterTypes());
      assertThat(own.getDeclaringClass()).as(m.getName()).isEqualTo(ForwardingCostModel.class);
    }
  }

  @Test
  void answersEveryQuestionWithItsBasesAnswer() throws Exception {
    CostModel base = new Distinct();
    CostModel fwd = new Plain(base);
    for (Method m : costMethods()) {
      Object[] args = sampleArgs(m);
      assertThat(m.invoke(fwd, args)).as(m.getName()).isEqualTo(m.invoke(base, args));
    }
    assertThat(fwd.name()).isEqualTo("plain");
  }

  @Test
  void theProcessorsCostsFollowAnOverride() {
    CostModel slowWalks = new Plain(new Distinct()) {
      @Override
      public long pageWalk(int references) {
        return 99L * references;
      }
    };
    assertThat(slowWalks.cpuCosts().walkReference()).isEqualTo(99);
    assertThat(slowWalks.cpuCosts().rdtsc()).isEqualTo(23);
    assertThat(slowWalks.cpuCosts().pause()).isEqualTo(24);
  }

  @Test
  void prescottDiffersFromTheDefaultInItsExitRoundTripAlone() throws Exception {
    CostModel def = new DefaultCostModel();
    CostModel prescott = new PrescottCostModel();
    for (Method m : costMethods()) {
      Object[] args = sampleArgs(m);
      if (m.getName().equals("vmExit")) {
        assertThat(m.invoke(prescott, args)).isEqualTo(PrescottCostModel.EXIT_ROUND_TRIP);
      } else {
        assertThat(m.invoke(prescott, args)).as(m.getName()).isEqualTo(m.invoke(def, args));
      }
    }
  }
}
