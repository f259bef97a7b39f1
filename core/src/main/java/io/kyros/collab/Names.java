package io.kyros.collab;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/** Argument checks shared by the API. Stateless, thread-safe. */
final class Names {
  static final String NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}";
  private static final Pattern NAME = Pattern.compile(NAME_PATTERN);
  private static final Pattern EVENT_TYPE = Pattern.compile("[a-z][a-z0-9_.-]{0,63}");
  static final int MAX_LABEL_LENGTH = 300;

  private Names() {}

  /**
   * @return the value if it is a valid collection, id or resource name
   * @throws NullPointerException naming {@code what} if null
   * @throws IllegalArgumentException naming {@code what} and the pattern otherwise
   */
  static String requireName(String what, String value) {
    Objects.requireNonNull(value, what);
    if (!NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(what + " must match " + NAME_PATTERN + ": \"" + printable(value) + "\"");
    }
    return value;
  }

  static String requireEventType(String value) {
    Objects.requireNonNull(value, "type");
    if (!EVENT_TYPE.matcher(value).matches()) {
      throw new IllegalArgumentException("event type must match " + EVENT_TYPE.pattern() + ": \""
          + printable(value) + "\"");
    }
    return value;
  }

  /** A free-form label (actor, target, holder): 1..300 chars, no control characters. */
  static String requireLabel(String what, String value) {
    Objects.requireNonNull(value, what);
    if (value.isEmpty() || value.length() > MAX_LABEL_LENGTH) {
      throw new IllegalArgumentException(what + " must have 1 to " + MAX_LABEL_LENGTH + " characters, got "
          + value.length());
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isISOControl(c)) {
        throw new IllegalArgumentException(what + " must not contain control characters: \"" + printable(value) + "\"");
      }
      if (CanonicalJson.isLoneSurrogate(value, i)) {
        throw new IllegalArgumentException(what + " must not contain a lone surrogate at index " + i);
      }
    }
    return value;
  }

  /**
   * @param what what the text is, for a message
   * @param value the text, not null
   * @return the text if it holds whole characters only (stored JSON text cannot hold half of one)
   * @throws IllegalArgumentException naming {@code what} and the index of its first lone surrogate
   */
  static String requireWholeCharacters(String what, String value) {
    for (int i = 0; i < value.length(); i++) {
      if (CanonicalJson.isLoneSurrogate(value, i)) {
        throw new IllegalArgumentException(what + " must not contain a lone surrogate at index " + i);
      }
    }
    return value;
  }

  /**
   * @param what what the map is, for a message
   * @param map free-form fields (a JSON object's), such as an agent's metadata
   * @return an unmodifiable copy
   * @throws NullPointerException naming {@code what} if the map, one of its keys or one of its values is null
   */
  static Map<String, Object> copyFields(String what, Map<String, ?> map) {
    Objects.requireNonNull(map, what);
    map.forEach((key, value) -> {
      if (key == null) {
        throw new NullPointerException(what + " has a null key");
      }
      if (value == null) {
        throw new NullPointerException(what + " has a null value for key " + key);
      }
    });
    return Map.copyOf(map);
  }

  /** A duration in nanoseconds, saturated at {@link Long#MAX_VALUE} instead of overflowing. */
  static long nanos(java.time.Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  /** {@code System.nanoTime() + nanos}, saturated so that deadlines far in the future do not wrap. */
  static long deadline(java.time.Duration d) {
    long now = System.nanoTime();
    long n = nanos(d);
    return n > Long.MAX_VALUE / 2 ? now + Long.MAX_VALUE / 2 : now + n;
  }

  static java.time.Duration requirePositive(String what, java.time.Duration d) {
    Objects.requireNonNull(d, what);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " must be positive: " + d);
    }
    return d;
  }

  /** The longest duration accepted for ttls, backoffs and timeouts: 100 years. */
  static final java.time.Duration MAX_DURATION = java.time.Duration.ofDays(36_500);

  /** A positive duration of at most {@link #MAX_DURATION}, so that instants computed from it cannot overflow. */
  static java.time.Duration requireBounded(String what, java.time.Duration d) {
    requirePositive(what, d);
    if (d.compareTo(MAX_DURATION) > 0) {
      throw new IllegalArgumentException(what + " must be at most 36500 days: " + d);
    }
    return d;
  }

  static java.time.Duration requireNotNegative(String what, java.time.Duration d) {
    Objects.requireNonNull(d, what);
    if (d.isNegative()) {
      throw new IllegalArgumentException(what + " must not be negative: " + d);
    }
    return d;
  }

  static int requirePositive(String what, int n) {
    if (n <= 0) {
      throw new IllegalArgumentException(what + " must be positive: " + n);
    }
    return n;
  }

  /**
   * @return the values of a filter argument in their order, a value given twice once
   * @throws NullPointerException if a value is null
   */
  static Set<String> filterValues(String... values) {
    Set<String> set = new LinkedHashSet<>();
    for (String v : values) {
      set.add(Objects.requireNonNull(v, "a filter value is null"));
    }
    return set;
  }

  static String printable(String s) {
    StringBuilder b = new StringBuilder();
    int max = Math.min(s.length(), 140);
    for (int i = 0; i < max; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029') {
        // C0 and C1 controls and the Unicode line and paragraph separators: some logs break lines at them
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return s.length() > max ? b.append("...").toString() : b.toString();
  }
}
