package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The interval arithmetic: median, percentiles, the seeded bootstrap and its degenerate cases. */
class EstimateTest {

  @Test
  void medianOfOddAndEvenCountsWithoutTouchingTheInput() {
    double[] odd = {3, 1, 2};
    double[] even = {4, 1, 3, 2};

    assertThat(Estimate.median(odd)).isEqualTo(2);
    assertThat(Estimate.median(even)).isEqualTo(2.5);
    assertThat(odd).containsExactly(3, 1, 2);
  }

  @Test
  void percentileInterpolatesBetweenTheClosestRanks() {
    double[] sorted = {1, 2, 3, 4};

    assertThat(Estimate.percentile(sorted, 0)).isEqualTo(1);
    assertThat(Estimate.percentile(sorted, 0.25)).isEqualTo(1.75);
    assertThat(Estimate.percentile(sorted, 0.5)).isEqualTo(2.5);
    assertThat(Estimate.percentile(sorted, 1)).isEqualTo(4);
    assertThat(Estimate.percentile(new double[] {7}, 0.975)).isEqualTo(7);
  }

  @Test
  void oneRoundHasAMedianButNoInterval() {
    Estimate estimate = Estimate.of(List.of(1.44), 1);

    assertThat(estimate.median()).isEqualTo(1.44);
    assertThat(estimate.hasInterval()).isFalse();
    assertThat(estimate.low()).isNaN();
    assertThat(estimate.high()).isNaN();
    assertThat(estimate.rounds()).isEqualTo(1);
    assertThat(estimate.text()).isEqualTo("1.44 [no interval: 1 round]");
  }

  @Test
  void identicalRatiosGiveAnIntervalOfNoWidth() {
    Estimate estimate = Estimate.of(List.of(1.5, 1.5, 1.5, 1.5, 1.5, 1.5), 7);

    assertThat(estimate).isEqualTo(new Estimate(1.5, 1.5, 1.5, 6));
    assertThat(estimate.text()).isEqualTo("1.50 [1.50, 1.50]");
  }

  @Test
  void fiveRoundsGiveTheirExtremes() {
    // with 5 rounds, 5.8 % of resamples have the smallest value as their median (3 or more draws of it), more than the
    // 2.5 % tail: the percentile interval is [min, max]
    Estimate estimate = Estimate.of(List.of(1.3, 1.0, 1.2, 1.4, 1.1), Estimate.seedFor("any"));

    assertThat(estimate).isEqualTo(new Estimate(1.2, 1.0, 1.4, 5));
    assertThat(estimate.text()).isEqualTo("1.20 [1.00, 1.40]");
  }

  @Test
  void twentyRoundsGiveAnIntervalCloseToTheMediansOrderStatisticInterval() {
    // for n = 20 the distribution-free 95 % interval of the median is [x(6), x(15)]; the bootstrap lands near it
    List<Double> values = new ArrayList<>();
    for (int i = 20; i >= 1; i--) {
      values.add((double) i);
    }

    Estimate estimate = Estimate.of(values, Estimate.seedFor("doc-write-1-writer-vs-floor"));

    assertThat(estimate.median()).isEqualTo(10.5);
    assertThat(estimate.low()).isBetween(5.0, 8.0);
    assertThat(estimate.high()).isBetween(13.0, 16.0);
    assertThat(estimate.rounds()).isEqualTo(20);
  }

  @Test
  void theSameRoundsAndSeedAlwaysGiveTheSameInterval() {
    List<Double> ratios = List.of(1.21, 1.52, 1.44, 1.70, 1.38, 1.29, 1.61);

    Estimate first = Estimate.of(ratios, Estimate.seedFor("doc-write-1-writer-vs-floor"));
    Estimate again = Estimate.of(ratios, Estimate.seedFor("doc-write-1-writer-vs-floor"));

    assertThat(again).isEqualTo(first);
    // pinned: a change to the generator, the resample count or the percentile rule shows here (and in every report)
    assertThat(first.median()).isEqualTo(1.44);
    assertThat(first.low()).isCloseTo(1.29, within(1e-12));
    assertThat(first.high()).isCloseTo(1.61, within(1e-12));
  }

  @Test
  void theSeedIsTheFixedSeedMixedWithTheName() {
    assertThat(Estimate.seedFor("lease-postgresql-vs-shedlock"))
        .isEqualTo(17L * 31 + "lease-postgresql-vs-shedlock".hashCode());
  }

  @Test
  void noValuesOrNonFiniteValuesAreRejected() {
    assertThatThrownBy(() -> Estimate.of(List.of(), 1)).hasMessage("values must not be empty");
    assertThatThrownBy(() -> Estimate.of(List.of(1.0, Double.NaN), 1)).hasMessage("values must be finite: [1.0, NaN]");
    assertThatThrownBy(() -> new Estimate(1, 1.1, 1.2, 3)).hasMessage("interval must hold the median: 1.0 [1.1, 1.2]");
    assertThatThrownBy(() -> new Estimate(1, 1, 1, 0)).hasMessage("rounds must be at least 1: 0");
  }
}
