package io.kyros.collab.benchmarks;

import java.util.List;
import java.util.Locale;

/**
 * How much one side's score moved across the rounds of a run: median, extremes and coefficient of variation (the
 * sample standard deviation over the mean). A raw floor's CV says how steady the machine was: the floors do nothing
 * but the disk's work, so their drift is the machine's.
 *
 * <p>Immutable and thread-safe.
 *
 * @param median the median
 * @param min the smallest value
 * @param max the largest value
 * @param cv the coefficient of variation, {@code NaN} with fewer than two values or a zero mean
 * @param count how many values
 */
record Spread(double median, double min, double max, double cv, int count) {

  /**
   * @param values the values, at least one
   * @return their spread
   * @throws IllegalArgumentException if there are none
   */
  static Spread of(List<Double> values) {
    if (values.isEmpty()) {
      throw new IllegalArgumentException("values must not be empty");
    }
    double[] data = values.stream().mapToDouble(Double::doubleValue).toArray();
    double mean = 0;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (double v : data) {
      mean += v / data.length;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    double cv = Double.NaN;
    if (data.length > 1 && mean != 0) {
      double squares = 0;
      for (double v : data) {
        squares += (v - mean) * (v - mean);
      }
      cv = Math.sqrt(squares / (data.length - 1)) / Math.abs(mean);
    }
    return new Spread(Estimate.median(data), min, max, cv, data.length);
  }

  /**
   * @return the CV as a percentage with no decimals ({@code 12 %}), or {@code n/a} without one
   */
  String cvText() {
    return Double.isNaN(cv) ? "n/a" : String.format(Locale.ROOT, "%.0f %%", cv * 100);
  }
}
