package io.kyros.collab.benchmarks;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One comparison of the report: a Collab result against a baseline (another result of the same run, or a constant
 * time), as a ratio where more than 1 means Collab is faster. {@link #ALL} is the list the report prints; add a line
 * there to compare something new.
 *
 * @param name the comparison's name in the {@code ratio <name> <value>} lines
 * @param what one line saying what is compared
 * @param measure how the two sides are measured and divided
 * @param ours the Collab result
 * @param baseline the baseline result, or {@code null} for a constant baseline
 * @param baselineMillis the constant baseline in milliseconds when {@code baseline} is {@code null}
 * @param target the ratio the comparison should reach, or {@code null} for none
 */
record Comparison(
    String name, String what, Measure measure, Selector ours, Selector baseline, double baselineMillis, Double target) {

  /** How a comparison reads a result and which way it divides. */
  enum Measure {
    /** The primary score in operations per second; the ratio is ours / baseline. */
    THROUGHPUT,
    /** The 99th percentile of a SampleTime benchmark in milliseconds; the ratio is baseline / ours. */
    P99
  }

  /**
   * A benchmark method with some of its parameters.
   *
   * @param method the class's simple name and the method, such as {@code LeaseBenchmark.acquireRelease}
   * @param params the parameters a result must have (others may differ)
   */
  record Selector(String method, Map<String, String> params) {

    /**
     * @param result a result
     * @return whether the result is of this method, with these parameters
     */
    boolean matches(JmhResult result) {
      return result.shortName().equals(method)
          && params.entrySet().stream().allMatch(p -> p.getValue().equals(result.params().get(p.getKey())));
    }

    /**
     * @param results the results of a run
     * @return the first result this selects
     */
    Optional<JmhResult> find(List<JmhResult> results) {
      return results.stream().filter(this::matches).findFirst();
    }

    @Override
    public String toString() {
      StringBuilder text = new StringBuilder(method);
      params.forEach((name, value) -> text.append(' ').append(name).append('=').append(value));
      return text.toString();
    }
  }

  private static final String DOC_WRITE = "DocumentWriteBenchmark.";
  private static final String APPEND = "EventAppendBenchmark.";
  private static final String TAIL = "TailLatencyBenchmark.appendToDelivery";

  /** Every comparison of the report, in report order. */
  static final List<Comparison> ALL = List.of(
      throughput("doc-write-1-writer-vs-floor", "durable 1 KB document replace, 1 writer: Collab file vs raw temp+fsync+rename floor",
          on(DOC_WRITE + "oneWriter", "target", "COLLAB_FILE"), on(DOC_WRITE + "oneWriter", "target", "RAW_FLOOR"), 0.9),
      // The 16-thread targets are against the per-write floor (one writer: every write pays its own forces), which is
      // what group commit is meant to beat; 16 raw threads let the kernel share some forces, shown next for reference.
      throughput("doc-write-16-writers-vs-floor", "durable 1 KB document replace, 16 Collab writers vs the per-write floor (1 raw writer)",
          on(DOC_WRITE + "sixteenWriters", "target", "COLLAB_FILE"), on(DOC_WRITE + "oneWriter", "target", "RAW_FLOOR"), 3.0),
      throughput("doc-write-16-writers-vs-floor-16-threads", "durable 1 KB document replace, 16 writers: Collab file vs 16 raw writer threads",
          on(DOC_WRITE + "sixteenWriters", "target", "COLLAB_FILE"), on(DOC_WRITE + "sixteenWriters", "target", "RAW_FLOOR"), null),
      throughput("append-1-appender-vs-floor", "durable event append, 1 appender: Collab file vs append+fsync floor",
          on(APPEND + "oneAppender", "target", "COLLAB_FILE"), on(APPEND + "oneAppender", "target", "RAW_FLOOR"), null),
      throughput("append-16-appenders-vs-floor", "durable event append, 16 Collab appenders vs the per-append-fsync floor (1 raw appender)",
          on(APPEND + "sixteenAppenders", "target", "COLLAB_FILE"), on(APPEND + "oneAppender", "target", "RAW_FLOOR"), 10.0),
      throughput("append-16-appenders-vs-floor-16-threads", "durable event append, 16 appenders: Collab file vs 16 raw append+fsync threads",
          on(APPEND + "sixteenAppenders", "target", "COLLAB_FILE"), on(APPEND + "sixteenAppenders", "target", "RAW_FLOOR"), null),
      throughput("append-1-appender-vs-sqlite", "durable event append, 1 appender: Collab file vs SQLite WAL synchronous=FULL",
          on(APPEND + "oneAppender", "target", "COLLAB_FILE"), on(APPEND + "oneAppender", "target", "SQLITE"), null),
      throughput("append-1-appender-vs-h2", "event append, 1 appender: Collab file vs embedded H2",
          on(APPEND + "oneAppender", "target", "COLLAB_FILE"), on(APPEND + "oneAppender", "target", "H2"), null),
      throughput("append-16-appenders-vs-sqlite", "durable event append, 16 appenders: Collab file vs SQLite WAL synchronous=FULL",
          on(APPEND + "sixteenAppenders", "target", "COLLAB_FILE"), on(APPEND + "sixteenAppenders", "target", "SQLITE"), 5.0),
      throughput("append-16-appenders-vs-h2", "event append, 16 appenders: Collab file vs embedded H2",
          on(APPEND + "sixteenAppenders", "target", "COLLAB_FILE"), on(APPEND + "sixteenAppenders", "target", "H2"), null),
      // Sides of LeaseBenchmark, TaskClaimBenchmark, WorkerPoolBenchmark and TailLatencyBenchmark get longer
      // iterations than the others (RoundSettings.STEADY_STATE_CLASSES): a comparison has both sides in those classes
      // or neither (RoundSettingsTest).
      throughput("lease-postgresql-vs-shedlock", "lease acquire + release on PostgreSQL: Collab vs ShedLock",
          on("LeaseBenchmark.acquireRelease", "backend", "POSTGRESQL"),
          on("LeaseBenchmark.acquireRelease", "backend", "SHEDLOCK_POSTGRESQL"), 1.0),
      // The floors (LeaseFloor, TaskFloor) are not Collab: one statement per operation keeping Collab's guarantees. They
      // show how close Collab is to what its guarantees allow, and what the peer targets allow at best.
      throughput("lease-postgresql-vs-floor", "lease acquire + release on PostgreSQL: Collab vs the one-statement floor",
          on("LeaseBenchmark.acquireRelease", "backend", "POSTGRESQL"),
          on("LeaseBenchmark.acquireRelease", "backend", "SQL_FLOOR_POSTGRESQL"), null),
      throughput("lease-floor-vs-shedlock", "lease acquire + release on PostgreSQL: the one-statement floor (row + event) vs ShedLock (row)",
          on("LeaseBenchmark.acquireRelease", "backend", "SQL_FLOOR_POSTGRESQL"),
          on("LeaseBenchmark.acquireRelease", "backend", "SHEDLOCK_POSTGRESQL"), null),
      throughput("claim-complete-postgresql-vs-db-scheduler", "task claim + complete on PostgreSQL: Collab vs db-scheduler",
          on("TaskClaimBenchmark.claimAndComplete", "backend", "COLLAB_POSTGRESQL"),
          on("TaskClaimBenchmark.claimAndComplete", "backend", "DB_SCHEDULER_POSTGRESQL"), 1.5),
      throughput("claim-complete-postgresql-vs-floor", "task claim + complete on PostgreSQL: Collab vs the one-statement-per-operation floor",
          on("TaskClaimBenchmark.claimAndComplete", "backend", "COLLAB_POSTGRESQL"),
          on("TaskClaimBenchmark.claimAndComplete", "backend", "SQL_FLOOR_POSTGRESQL"), null),
      throughput("claim-complete-floor-vs-db-scheduler", "task claim + complete on PostgreSQL: the one-statement-per-operation floor vs db-scheduler",
          on("TaskClaimBenchmark.claimAndComplete", "backend", "SQL_FLOOR_POSTGRESQL"),
          on("TaskClaimBenchmark.claimAndComplete", "backend", "DB_SCHEDULER_POSTGRESQL"), null),
      throughput("claim-complete-batched-floor-vs-db-scheduler", "task claim + complete on PostgreSQL: the floor claiming 4 per statement, completing 1 per statement, vs db-scheduler",
          on("TaskClaimBenchmark.claimAndComplete", "backend", "SQL_FLOOR_BATCHED_POSTGRESQL"),
          on("TaskClaimBenchmark.claimAndComplete", "backend", "DB_SCHEDULER_POSTGRESQL"), null),
      throughput("claim-complete-grouped-floor-vs-db-scheduler", "task claim + complete on PostgreSQL: the floor claiming 4 per statement and completing 4 per commit vs db-scheduler",
          on("TaskClaimBenchmark.claimAndComplete", "backend", "SQL_FLOOR_GROUPED_POSTGRESQL"),
          on("TaskClaimBenchmark.claimAndComplete", "backend", "DB_SCHEDULER_POSTGRESQL"), null),
      throughput("workers-postgresql-vs-db-scheduler", "worker pool, 8 threads, no-op handler, on PostgreSQL: Collab vs db-scheduler",
          on("WorkerPoolBenchmark.drain", "backend", "COLLAB_POSTGRESQL"),
          on("TaskClaimBenchmark.claimAndComplete", "backend", "DB_SCHEDULER_POSTGRESQL"), null),
      throughput("claim-complete-mariadb-vs-db-scheduler", "task claim + complete on MariaDB: Collab vs db-scheduler",
          on("TaskClaimBenchmark.claimAndComplete", "backend", "COLLAB_MARIADB"),
          on("TaskClaimBenchmark.claimAndComplete", "backend", "DB_SCHEDULER_MARIADB"), null),
      throughput("doc-write-100000-vs-10-documents", "document write in a store of 100,000 vs 10 documents (≥ 0.83: within 1.2×)",
          on("ScaleBenchmark.writeDocument", "documents", "100000"), on("ScaleBenchmark.writeDocument", "documents", "10"), 0.83),
      throughput("claim-scale-memory", "claim + complete with 100,000 queued (half blocked) and 100,000 done tasks vs 100 and 100, in memory (≥ 0.83: within 1.2×)",
          claimScale("MEMORY", "100000"), claimScale("MEMORY", "100"), 0.83),
      throughput("claim-scale-file", "claim + complete with 100,000 queued (half blocked) and 100,000 done tasks vs 100 and 100, file store (≥ 0.83)",
          claimScale("FILE", "100000"), claimScale("FILE", "100"), 0.83),
      throughput("claim-scale-postgresql", "claim + complete with 100,000 queued (half blocked) and 100,000 done tasks vs 100 and 100, PostgreSQL (≥ 0.83)",
          claimScale("POSTGRESQL", "100000"), claimScale("POSTGRESQL", "100"), 0.83),
      p99("tail-p99-memory-vs-1ms", "append to delivery to a subscriber, p99, in-memory store, vs 1 ms",
          on(TAIL, "backend", "MEMORY"), 1.0),
      p99("tail-p99-file-vs-1ms", "append to delivery to a subscriber, p99, file store, same process, vs 1 ms",
          on(TAIL, "backend", "FILE"), 1.0),
      p99("tail-p99-file-other-process-vs-1ms", "append to delivery, p99, file store, subscriber in another process, vs 1 ms",
          on(TAIL, "backend", "FILE_OTHER_PROCESS"), null),
      p99("tail-p99-postgresql-vs-1ms", "append to delivery, p99, PostgreSQL store (LISTEN/NOTIFY), vs 1 ms",
          on(TAIL, "backend", "POSTGRESQL"), null));

  /** Results the report expects besides the comparisons' (shown in the results table, listed when missing). */
  static final List<Selector> ALSO_EXPECTED = List.of(
      on("ETagBenchmark.canonicalJsonAndSha256", "size", "1024"),
      on("ETagBenchmark.canonicalJsonAndSha256", "size", "65536"),
      on("LeaseBenchmark.acquireRelease", "backend", "MEMORY"),
      on("LeaseBenchmark.acquireRelease", "backend", "FILE"),
      on("WorkerPoolBenchmark.drain", "backend", "COLLAB_FILE"),
      new Selector("LargeLogBenchmark.read100", Map.of()));

  private static Selector claimScale(String backend, String tasks) {
    return new Selector("ClaimScaleBenchmark.claimAndComplete", Map.of("backend", backend, "tasks", tasks));
  }

  private static Selector on(String method, String param, String value) {
    return new Selector(method, Map.of(param, value));
  }

  private static Comparison throughput(String name, String what, Selector ours, Selector baseline, Double target) {
    return new Comparison(name, what, Measure.THROUGHPUT, ours, baseline, Double.NaN, target);
  }

  private static Comparison p99(String name, String what, Selector ours, Double target) {
    return new Comparison(name, what, Measure.P99, ours, null, 1.0, target);
  }

  /**
   * @param results the results of a run
   * @return Collab's side: operations per second, or the p99 in milliseconds; empty if it was not run
   */
  Optional<Double> ourValue(List<JmhResult> results) {
    return ours.find(results).flatMap(this::valueOf);
  }

  /**
   * @param results the results of a run
   * @return the baseline's side in the same unit as {@link #ourValue}; empty if it was not run
   */
  Optional<Double> baselineValue(List<JmhResult> results) {
    return baseline == null ? Optional.of(baselineMillis) : baseline.find(results).flatMap(this::valueOf);
  }

  /**
   * @param results the results of a run
   * @return the ratio, more than 1 when Collab is faster; empty if either side is missing
   */
  Optional<Double> ratio(List<JmhResult> results) {
    Optional<Double> mine = ourValue(results);
    Optional<Double> theirs = baselineValue(results);
    if (mine.isEmpty() || theirs.isEmpty()) {
      return Optional.empty();
    }
    double ratio = measure == Measure.THROUGHPUT ? mine.get() / theirs.get() : theirs.get() / mine.get();
    return Double.isFinite(ratio) ? Optional.of(ratio) : Optional.empty();
  }

  /**
   * @return the unit of {@link #ourValue} and {@link #baselineValue}
   */
  String unit() {
    return measure == Measure.THROUGHPUT ? "ops/s" : "ms (p99)";
  }

  /**
   * @param result a result of either side
   * @return its value for this measure; empty when its mode or unit gives none (a p99 needs SampleTime)
   */
  Optional<Double> valueOf(JmhResult result) {
    if (measure == Measure.P99) {
      return result.percentileMillis(JmhResult.P99);
    }
    try {
      return Optional.of(result.opsPerSecond());
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /**
   * The ratio of each round in which both sides have a result: the two sides of a round ran next to each other, so
   * each ratio is paired.
   *
   * @param rounds the rounds of a run
   * @return the per-round ratios, in round order
   */
  List<Double> roundRatios(List<PairedResults.Round> rounds) {
    return rounds.stream().map(r -> ratio(r.results())).flatMap(Optional::stream).toList();
  }

  /**
   * @param rounds the rounds of a run
   * @return the median of the per-round ratios with its bootstrap interval (seeded by this comparison's name), empty
   *     if no round has both sides
   */
  Optional<Estimate> estimate(List<PairedResults.Round> rounds) {
    List<Double> ratios = roundRatios(rounds);
    return ratios.isEmpty() ? Optional.empty() : Optional.of(Estimate.of(ratios, Estimate.seedFor(name)));
  }
}
