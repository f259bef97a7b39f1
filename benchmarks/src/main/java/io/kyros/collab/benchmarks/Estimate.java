package io.kyros.collab.benchmarks;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A ratio measured in several rounds: the median of the per-round values with a 95 % percentile-bootstrap confidence
 * interval over the rounds. The bootstrap draws {@value #RESAMPLES} resamples of the rounds (with replacement) from a
 * SplitMix64 generator with a fixed seed, so the same rounds always give the same interval: a report regenerated from
 * the same JSON is identical. With one round there is no interval ({@link #low} and {@link #high} are {@code NaN}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param median the median of the per-round values (the mean of the two middle ones for an even count)
 * @param low the interval's low end (the bootstrap medians' 2.5th percentile), {@code NaN} with one round
 * @param high the interval's high end (the bootstrap medians' 97.5th percentile), {@code NaN} with one round
 * @param rounds how many rounds the values came from
 */
record Estimate(double median, double low, double high, int rounds) {

  /** Bootstrap resamples per interval. */
  static final int RESAMPLES = 10_000;
  /** The confidence level of the interval. */
  static final double CONFIDENCE = 0.95;
  /** The seed all intervals start from, mixed with the comparison's name. */
  static final long SEED = 17;

  /**
   * @param median the median
   * @param low the low end, {@code NaN} without an interval
   * @param high the high end, {@code NaN} without an interval
   * @param rounds at least 1
   * @throws IllegalArgumentException if rounds is below 1, the median is not finite, or the interval does not hold
   *     the median
   */
  Estimate {
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds must be at least 1: " + rounds);
    }
    if (!Double.isFinite(median)) {
      throw new IllegalArgumentException("median must be finite: " + median);
    }
    if (Double.isNaN(low) != Double.isNaN(high) || !Double.isNaN(low) && !(low <= median && median <= high)) {
      throw new IllegalArgumentException("interval must hold the median: " + median + " [" + low + ", " + high + "]");
    }
  }

  /**
   * Estimates the median of per-round values with a bootstrap interval.
   *
   * @param values the per-round values, finite, at least one
   * @param seed the bootstrap's seed (the same values and seed always give the same interval)
   * @return the estimate; without an interval for a single value
   * @throws IllegalArgumentException if there are no values or one is not finite
   */
  static Estimate of(List<Double> values, long seed) {
    if (values.isEmpty()) {
      throw new IllegalArgumentException("values must not be empty");
    }
    double[] data = new double[values.size()];
    for (int i = 0; i < data.length; i++) {
      data[i] = values.get(i);
      if (!Double.isFinite(data[i])) {
        throw new IllegalArgumentException("values must be finite: " + values);
      }
    }
    double median = median(data);
    if (data.length == 1) {
      return new Estimate(median, Double.NaN, Double.NaN, 1);
    }
    double[] medians = new double[RESAMPLES];
    double[] resample = new double[data.length];
    SplitMix64 random = new SplitMix64(seed);
    for (int b = 0; b < RESAMPLES; b++) {
      for (int i = 0; i < resample.length; i++) {
        resample[i] = data[random.nextInt(data.length)];
      }
      medians[b] = median(resample);
    }
    Arrays.sort(medians);
    double tail = (1 - CONFIDENCE) / 2;
    // the bootstrap medians lie between the data's extremes; clamp so rounding never leaves out the median itself
    double low = Math.min(percentile(medians, tail), median);
    double high = Math.max(percentile(medians, 1 - tail), median);
    return new Estimate(median, low, high, data.length);
  }

  /**
   * @param name a comparison's name
   * @return the bootstrap seed of that comparison: {@link #SEED} mixed with the name's (specified) hash code, so adding
   *     a comparison changes no other comparison's interval
   */
  static long seedFor(String name) {
    return SEED * 31 + name.hashCode();
  }

  /**
   * @param values values, not modified
   * @return their median (the mean of the two middle values for an even count)
   * @throws IllegalArgumentException if there are none
   */
  static double median(double[] values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("values must not be empty");
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int middle = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  /**
   * The percentile with linear interpolation between the closest ranks (R's and NumPy's default, "type 7").
   *
   * @param sorted values in ascending order, at least one
   * @param p the fraction, 0 to 1
   * @return the {@code p} quantile
   * @throws IllegalArgumentException if there are no values or p is outside 0..1
   */
  static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) {
      throw new IllegalArgumentException("sorted must not be empty");
    }
    if (!(p >= 0 && p <= 1)) {
      throw new IllegalArgumentException("p must be within 0..1: " + p);
    }
    double h = (sorted.length - 1) * p;
    int below = (int) Math.floor(h);
    int above = Math.min(below + 1, sorted.length - 1);
    return sorted[below] + (h - below) * (sorted[above] - sorted[below]);
  }

  /**
   * @return whether there is an interval (more than one round)
   */
  boolean hasInterval() {
    return !Double.isNaN(low);
  }

  /**
   * @return the median and interval as the ratio lines and the report write them: {@code 1.44 [1.21, 1.70]}, or
   *     {@code 1.44 [no interval: 1 round]}
   */
  String text() {
    return hasInterval()
        ? twoDecimals(median) + " [" + twoDecimals(low) + ", " + twoDecimals(high) + "]"
        : twoDecimals(median) + " [no interval: 1 round]";
  }

  /**
   * @param value a ratio
   * @return it with two decimals, such as {@code 1.25}
   */
  static String twoDecimals(double value) {
    return String.format(Locale.ROOT, "%.2f", value);
  }

  /** Steele, Lea and Flood's SplitMix64: small, fast, and fully specified here so the intervals never change. */
  private static final class SplitMix64 {
    private long state;

    SplitMix64(long seed) {
      state = seed;
    }

    int nextInt(int bound) {
      state += 0x9E3779B97F4A7C15L;
      long z = state;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      z ^= z >>> 31;
      // the high 31 bits scaled to the bound: no modulo bias worth the name for bounds of a few dozen rounds
      return (int) (((z >>> 33) * bound) >>> 31);
    }
  }
}
