package org.hospes.dom0.toolstack;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.hv.Hypervisor;

/**
 * Settings of the host itself in a host configuration file: one line
 * {@code host pcpus=N}, the number of physical CPUs (1..64) the scheduler places vCPUs on, as
 * {@code --pcpus N} gives it (the option wins over the file).
 *
 * @param pcpus physical CPUs, 1..{@value Hypervisor#MAX_PCPUS}
 */
public record HostSettings(int pcpus) {
  public static final String SYNTAX = "host pcpus=N";
  public static final HostSettings DEFAULT = new HostSettings(1);

  /**
   * "host" and a setting ("host bogus=1" too, to be refused as a setting, not read as a domain
   * named "host bogus"); "host=K" and "host = K" are a domain named host.
   */
  private static final Pattern LINE = Pattern.compile("\\s*host(\\s+[^=\\s].*)?");
  private static final Pattern PCPUS = Pattern.compile("pcpus\\s*=\\s*(\\S+)");
  private static final Pattern KEY = Pattern.compile("([A-Za-z_][\\w-]*)\\s*=.*");

  public HostSettings {
    if (pcpus < 1 || pcpus > Hypervisor.MAX_PCPUS) {
      throw new DomainSpec.SpecException("host: pcpus must be 1.." + Hypervisor.MAX_PCPUS
          + ", got " + pcpus);
    }
  }

  /** True for a configuration line that sets the host's settings (not a domain spec). */
  public static boolean isHostLine(String line) {
    return LINE.matcher(line).matches();
  }

  /**
   * Parses a {@code host pcpus=N} line.
   *
   * @throws DomainSpec.SpecException with a one-line message saying what is wrong
   */
  public static HostSettings parse(String line) {
    String rest = line.strip().substring("host".length()).strip();
    Matcher m = PCPUS.matcher(rest);
    Matcher key = KEY.matcher(rest);
    if (!m.matches() && key.matches() && !key.group(1).equalsIgnoreCase("pcpus")) {
      throw new DomainSpec.SpecException("host: unknown setting '" + key.group(1)
          + "' (valid: pcpus; expected " + SYNTAX + ")");
    }
    if (!m.matches()) {
      throw new DomainSpec.SpecException("host: expected " + SYNTAX + ", got '" + rest + "'");
    }
    try {
      return new HostSettings(Integer.parseInt(m.group(1)));
    } catch (NumberFormatException e) {
      throw new DomainSpec.SpecException("host: pcpus must be a number, got '" + m.group(1)
          + "'");
    }
  }
}
