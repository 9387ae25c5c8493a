package org.hospes.dom0.bench;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The translator's overhead in one run, as the {@code jit:} line of {@code hospes run --stats}
 * gives it ({@code EngineOption.statsLine}): what the bench reports per row.
 *
 * @param blocks blocks translated (evicted ones included)
 * @param instructions guest instructions those translations cover
 * @param translateMillis host time spent translating and loading the classes
 * @param cachedTranslations translations in the code cache at the end
 * @param cacheBytes class-file bytes of those translations
 * @param evictions translations dropped because the cache was full
 */
public record JitFigures(long blocks, long instructions, double translateMillis,
    long cachedTranslations, long cacheBytes, long evictions) {

  private static final Pattern LINE = Pattern.compile(
      "([\\d,]+) blocks translated \\(([\\d,]+) instructions\\), ([\\d.]+) ms translating,"
          + " code cache ([\\d,]+) translations \\(([\\d,]+) bytes\\), ([\\d,]+) evicted");

  /** The figures in a {@code jit:} line (with or without its "hospes: jit: " prefix). */
  public static Optional<JitFigures> parse(String line) {
    if (line == null) {
      return Optional.empty();
    }
    Matcher m = LINE.matcher(line);
    if (!m.find()) {
      return Optional.empty();
    }
    return Optional.of(new JitFigures(count(m.group(1)), count(m.group(2)),
        Double.parseDouble(m.group(3)), count(m.group(4)), count(m.group(5)),
        count(m.group(6))));
  }

  private static long count(String digits) {
    return Long.parseLong(digits.replace(",", ""));
  }

  /** "1,234 blocks translated in 56.7 ms (2.1% of the run), code cache 1,000 (2.3 MB)". */
  public String summary(double runSeconds) {
    String share = runSeconds > 0
        ? String.format(Locale.ROOT, " (%.1f%% of the run)", translateMillis / 10 / runSeconds)
        : "";
    return String.format(Locale.ROOT, "%,d blocks (%,d instructions) translated in %.1f ms%s,"
        + " code cache %,d translations (%,d bytes), %,d evicted", blocks, instructions,
        translateMillis, share, cachedTranslations, cacheBytes, evictions);
  }
}
