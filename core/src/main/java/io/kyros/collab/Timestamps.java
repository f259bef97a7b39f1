package io.kyros.collab;

import java.time.Instant;
import java.time.LocalDate;
import java.time.Month;
import java.time.Year;

/**
 * Reads the instants of stored values (task, lease, agent and batch records), which Collab writes with
 * {@link Instant#toString()}: {@code uuuu-MM-ddTHH:mm:ss[.fraction]Z}, a four-digit year, 0 to 9 fraction digits.
 * That form is parsed directly; any other text goes to {@link Instant#parse}, so the result and the exception for
 * a malformed text are exactly {@code Instant.parse}'s. {@code Instant.parse} builds a field map and a
 * {@code BigDecimal} for every call: it was a fifth (20.8 %) of the memory {@code ClaimScaleBenchmark}'s claim +
 * complete + create allocated in memory (an allocation profile), since every claim reads times from the records it
 * decides on.
 *
 * <p>Stateless and thread-safe.
 */
final class Timestamps {
  /** The length of {@code uuuu-MM-ddTHH:mm:ssZ}. */
  private static final int SHORTEST = 20;

  private Timestamps() {}

  /**
   * @param text an instant as {@link Instant#toString()} writes it (other ISO-8601 instants are accepted too)
   * @return the instant
   * @throws java.time.format.DateTimeParseException if the text is not an instant {@link Instant#parse} accepts
   * @throws NullPointerException if text is null
   */
  static Instant parse(CharSequence text) {
    int n = text.length();
    if (n < SHORTEST || n > SHORTEST + 10 || text.charAt(n - 1) != 'Z' || text.charAt(4) != '-'
        || text.charAt(7) != '-' || text.charAt(10) != 'T' || text.charAt(13) != ':' || text.charAt(16) != ':') {
      return Instant.parse(text);
    }
    int year = digits(text, 0, 4);
    int month = digits(text, 5, 2);
    int day = digits(text, 8, 2);
    int hour = digits(text, 11, 2);
    int minute = digits(text, 14, 2);
    int second = digits(text, 17, 2);
    int nanos = 0;
    if (n > SHORTEST) {
      int fraction = n - SHORTEST - 1; // between the '.' and the 'Z'
      if (text.charAt(19) != '.' || fraction == 0) {
        return Instant.parse(text);
      }
      int f = digits(text, 20, fraction);
      if (f < 0) {
        return Instant.parse(text);
      }
      nanos = f;
      for (int i = fraction; i < 9; i++) {
        nanos *= 10;
      }
    }
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0
        || minute > 59 || second < 0 || second > 59 || day > Month.of(month).length(Year.isLeap(year))) {
      return Instant.parse(text); // the exact exception, or its reading of a leap second
    }
    long epochDay = LocalDate.of(year, month, day).toEpochDay();
    return Instant.ofEpochSecond(epochDay * 86_400L + hour * 3_600L + minute * 60L + second, nanos);
  }

  /** @return the decimal value of {@code count} ASCII digits from {@code from}, or -1 if one is not a digit */
  private static int digits(CharSequence text, int from, int count) {
    int value = 0;
    for (int i = from; i < from + count; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }
}
