package io.kyros.collab.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The system load average as Linux reports it in {@code /proc/loadavg}: runnable (and uninterruptible) tasks averaged
 * over 1, 5 and 15 minutes. Above the number of cores, other work competed with the benchmark.
 *
 * <p>Immutable and thread-safe.
 *
 * @param one the 1-minute average
 * @param five the 5-minute average
 * @param fifteen the 15-minute average
 */
record LoadAverage(double one, double five, double fifteen) {

  /** Where Linux publishes it. */
  static final Path PROC_LOADAVG = Path.of("/proc/loadavg");

  /**
   * Reads a {@code /proc/loadavg} file.
   *
   * @param file the file, normally {@link #PROC_LOADAVG}
   * @return the averages, empty where the file is missing or unreadable (not Linux)
   */
  static Optional<LoadAverage> read(Path file) {
    try {
      return parse(Files.readString(file, StandardCharsets.US_ASCII));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * @param text the content of {@code /proc/loadavg}, such as {@code 0.52 0.58 0.59 1/467 12345}
   * @return the three averages, empty if the text does not start with three numbers
   */
  static Optional<LoadAverage> parse(String text) {
    String[] fields = text.trim().split("\\s+");
    if (fields.length < 3) {
      return Optional.empty();
    }
    try {
      return Optional.of(new LoadAverage(
          Double.parseDouble(fields[0]), Double.parseDouble(fields[1]), Double.parseDouble(fields[2])));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * @return the three averages as {@code 1.52 / 1.10 / 0.80}
   */
  String text() {
    return String.format(Locale.ROOT, "%.2f / %.2f / %.2f", one, five, fifteen);
  }
}
