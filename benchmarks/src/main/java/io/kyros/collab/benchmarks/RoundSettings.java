package io.kyros.collab.benchmarks;

import io.kyros.collab.benchmarks.Comparison.Selector;
import java.util.List;
import java.util.Optional;

/**
 * How a paired run measures: how many rounds, and the JMH iterations every side gets in each round (one fresh fork
 * per side per round, so each side is warmed up in its own JVM every time). The sides of
 * {@link #STEADY_STATE_CLASSES} get their own iterations, {@code steadySides}: by default a longer, steady-state
 * warm-up ({@link #forSide}). {@link #FULL} is the default and the only kind of run whose ratios are judged against
 * targets together with longer ones; {@link #QUICK} and shorter warm-ups are labelled not valid for targets.
 *
 * <p>Immutable and thread-safe.
 *
 * @param rounds how many rounds, at least 1
 * @param warmupIterations warmup iterations per side per round, at least 1
 * @param warmupSeconds seconds per warmup iteration, at least 1
 * @param measurementIterations measurement iterations per side per round, at least 1
 * @param measurementSeconds seconds per measurement iteration, at least 1
 * @param quick whether {@code --quick} asked for these settings
 * @param steadySides the iterations of the sides of {@code steadyClasses} instead of the four above
 * @param steadyClasses the benchmark classes whose sides run {@code steadySides}: {@link #STEADY_STATE_CLASSES}, or
 *     {@link #STEADY_STATE_CLASSES_BEFORE_TAIL} for the results of a run made before {@code TailLatencyBenchmark}
 *     joined them
 */
record RoundSettings(
    int rounds, int warmupIterations, int warmupSeconds, int measurementIterations, int measurementSeconds,
    boolean quick, Iterations steadySides, List<String> steadyClasses) {

  /**
   * The benchmark classes whose sides get {@code steadySides}, all their parameters alike, because the JIT is still
   * compiling what they measure after the default 4 s of warm-up:
   * <ul>
   *   <li>{@code LeaseBenchmark}, {@code TaskClaimBenchmark} and {@code WorkerPoolBenchmark}: their Collab sides run
   *       Collab's large JDBC hot path (a single {@code TaskClaimBenchmark} PostgreSQL fork rose from 423 to about 850
   *       ops/s over its first 30 s and to 1,074 to 1,251 after; with 2 × 2 s warm-up the JIT's threads took a third
   *       of the fork's CPU while it was measured);
   *   <li>{@code TailLatencyBenchmark}: its results are 99th percentiles, which the compiler's pauses and its share of
   *       2 cores decide while it is busy (a {@code FILE} fork measured in 2 s iterations from its start: a p99 of 6.2,
   *       4.3, 2.2, 1.0 and 1.5 ms in its first five, then 0.49 to 0.81 ms; about 2,600 compilations in the first
   *       2 s, 12 to 37 in each of the last three 2 s of a 16 s warm-up).
   * </ul>
   * Every comparison in {@link Comparison#ALL} with a side in these classes has its other side in them too (the
   * lease-* and claim-complete-* ones within one class, workers-postgresql-vs-db-scheduler against
   * {@code TaskClaimBenchmark}'s db-scheduler; the tail-p99-* ones compare with a constant), so both sides of a pair
   * always get the same iterations ({@code RoundSettingsTest} checks it).
   */
  static final List<String> STEADY_STATE_CLASSES =
      List.of("LeaseBenchmark", "TaskClaimBenchmark", "WorkerPoolBenchmark", "TailLatencyBenchmark");

  /**
   * The classes that had the steady-state iterations until session 49, when their results files named them
   * {@code jdbcSides}: a report of such a file states what its sides ran.
   */
  static final List<String> STEADY_STATE_CLASSES_BEFORE_TAIL =
      List.of("LeaseBenchmark", "TaskClaimBenchmark", "WorkerPoolBenchmark");

  /**
   * The iterations of {@link #STEADY_STATE_CLASSES}' sides in a full run: 8 × 3 s warm-up, 3 × 2 s measurement, 30 s
   * in all. With 10 × 3 s and 5 × 3 s, lease-postgresql-vs-shedlock measured 0.88 and
   * claim-complete-postgresql-vs-db-scheduler 0.45, against 0.47 and 0.22 with the default 2 × 2 s and 3 × 1 s.
   */
  static final Iterations STEADY_STATE = new Iterations(8, 3, 3, 2);

  /**
   * The default: 5 rounds, 2 × 2 s warm-up and 3 × 1 s measurement per side per round, and
   * {@link #STEADY_STATE} (8 × 3 s warm-up, 3 × 2 s measurement) for the sides of {@link #STEADY_STATE_CLASSES}. Of
   * the 35 sides of a round ({@link Comparison#ALL}), 20 take about 9 s each (7 s of iterations and about 2 s of JVM
   * start, setup and teardown, {@link PairedRunner#ASSUMED_OVERHEAD}) and 15 about 32 s (30 s of iterations):
   * LeaseBenchmark's 3 PostgreSQL sides, TaskClaimBenchmark's 5 PostgreSQL and 2 MariaDB sides, WorkerPoolBenchmark's
   * PostgreSQL side and TailLatencyBenchmark's 4 sides. A round takes about 11 minutes (180 s + 480 s) and the suite,
   * with the 6 unpaired results (3 of them LeaseBenchmark's and WorkerPoolBenchmark's memory and file sides, so 32 s
   * too), about 57 minutes on an otherwise idle machine ({@link PairedRunner#expected}: 3,423 s). In session 49's
   * full run the 5 rounds took 59 minutes (the first 16, as it built the cached large stores, the others 11 each)
   * and the unpaired results 3 more, so expect about 65 without budget rounds.
   */
  static final RoundSettings FULL = new RoundSettings(5, 2, 2, 3, 1, false, STEADY_STATE);

  /**
   * {@code --quick}: 3 rounds of 1 × 1 s warm-up and 1 × 1 s measurement for every side, the sides of
   * {@link #STEADY_STATE_CLASSES} too, about 7.4 minutes (111 forks of about 4 s); indicative only, never judged (one
   * second leaves Collab's JIT-heavy paths cold).
   */
  static final RoundSettings QUICK = new RoundSettings(3, 1, 1, 1, 1, true, new Iterations(1, 1, 1, 1));

  /**
   * @param rounds at least 1
   * @param warmupIterations at least 1
   * @param warmupSeconds at least 1
   * @param measurementIterations at least 1
   * @param measurementSeconds at least 1
   * @param quick whether it is the quick mode
   * @param steadySides the iterations of the sides of {@code steadyClasses}
   * @param steadyClasses the classes whose sides run {@code steadySides}, at least one
   * @throws IllegalArgumentException if a count is below 1 or {@code steadyClasses} is empty
   * @throws NullPointerException if {@code steadySides} or {@code steadyClasses} is null
   */
  RoundSettings {
    positive("rounds", rounds);
    positive("warmupIterations", warmupIterations);
    positive("warmupSeconds", warmupSeconds);
    positive("measurementIterations", measurementIterations);
    positive("measurementSeconds", measurementSeconds);
    if (steadySides == null) {
      throw new NullPointerException("steadySides must not be null");
    }
    if (steadyClasses == null) {
      throw new NullPointerException("steadyClasses must not be null");
    }
    steadyClasses = List.copyOf(steadyClasses);
    if (steadyClasses.isEmpty()) {
      throw new IllegalArgumentException("steadyClasses must not be empty");
    }
  }

  /**
   * Settings whose {@code steadySides} are those of {@link #STEADY_STATE_CLASSES}.
   *
   * @param rounds at least 1
   * @param warmupIterations at least 1
   * @param warmupSeconds at least 1
   * @param measurementIterations at least 1
   * @param measurementSeconds at least 1
   * @param quick whether it is the quick mode
   * @param steadySides the iterations of the sides of {@link #STEADY_STATE_CLASSES}
   * @throws IllegalArgumentException if a count is below 1
   * @throws NullPointerException if {@code steadySides} is null
   */
  RoundSettings(int rounds, int warmupIterations, int warmupSeconds, int measurementIterations,
      int measurementSeconds, boolean quick, Iterations steadySides) {
    this(rounds, warmupIterations, warmupSeconds, measurementIterations, measurementSeconds, quick, steadySides,
        STEADY_STATE_CLASSES);
  }

  private static void positive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1: " + value);
    }
  }

  /**
   * @param rounds the new round count
   * @return these settings with another round count, every side's iterations unchanged
   */
  RoundSettings withRounds(int rounds) {
    return new RoundSettings(rounds, warmupIterations, warmupSeconds, measurementIterations, measurementSeconds, quick,
        steadySides, steadyClasses);
  }

  /**
   * An explicit warm-up ({@code --warmup}) sets every side's, the sides of {@link #STEADY_STATE_CLASSES} included: a
   * run asked for with its own iterations runs them as asked.
   *
   * @param iterations warmup iterations
   * @param seconds seconds each
   * @return these settings with another warm-up for every side
   */
  RoundSettings withWarmup(int iterations, int seconds) {
    return new RoundSettings(rounds, iterations, seconds, measurementIterations, measurementSeconds, quick,
        new Iterations(iterations, seconds, steadySides.measurementIterations(), steadySides.measurementSeconds()),
        steadyClasses);
  }

  /**
   * An explicit measurement ({@code --measurement}) sets every side's, the sides of {@link #STEADY_STATE_CLASSES}
   * included.
   *
   * @param iterations measurement iterations
   * @param seconds seconds each
   * @return these settings with another measurement for every side
   */
  RoundSettings withMeasurement(int iterations, int seconds) {
    return new RoundSettings(rounds, warmupIterations, warmupSeconds, iterations, seconds, quick,
        new Iterations(steadySides.warmupIterations(), steadySides.warmupSeconds(), iterations, seconds),
        steadyClasses);
  }

  /**
   * @param side a side of a comparison, or an unpaired result
   * @return whether its benchmark class is one of {@code steadyClasses}, so that it runs {@code steadySides}
   */
  boolean isSteadyState(Selector side) {
    int dot = side.method().indexOf('.');
    return steadyClasses.contains(dot < 0 ? side.method() : side.method().substring(0, dot));
  }

  /**
   * The settings one side runs with: these, with {@code steadySides} as the iterations of a side of
   * {@code steadyClasses}.
   *
   * @param side the side about to run
   * @return the settings for that side (these for a side of another class)
   */
  RoundSettings forSide(Selector side) {
    if (!isSteadyState(side)) {
      return this;
    }
    return new RoundSettings(rounds, steadySides.warmupIterations(), steadySides.warmupSeconds(),
        steadySides.measurementIterations(), steadySides.measurementSeconds(), quick, steadySides, steadyClasses);
  }

  /**
   * @return the iterations of a side outside {@link #STEADY_STATE_CLASSES}
   */
  Iterations iterations() {
    return new Iterations(warmupIterations, warmupSeconds, measurementIterations, measurementSeconds);
  }

  /**
   * @return why ratios of a run with these settings must not be judged against targets, empty when they may be:
   *     quick mode, or less warm-up time per side than {@link #FULL}'s 4 s (Collab's JIT-heavy paths stay cold)
   */
  Optional<String> notValidForTargets() {
    if (quick) {
      return Optional.of("--quick: not valid for targets");
    }
    if (warmupIterations * warmupSeconds < FULL.warmupIterations * FULL.warmupSeconds) {
      return Optional.of("warm-up under " + FULL.warmupIterations * FULL.warmupSeconds + " s: not valid for targets");
    }
    return Optional.empty();
  }

  /**
   * @return the seconds of warm-up and measurement a side outside {@link #STEADY_STATE_CLASSES} takes in one round,
   *     without JVM start and setup ({@code forSide(side).secondsPerSide()} for any side)
   */
  int secondsPerSide() {
    return iterations().seconds();
  }

  /**
   * @return the settings as the report writes them: {@code 5 rounds; per side per round: 1 fork, warmup 2 × 2 s,
   *     measurement 3 × 1 s; LeaseBenchmark, TaskClaimBenchmark, WorkerPoolBenchmark and TailLatencyBenchmark sides:
   *     warmup 8 × 3 s, measurement 3 × 2 s} (the last part only when those sides' iterations differ)
   */
  String text() {
    String steady = steadySides.equals(iterations()) ? ""
        : "; " + (steadyClasses.size() == 1 ? steadyClasses.get(0)
            : String.join(", ", steadyClasses.subList(0, steadyClasses.size() - 1)) + " and "
                + steadyClasses.get(steadyClasses.size() - 1)) + " sides: " + steadySides.text();
    return rounds + (rounds == 1 ? " round" : " rounds") + "; per side per round: 1 fork, " + iterations().text()
        + steady + (quick ? " (--quick)" : "");
  }
}
