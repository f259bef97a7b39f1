package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** A side's spread across rounds: median, extremes, coefficient of variation. */
class SpreadTest {

  @Test
  void coefficientOfVariationIsTheSampleDeviationOverTheMean() {
    // mean 1650, squared deviations sum to 1,450,000: sample deviation sqrt(362,500) = 602.1, CV 36.5 %
    Spread spread = Spread.of(List.of(2000.0, 1000.0, 1500.0, 2500.0, 1250.0));

    assertThat(spread.median()).isEqualTo(1500);
    assertThat(spread.min()).isEqualTo(1000);
    assertThat(spread.max()).isEqualTo(2500);
    assertThat(spread.cv()).isCloseTo(Math.sqrt(362_500) / 1650, within(1e-12));
    assertThat(spread.cvText()).isEqualTo("36 %");
    assertThat(spread.count()).isEqualTo(5);
  }

  @Test
  void oneValueHasNoVariationToSpeakOfAndIdenticalValuesHaveNone() {
    assertThat(Spread.of(List.of(7.0)).cvText()).isEqualTo("n/a");
    assertThat(Spread.of(List.of(7.0, 7.0, 7.0)).cv()).isZero();
    assertThatThrownBy(() -> Spread.of(List.of())).hasMessage("values must not be empty");
  }
}
