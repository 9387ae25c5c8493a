package org.hospes.dom0.toolstack;

import java.util.Locale;
import java.util.regex.Pattern;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.sched.CreditScheduler;

/**
 * dom0's scheduling parameters, as {@code xl sched-credit -d Domain-0 -w W -c C} sets them:
 * weight 1..65535 (default 256) and cap in percent of one CPU, 0 for none (the default), as
 * Xen's defaults. In a host configuration file they are one line:
 * {@code dom0 weight=W,cap=C} (either key may be left out).
 *
 * @param weight credit-scheduler weight of dom0's vCPU
 * @param cap credit-scheduler cap in percent of one CPU, 0 for none
 */
public record Dom0Settings(int weight, int cap) {
  public static final String SYNTAX = "dom0 [weight=W][,cap=C]";
  public static final Dom0Settings DEFAULT = new Dom0Settings(CreditScheduler.DEFAULT_WEIGHT, 0);

  private static final Pattern LINE = Pattern.compile("\\s*dom0(\\s+.*)?");

  public Dom0Settings {
    if (weight < 1 || weight > 65535) {
      throw new DomainSpec.SpecException("dom0: weight must be 1..65535, got " + weight);
    }
    if (cap < 0 || cap > 100) {
      throw new DomainSpec.SpecException("dom0: cap must be 0..100 (percent of a CPU), got "
          + cap);
    }
  }

  public Dom0Settings withWeight(int w) {
    return new Dom0Settings(w, cap);
  }

  public Dom0Settings withCap(int c) {
    return new Dom0Settings(weight, c);
  }

  /** True for a configuration line that sets dom0's parameters (not a domain spec). */
  public static boolean isDom0Line(String line) {
    return LINE.matcher(line).matches();
  }

  /**
   * Parses a {@code dom0 weight=W,cap=C} line, starting from {@code base}.
   *
   * @throws DomainSpec.SpecException with a one-line message saying what is wrong
   */
  public static Dom0Settings parse(String line, Dom0Settings base) {
    String rest = line.strip().substring("dom0".length()).strip();
    Dom0Settings s = base;
    if (rest.isEmpty()) {
      return s;
    }
    for (String kv : rest.split(",")) {
      String[] p = kv.split("=", 2);
      String key = p[0].strip().toLowerCase(Locale.ROOT);
      if (p.length != 2) {
        throw new DomainSpec.SpecException("dom0: '" + kv.strip() + "' is not KEY=VALUE (expected "
            + SYNTAX + ")");
      }
      int value;
      try {
        value = Integer.parseInt(p[1].strip());
      } catch (NumberFormatException e) {
        throw new DomainSpec.SpecException("dom0: " + key + " must be a number, got '"
            + p[1].strip() + "'");
      }
      s = switch (key) {
        case "weight" -> s.withWeight(value);
        case "cap" -> s.withCap(value);
        default -> throw new DomainSpec.SpecException("dom0: unknown key '" + key
            + "' (expected weight, cap)");
      };
    }
    return s;
  }

  /**
   * These settings with the command line's {@code --dom0-weight} and {@code --dom0-cap} (null:
   * not given) applied over them.
   *
   * @throws DomainSpec.SpecException naming the option whose value is out of range
   */
  public Dom0Settings withOptions(Long optWeight, Long optCap) {
    if (optWeight != null && (optWeight < 1 || optWeight > 65535)) {
      throw new DomainSpec.SpecException("--dom0-weight must be 1..65535, got " + optWeight);
    }
    if (optCap != null && (optCap < 0 || optCap > 100)) {
      throw new DomainSpec.SpecException("--dom0-cap must be 0..100 (percent of a CPU), got "
          + optCap);
    }
    return new Dom0Settings(optWeight == null ? weight : (int) (long) optWeight,
        optCap == null ? cap : (int) (long) optCap);
  }

  /**
   * Gives dom0 these parameters on {@code hv} (the scheduler is told).
   *
   * @throws DomainSpec.SpecException if the scheduler has no weights or caps and these would
   *     change them (rr): the one-line reason, naming dom0
   */
  public void applyTo(Hypervisor hv) {
    try {
      hv.setSchedulerParameters(hv.control().domain(), weight, cap);
    } catch (IllegalArgumentException e) {
      throw new DomainSpec.SpecException("dom0: " + e.getMessage());
    }
  }
}
