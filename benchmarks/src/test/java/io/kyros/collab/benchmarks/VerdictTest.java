package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.benchmarks.Verdict.Outcome;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The met / missed / inconclusive rule, the rounds-to-decide estimate, and runs that are not judged. */
class VerdictTest {

  private static Verdict judge(Estimate estimate, double target) {
    return Verdict.judge(estimate, target, null);
  }

  @Test
  void metOnlyWhenTheLowEndReachesTheTarget() {
    assertThat(judge(new Estimate(1.44, 1.21, 1.70, 5), 0.9).outcome()).isEqualTo(Outcome.MET);
    assertThat(judge(new Estimate(1.44, 0.9, 1.70, 5), 0.9).outcome()).isEqualTo(Outcome.MET);
    assertThat(judge(new Estimate(1.44, 0.89, 1.70, 5), 0.9).outcome()).isEqualTo(Outcome.INCONCLUSIVE);
    assertThat(judge(new Estimate(1.44, 1.21, 1.70, 5), 0.9).text()).isEqualTo("met");
  }

  @Test
  void missedOnlyWhenTheHighEndIsBelowTheTarget() {
    assertThat(judge(new Estimate(0.7, 0.6, 0.8, 5), 0.83).outcome()).isEqualTo(Outcome.MISSED);
    assertThat(judge(new Estimate(0.7, 0.6, 0.83, 5), 0.83).outcome()).isEqualTo(Outcome.INCONCLUSIVE);
    assertThat(judge(new Estimate(0.7, 0.6, 0.8, 5), 0.83).text()).isEqualTo("missed");
  }

  @Test
  void anIntervalAcrossTheTargetIsInconclusiveWithTheRoundsThatWouldLikelyDecideIt() {
    // median 1.0 above the target 0.75 by 0.25, low half-width 0.5: (0.5 / 0.25)² × 5 = 20 rounds in all
    Verdict above = judge(new Estimate(1.0, 0.5, 1.5, 5), 0.75);
    // median 0.5 below the target 0.75 by 0.25, high half-width 0.5: 20 rounds land the high end on the target, and
    // "missed" needs it strictly below: 21
    Verdict below = judge(new Estimate(0.5, 0.25, 1.0, 5), 0.75);

    assertThat(above.outcome()).isEqualTo(Outcome.INCONCLUSIVE);
    assertThat(above.moreRounds()).isEqualTo(OptionalInt.of(15));
    assertThat(above.text()).isEqualTo("inconclusive (the interval straddles the target; ~15 more rounds)");
    assertThat(below.moreRounds()).isEqualTo(OptionalInt.of(16));
  }

  @Test
  void fewerThanFiveRoundsAreInconclusiveEvenWhenTheIntervalClearsTheTarget() {
    Verdict three = judge(new Estimate(2.0, 1.8, 2.2, 3), 1.0);

    assertThat(three.outcome()).isEqualTo(Outcome.INCONCLUSIVE);
    assertThat(three.moreRounds()).isEqualTo(OptionalInt.of(2));
    assertThat(three.text()).isEqualTo("inconclusive (3 rounds, fewer than 5; ~2 more rounds)");
  }

  @Test
  void oneRoundIsInconclusiveWithoutAnEstimate() {
    Verdict one = judge(new Estimate(2.0, Double.NaN, Double.NaN, 1), 1.0);

    assertThat(one.outcome()).isEqualTo(Outcome.INCONCLUSIVE);
    assertThat(one.moreRounds()).isEmpty();
    assertThat(one.text()).isEqualTo("inconclusive (1 round: no interval; more rounds cannot be estimated)");
  }

  @Test
  void identicalRatiosAreDecidedEitherWay() {
    assertThat(judge(new Estimate(1.0, 1.0, 1.0, 5), 1.0).outcome()).isEqualTo(Outcome.MET);
    assertThat(judge(new Estimate(0.99, 0.99, 0.99, 5), 1.0).outcome()).isEqualTo(Outcome.MISSED);
  }

  @Test
  void noEstimateWhenTheMedianSitsOnTheTargetOrTheTargetIsOutOfReach() {
    assertThat(Verdict.moreRounds(new Estimate(1.0, 0.9, 1.1, 5), 1.0)).isEmpty();
    // (0.5 / 0.01)² × 5 = 12,500 rounds: more than 1,000
    assertThat(Verdict.moreRounds(new Estimate(1.0, 0.5, 1.5, 5), 0.99)).isEmpty();
    assertThat(Verdict.moreRounds(new Estimate(1.0, Double.NaN, Double.NaN, 1), 0.5)).isEmpty();
  }

  @Test
  void aRunNotValidForTargetsIsNeverJudged() {
    Verdict quick = Verdict.judge(new Estimate(5.0, 4.0, 6.0, 9), 1.0, "--quick: not valid for targets");

    assertThat(quick.outcome()).isEqualTo(Outcome.NOT_JUDGED);
    assertThat(quick.text()).isEqualTo("not judged (--quick: not valid for targets)");
  }

  @Test
  void noTargetOrNoResult() {
    assertThat(Verdict.judge(new Estimate(5.0, 4.0, 6.0, 9), null, null).text()).isEqualTo("—");
    assertThat(Verdict.judge(null, 1.0, null).text()).isEqualTo("n/a");
    assertThat(Verdict.targetText(0.9)).isEqualTo("≥ 0.9");
    assertThat(Verdict.targetText(10.0)).isEqualTo("≥ 10");
  }
}
