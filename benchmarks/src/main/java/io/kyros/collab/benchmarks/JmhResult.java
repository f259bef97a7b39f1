package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One entry of JMH's JSON result file ({@code -rf json}): a benchmark method with one combination of parameters.
 *
 * @param benchmark the benchmark's full name, such as {@code io.kyros.collab.benchmarks.ETagBenchmark.canonicalJsonAndSha256}
 * @param mode JMH's mode: {@code thrpt}, {@code avgt}, {@code sample} or {@code ss}
 * @param threads the number of benchmark threads
 * @param forks the number of forks
 * @param warmupIterations warmup iterations per fork
 * @param warmupTime the time of one warmup iteration, as JMH writes it ({@code "1 s"})
 * @param measurementIterations measurement iterations per fork
 * @param measurementTime the time of one measurement iteration, as JMH writes it
 * @param jdk the JDK of the run: {@code jdkVersion}, {@code vmName} and {@code vmVersion}
 * @param params the benchmark's parameters by name, in JMH's order
 * @param primary the primary metric
 * @param secondary the secondary metrics by name (profilers, {@code @AuxCounters})
 */
record JmhResult(
    String benchmark,
    String mode,
    int threads,
    int forks,
    int warmupIterations,
    String warmupTime,
    int measurementIterations,
    String measurementTime,
    String jdk,
    Map<String, String> params,
    Metric primary,
    Map<String, Metric> secondary) {

  /** JMH's percentile key of the median in {@code scorePercentiles}. */
  static final String P50 = "50.0";
  /** JMH's percentile key of the 99th percentile in {@code scorePercentiles}. */
  static final String P99 = "99.0";

  private static final String ALLOCATION = "gc.alloc.rate.norm";

  /**
   * A score with its error, unit and percentiles.
   *
   * @param score the score
   * @param error the 99.9% confidence half-width, {@code NaN} when JMH could not compute one
   * @param unit JMH's unit, such as {@code ops/s}, {@code us/op}, {@code B/op} or {@code #}
   * @param percentiles the percentiles by JMH's key ({@code "50.0"}, {@code "99.0"}), empty when absent
   */
  record Metric(double score, double error, String unit, Map<String, Double> percentiles) {}

  /**
   * Reads a JMH JSON result file.
   *
   * @param file the file JMH wrote with {@code -rf json}
   * @return its entries, in file order
   * @throws IOException if the file is missing, unreadable or not a JMH JSON result (the message names the file)
   */
  static List<JmhResult> read(Path file) throws IOException {
    return parseAll(readTree(file), file.toAbsolutePath().toString());
  }

  /**
   * Reads a JSON file.
   *
   * @param file the file
   * @return its root node, possibly {@code null} for an empty file
   * @throws IOException if the file is missing, unreadable or not JSON (the message names the file)
   */
  static JsonNode readTree(Path file) throws IOException {
    try {
      return new ObjectMapper().readTree(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      throw new IOException("no result file at " + file.toAbsolutePath(), e);
    } catch (JsonProcessingException e) {
      throw new IOException("not JSON: " + file.toAbsolutePath() + ": " + e.getOriginalMessage(), e);
    }
  }

  /**
   * Parses JMH's JSON results: an array of benchmark entries.
   *
   * @param root the array
   * @param where where it came from, for errors (a file name, a round of a file)
   * @return its entries, in order
   * @throws IOException if it is not an array of JMH results (the message names {@code where} and the entry)
   */
  static List<JmhResult> parseAll(JsonNode root, String where) throws IOException {
    if (root == null || !root.isArray()) {
      throw new IOException("not a JMH JSON result (expected an array of benchmarks): " + where);
    }
    List<JmhResult> results = new ArrayList<>();
    for (int i = 0; i < root.size(); i++) {
      try {
        results.add(parse(root.get(i)));
      } catch (IllegalArgumentException e) {
        throw new IOException("entry " + i + " of " + where + " is not a JMH result: " + e.getMessage(), e);
      }
    }
    return results;
  }

  private static JmhResult parse(JsonNode node) {
    Map<String, String> params = new LinkedHashMap<>();
    node.path("params").fields().forEachRemaining(e -> params.put(e.getKey(), e.getValue().asText()));
    Map<String, Metric> secondary = new LinkedHashMap<>();
    node.path("secondaryMetrics").fields().forEachRemaining(e -> secondary.put(e.getKey(), metric(e.getValue())));
    String jdk = (node.path("jdkVersion").asText("") + " " + node.path("vmName").asText("") + " "
        + node.path("vmVersion").asText("")).trim();
    return new JmhResult(text(node, "benchmark"), text(node, "mode"), node.path("threads").asInt(1),
        node.path("forks").asInt(1), node.path("warmupIterations").asInt(0), node.path("warmupTime").asText(""),
        node.path("measurementIterations").asInt(0), node.path("measurementTime").asText(""), jdk,
        Collections.unmodifiableMap(params), metric(required(node, "primaryMetric")),
        Collections.unmodifiableMap(secondary));
  }

  private static Metric metric(JsonNode node) {
    Map<String, Double> percentiles = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.path("scorePercentiles").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      percentiles.put(e.getKey(), number(e.getValue()));
    }
    return new Metric(number(required(node, "score")), number(node.path("scoreError")), text(node, "scoreUnit"),
        Collections.unmodifiableMap(percentiles));
  }

  private static JsonNode required(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      throw new IllegalArgumentException("no \"" + field + "\"");
    }
    return value;
  }

  private static String text(JsonNode node, String field) {
    return required(node, field).asText();
  }

  /** JMH writes {@code NaN} and infinities as strings. */
  private static double number(JsonNode node) {
    if (node.isNumber()) {
      return node.asDouble();
    }
    if (node.isTextual()) {
      try {
        return Double.parseDouble(node.asText());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a number: \"" + node.asText() + "\"", e);
      }
    }
    return Double.NaN;
  }

  /**
   * @return the class's simple name and the method, such as {@code ETagBenchmark.canonicalJsonAndSha256}
   */
  String shortName() {
    int method = benchmark.lastIndexOf('.');
    int type = method < 0 ? -1 : benchmark.lastIndexOf('.', method - 1);
    return benchmark.substring(type + 1);
  }

  /**
   * @return the parameters as {@code name=value}, comma separated, or an empty string
   */
  String paramsText() {
    List<String> parts = new ArrayList<>();
    params.forEach((name, value) -> parts.add(name + "=" + value));
    return String.join(", ", parts);
  }

  /**
   * @return bytes allocated per operation ({@code gc.alloc.rate.norm} of JMH's GC profiler), if measured
   */
  Optional<Double> allocationPerOp() {
    return secondary.entrySet().stream()
        .filter(e -> e.getKey().endsWith(ALLOCATION))
        .map(e -> e.getValue().score())
        .findFirst();
  }

  /**
   * The {@code @AuxCounters(Type.EVENTS)} metrics (unit {@code #}), which JMH sums over the measurement iterations,
   * as an average per measurement iteration.
   *
   * @return the event counters by name, each divided by {@link #measurementIterations()}
   */
  Map<String, Double> eventCountersPerIteration() {
    Map<String, Double> counters = new LinkedHashMap<>();
    secondary.forEach((name, metric) -> {
      if ("#".equals(metric.unit()) && !name.startsWith("gc.") && !name.startsWith("·")) {
        counters.put(name, metric.score() / Math.max(1, measurementIterations));
      }
    });
    return counters;
  }

  /**
   * The primary score as operations per second, whatever the mode and output time unit: a throughput score is
   * rescaled ({@code ops/ms} × 1000), a time per operation is inverted.
   *
   * @return the score in operations per second
   * @throws IllegalArgumentException if the unit is neither {@code ops/<time>} nor {@code <time>/op}
   */
  double opsPerSecond() {
    String unit = primary.unit();
    if (unit.startsWith("ops/")) {
      return primary.score() * 1e9 / nanos(unit.substring(4), unit);
    }
    if (unit.endsWith("/op")) {
      return 1e9 / (primary.score() * nanos(unit.substring(0, unit.length() - 3), unit));
    }
    throw new IllegalArgumentException("not a throughput or time per operation: " + unit + " of " + benchmark);
  }

  /**
   * @param percentile JMH's percentile key, such as {@link #P99}
   * @return that percentile of the time per operation in milliseconds, if JMH measured percentiles (SampleTime)
   */
  Optional<Double> percentileMillis(String percentile) {
    Double value = primary.percentiles().get(percentile);
    String unit = primary.unit();
    if (!"sample".equals(mode) || value == null || !unit.endsWith("/op")) {
      return Optional.empty();
    }
    return Optional.of(value * nanos(unit.substring(0, unit.length() - 3), unit) / 1e6);
  }

  /** Nanoseconds in one of JMH's time unit abbreviations ({@code ns}, {@code us}, {@code ms}, {@code s}, {@code min}...). */
  private static long nanos(String abbreviation, String unit) {
    TimeUnit timeUnit = switch (abbreviation) {
      case "ns" -> TimeUnit.NANOSECONDS;
      case "us", "µs" -> TimeUnit.MICROSECONDS;
      case "ms" -> TimeUnit.MILLISECONDS;
      case "s" -> TimeUnit.SECONDS;
      case "min" -> TimeUnit.MINUTES;
      case "hr" -> TimeUnit.HOURS;
      case "day" -> TimeUnit.DAYS;
      default -> throw new IllegalArgumentException("unknown time unit \"" + abbreviation + "\" in " + unit);
    };
    return timeUnit.toNanos(1);
  }
}
