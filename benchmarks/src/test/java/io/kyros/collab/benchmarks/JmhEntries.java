package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.benchmarks.Comparison.Selector;

/** Hand-made JMH JSON entries, as JMH writes them with {@code -rf json}, for the paired runner's and report's tests. */
final class JmhEntries {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private JmhEntries() {}

  /**
   * @param side the benchmark method and parameters
   * @param opsPerSecond the throughput score
   * @return a throughput entry of full-run iteration settings
   */
  static ObjectNode throughput(Selector side, double opsPerSecond) {
    ObjectNode entry = base(side, "thrpt");
    entry.putObject("primaryMetric").put("score", opsPerSecond).put("scoreError", opsPerSecond / 100)
        .put("scoreUnit", "ops/s");
    return entry;
  }

  /**
   * @param side the benchmark method and parameters
   * @param p99Micros the 99th percentile in microseconds
   * @return a SampleTime entry with percentiles
   */
  static ObjectNode sample(Selector side, double p99Micros) {
    ObjectNode entry = base(side, "sample");
    ObjectNode primary = entry.putObject("primaryMetric").put("score", p99Micros / 2).put("scoreError", 1.0)
        .put("scoreUnit", "us/op");
    primary.putObject("scorePercentiles").put("50.0", p99Micros / 2).put("99.0", p99Micros);
    return entry;
  }

  private static ObjectNode base(Selector side, String mode) {
    ObjectNode entry = MAPPER.createObjectNode();
    entry.put("jmhVersion", "1.37");
    entry.put("benchmark", "io.kyros.collab.benchmarks." + side.method());
    entry.put("mode", mode);
    entry.put("threads", 1);
    entry.put("forks", 1);
    entry.put("jdkVersion", "17.0.15");
    entry.put("vmName", "OpenJDK 64-Bit Server VM");
    entry.put("vmVersion", "17.0.15+6");
    entry.put("warmupIterations", 2);
    entry.put("warmupTime", "2 s");
    entry.put("measurementIterations", 2);
    entry.put("measurementTime", "2 s");
    ObjectNode params = entry.putObject("params");
    side.params().forEach(params::put);
    entry.putObject("secondaryMetrics");
    return entry;
  }
}
