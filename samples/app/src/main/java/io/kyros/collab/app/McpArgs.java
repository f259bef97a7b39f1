package io.kyros.collab.app;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The arguments of one MCP tool call, read with the checks every tool shares: an argument the tool
 * does not take, a missing required one or one of the wrong type is a {@link ToolError} naming it
 * and what the tool takes, raised before the tool writes anything. Values arrive as Jackson maps
 * them (strings, numbers, lists, maps); JSON null counts as absent.
 *
 * <p>Not thread-safe; one instance per call.
 */
final class McpArgs {
  private final String tool;
  private final Map<String, Object> values;
  private final Set<String> known;

  /**
   * @param tool the tool's name, for messages
   * @param values the call's arguments, possibly null
   * @param known the names the tool takes
   * @throws ToolError if an argument is not one of {@code known}
   */
  McpArgs(String tool, Map<String, Object> values, Set<String> known) {
    this.tool = tool;
    this.values = values == null ? Map.of() : values;
    this.known = known;
    for (String name : this.values.keySet()) {
      if (!known.contains(name)) {
        throw new ToolError("unknown argument '" + name + "' for " + tool + "; it takes " + takes()
            + ". Nothing was written.");
      }
    }
  }

  boolean has(String name) {
    return values.get(name) != null;
  }

  String string(String name) {
    return require(name, optString(name));
  }

  String optString(String name) {
    Object v = values.get(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw wrongType(name, "a string", v);
    }
    return s;
  }

  long integer(String name) {
    return require(name, optInteger(name));
  }

  Long optInteger(String name) {
    Object v = values.get(name);
    if (v == null) {
      return null;
    }
    if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof BigInteger b && b.bitLength() < 64) {
      return b.longValue();
    }
    if (v instanceof Number n && finite(n)) {
      BigDecimal d = new BigDecimal(n.toString());
      if (d.stripTrailingZeros().scale() <= 0 && d.abs().compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) <= 0) {
        return d.longValue();
      }
    }
    throw wrongType(name, "an integer", v);
  }

  /** An integer argument within bounds, or {@code dflt} if absent. */
  long integer(String name, long dflt, long min, long max) {
    Long v = optInteger(name);
    if (v == null) {
      return dflt;
    }
    if (v < min || v > max) {
      throw new ToolError("argument '" + name + "' must be between " + min + " and " + max + ", got " + v
          + ". Nothing was written.");
    }
    return v;
  }

  /** A duration in seconds (fractions allowed), positive and at most {@code max}, or {@code dflt} if absent. */
  Duration seconds(String name, Duration dflt, Duration max) {
    return has(name) ? seconds(name, false, max) : dflt;
  }

  /** A number of seconds to wait, 0 (do not wait) to {@code max}; 0 if absent. */
  Duration waitSeconds(String name, Duration max) {
    return has(name) ? seconds(name, true, max) : Duration.ZERO;
  }

  private Duration seconds(String name, boolean zeroAllowed, Duration max) {
    Object v = values.get(name);
    if (!(v instanceof Number n) || !finite(n)) { // a number beyond a double's range reads as infinite
      throw wrongType(name, "a number of seconds", v);
    }
    BigDecimal s = new BigDecimal(n.toString());
    if (s.signum() < 0 || (s.signum() == 0 && !zeroAllowed) || s.compareTo(BigDecimal.valueOf(max.getSeconds())) > 0) {
      throw new ToolError("argument '" + name + "' must be " + (zeroAllowed ? "from 0" : "more than 0") + " to "
          + max.getSeconds() + " seconds, got " + s.toPlainString() + ". Nothing was written.");
    }
    Duration d = Duration.ofNanos(s.movePointRight(9).longValue());
    if (d.isZero() && s.signum() > 0) { // under a nanosecond: it would be read as none at all
      throw new ToolError("argument '" + name + "' must be at least 0.000000001 seconds (one nanosecond), got "
          + s.toPlainString() + ". Nothing was written.");
    }
    return d;
  }

  /** @return whether a number is finite: JSON numbers beyond a double's range are read as infinite */
  private static boolean finite(Number n) {
    return !(n instanceof Double d && d.isInfinite()) && !(n instanceof Float f && f.isInfinite());
  }

  /** An array of strings, empty if absent. */
  List<String> strings(String name) {
    Object v = values.get(name);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof List<?> list)) {
      throw wrongType(name, "an array of strings", v);
    }
    List<String> out = new ArrayList<>(list.size());
    for (Object item : list) {
      if (!(item instanceof String s)) {
        throw wrongType(name, "an array of strings", v);
      }
      out.add(s);
    }
    return out;
  }

  Set<String> stringSet(String name) {
    return new LinkedHashSet<>(strings(name));
  }

  /** An array of integers, empty if absent. */
  List<Integer> integers(String name) {
    Object v = values.get(name);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof List<?> list)) {
      throw wrongType(name, "an array of integers", v);
    }
    List<Integer> out = new ArrayList<>(list.size());
    for (Object item : list) {
      if (!(item instanceof Integer i)) {
        throw wrongType(name, "an array of integers", v);
      }
      out.add(i);
    }
    return out;
  }

  /** A string argument that must be one of {@code options}. */
  String choice(String name, List<String> options) {
    String v = string(name);
    if (!options.contains(v)) {
      throw new ToolError("argument '" + name + "' must be one of " + String.join(", ", options) + ", got \"" + v
          + "\". Nothing was written.");
    }
    return v;
  }

  private <T> T require(String name, T value) {
    if (value == null) {
      throw new ToolError("argument '" + name + "' is required by " + tool + " (it takes " + takes()
          + "). Nothing was written.");
    }
    return value;
  }

  private ToolError wrongType(String name, String expected, Object v) {
    return new ToolError("argument '" + name + "' must be " + expected + ", got " + describe(v)
        + ". Nothing was written.");
  }

  private String takes() {
    return String.join(", ", known);
  }

  private static String describe(Object v) {
    if (v instanceof String s) {
      return "the string \"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"";
    }
    if (v instanceof List) {
      return "an array";
    }
    if (v instanceof Map) {
      return "an object";
    }
    if (v instanceof Boolean) {
      return "a boolean";
    }
    return v.toString();
  }
}
