package io.kyros.collab.benchmarks;

/**
 * The JMH iterations one side runs in one round, in its own fork: warm-up, then measurement.
 *
 * <p>Immutable and thread-safe.
 *
 * @param warmupIterations warmup iterations, at least 1
 * @param warmupSeconds seconds per warmup iteration, at least 1
 * @param measurementIterations measurement iterations, at least 1
 * @param measurementSeconds seconds per measurement iteration, at least 1
 */
record Iterations(int warmupIterations, int warmupSeconds, int measurementIterations, int measurementSeconds) {

  /**
   * @param warmupIterations at least 1
   * @param warmupSeconds at least 1
   * @param measurementIterations at least 1
   * @param measurementSeconds at least 1
   * @throws IllegalArgumentException if a count is below 1
   */
  Iterations {
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
   * @return the seconds of warm-up and measurement, without JVM start and setup
   */
  int seconds() {
    return warmupIterations * warmupSeconds + measurementIterations * measurementSeconds;
  }

  /**
   * @return the iterations as the report writes them: {@code warmup 2 × 2 s, measurement 3 × 1 s}
   */
  String text() {
    return "warmup " + warmupIterations + " × " + warmupSeconds + " s, measurement " + measurementIterations + " × "
        + measurementSeconds + " s";
  }
}
