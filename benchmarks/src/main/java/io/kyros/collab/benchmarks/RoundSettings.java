package io.kyros.collab.benchmarks;

import java.util.Optional;

/**
 * How a paired run measures: how many rounds, and the JMH iterations every side gets in each round (one fresh fork
 * per side per round, so each side is warmed up in its own JVM every time). {@link #FULL} is the default and the only
 * kind of run whose ratios are judged against targets together with longer ones; {@link #QUICK} and shorter warm-ups
 * are labelled not valid for targets.
 *
 * <p>Immutable and thread-safe.
 *
 * @param rounds how many rounds, at least 1
 * @param warmupIterations warmup iterations per side per round, at least 1
 * @param warmupSeconds seconds per warmup iteration, at least 1
 * @param measurementIterations measurement iterations per side per round, at least 1
 * @param measurementSeconds seconds per measurement iteration, at least 1
 * @param quick whether {@code --quick} asked for these settings
 */
record RoundSettings(
    int rounds, int warmupIterations, int warmupSeconds, int measurementIterations, int measurementSeconds,
    boolean quick) {

  /**
   * The default: 5 rounds, 2 × 2 s warm-up and 3 × 1 s measurement per side per round. The 22 sides of the
   * comparisons take about 8.5 s each (7 s of iterations and about 1.5 s of JVM start, setup and teardown: the
   * sequential full run of 2026-11-21 took 615 s for 577 s of iterations in 27 forks), so a round takes about
   * 3 minutes and the suite, with the 5 unpaired results, about 17 minutes on an otherwise idle machine.
   */
  static final RoundSettings FULL = new RoundSettings(5, 2, 2, 3, 1, false);

  /**
   * {@code --quick}: 3 rounds of 1 × 1 s warm-up and 1 × 1 s measurement, about 4 minutes; indicative only, never
   * judged (one second leaves Collab's JIT-heavy paths cold).
   */
  static final RoundSettings QUICK = new RoundSettings(3, 1, 1, 1, 1, true);

  /**
   * @param rounds at least 1
   * @param warmupIterations at least 1
   * @param warmupSeconds at least 1
   * @param measurementIterations at least 1
   * @param measurementSeconds at least 1
   * @param quick whether it is the quick mode
   * @throws IllegalArgumentException if a count is below 1
   */
  RoundSettings {
    positive("rounds", rounds);
    positive("warmupIterations", warmupIterations);
    positive("warmupSeconds", warmupSeconds);
    positive("measurementIterations", measurementIterations);
    positive("measurementSeconds", measurementSeconds);
  }

  private static void positive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1: " + value);
    }
  }

  /**
   * @param rounds the new round count
   * @return these settings with another round count
   */
  RoundSettings withRounds(int rounds) {
    return new RoundSettings(rounds, warmupIterations, warmupSeconds, measurementIterations, measurementSeconds, quick);
  }

  /**
   * @param iterations warmup iterations
   * @param seconds seconds each
   * @return these settings with another warm-up
   */
  RoundSettings withWarmup(int iterations, int seconds) {
    return new RoundSettings(rounds, iterations, seconds, measurementIterations, measurementSeconds, quick);
  }

  /**
   * @param iterations measurement iterations
   * @param seconds seconds each
   * @return these settings with another measurement
   */
  RoundSettings withMeasurement(int iterations, int seconds) {
    return new RoundSettings(rounds, warmupIterations, warmupSeconds, iterations, seconds, quick);
  }

  /**
   * @return why ratios of a run with these settings must not be judged against targets, empty when they may be:
   *     quick mode, or less warm-up time per side than {@link #FULL}'s (Collab's JIT-heavy paths stay cold)
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
   * @return the seconds of warm-up and measurement one side takes in one round, without JVM start and setup
   */
  int secondsPerSide() {
    return warmupIterations * warmupSeconds + measurementIterations * measurementSeconds;
  }

  /**
   * @return the settings as the report writes them: {@code 5 rounds; per side per round: 1 fork, warmup 2 × 2 s,
   *     measurement 3 × 1 s}
   */
  String text() {
    return rounds + (rounds == 1 ? " round" : " rounds") + "; per side per round: 1 fork, warmup " + warmupIterations
        + " × " + warmupSeconds + " s, measurement " + measurementIterations + " × " + measurementSeconds + " s"
        + (quick ? " (--quick)" : "");
  }
}
