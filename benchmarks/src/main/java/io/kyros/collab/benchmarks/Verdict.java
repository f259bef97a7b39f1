package io.kyros.collab.benchmarks;

import java.math.BigDecimal;
import java.util.OptionalInt;

/**
 * Whether a comparison reached its target, judged on its interval: {@link Outcome#MET} only when the interval's low
 * end reaches the target, {@link Outcome#MISSED} when its high end is below it, {@link Outcome#INCONCLUSIVE} otherwise
 * (then {@link #moreRounds} estimates how many more rounds would likely decide it). A run that is not valid for targets
 * ({@code --quick}, a short warm-up, a sequential run) is never judged, and fewer than {@value #MIN_ROUNDS} rounds are
 * always inconclusive: the percentile bootstrap of a median from so few rounds reduces to the rounds' extremes, whose
 * coverage (1 − 2<sup>1−n</sup>: 75 % at 3 rounds) falls well short of 95 %.
 *
 * <p>Immutable and thread-safe.
 *
 * @param outcome the outcome
 * @param detail why, in a few words for the report (empty for met and missed)
 * @param moreRounds for an inconclusive outcome, the estimated number of further rounds that would decide it, when
 *     one can be given
 */
record Verdict(Outcome outcome, String detail, OptionalInt moreRounds) {

  /** Rounds below which no target is judged met or missed. */
  static final int MIN_ROUNDS = 5;
  /** Estimates above this many rounds in all are reported as out of reach. */
  static final int MAX_ROUNDS = 1_000;

  /** The outcomes. */
  enum Outcome {
    /** The interval's low end reaches the target. */
    MET,
    /** The interval's high end is below the target. */
    MISSED,
    /** The interval straddles the target, or too few rounds. */
    INCONCLUSIVE,
    /** The run is not valid for targets (quick, short warm-up, not paired). */
    NOT_JUDGED,
    /** The comparison has no target. */
    NO_TARGET,
    /** A side is missing: nothing to judge. */
    NO_RESULT
  }

  /**
   * @param outcome the outcome
   * @param detail why, possibly empty
   * @param moreRounds the further rounds estimate, empty when none
   * @throws NullPointerException if an argument is null
   */
  Verdict {
    if (outcome == null || detail == null || moreRounds == null) {
      throw new NullPointerException("outcome, detail and moreRounds must not be null");
    }
  }

  /**
   * Judges an estimate against a target.
   *
   * @param estimate the comparison's estimate, or {@code null} when a side is missing
   * @param target the target, or {@code null} for none
   * @param notValidBecause why the run is not valid for targets, or {@code null} when it is
   * @return the verdict
   */
  static Verdict judge(Estimate estimate, Double target, String notValidBecause) {
    if (target == null) {
      return new Verdict(Outcome.NO_TARGET, "", OptionalInt.empty());
    }
    if (estimate == null) {
      return new Verdict(Outcome.NO_RESULT, "", OptionalInt.empty());
    }
    if (notValidBecause != null) {
      return new Verdict(Outcome.NOT_JUDGED, notValidBecause, OptionalInt.empty());
    }
    boolean decided = estimate.hasInterval() && (estimate.low() >= target || estimate.high() < target);
    if (decided && estimate.rounds() >= MIN_ROUNDS) {
      return new Verdict(estimate.low() >= target ? Outcome.MET : Outcome.MISSED, "", OptionalInt.empty());
    }
    OptionalInt more = moreRounds(estimate, target);
    String why;
    if (!estimate.hasInterval()) {
      why = "1 round: no interval";
    } else if (estimate.rounds() < MIN_ROUNDS) {
      why = estimate.rounds() + " rounds, fewer than " + MIN_ROUNDS;
    } else {
      why = "the interval straddles the target";
    }
    return new Verdict(Outcome.INCONCLUSIVE, why, more);
  }

  /**
   * Estimates how many more rounds would likely decide a target, assuming the median stays where it is and the
   * interval's half-width on the target's side shrinks as 1/√n: with n rounds, half-width w and distance d from the
   * median to the target, about n·(w/d)² rounds put the interval's end past the target. At least
   * {@value #MIN_ROUNDS} rounds in all, and one more than now.
   *
   * @param estimate the estimate
   * @param target the target
   * @return the further rounds, or empty when no count would do (the median sits on the target, one round gives no
   *     width to scale, or it would take more than {@value #MAX_ROUNDS} rounds in all)
   */
  static OptionalInt moreRounds(Estimate estimate, double target) {
    int n = estimate.rounds();
    if (!estimate.hasInterval()) {
      return OptionalInt.empty();
    }
    double distance = Math.abs(estimate.median() - target);
    if (distance == 0) {
      return OptionalInt.empty();
    }
    double halfWidth = estimate.median() > target
        ? estimate.median() - estimate.low()
        : estimate.high() - estimate.median();
    double needed = halfWidth < distance ? n : n * Math.pow(halfWidth / distance, 2);
    if (needed > MAX_ROUNDS) {
      return OptionalInt.empty();
    }
    int total = (int) Math.ceil(needed);
    if (total == needed && halfWidth >= distance && estimate.median() < target) {
      total++; // "missed" needs the high end strictly below the target: landing on it is not enough
    }
    total = Math.max(total, Math.max(MIN_ROUNDS, n + 1));
    return OptionalInt.of(total - n);
  }

  /**
   * @return the verdict as the report's table writes it: {@code met}, {@code missed},
   *     {@code inconclusive (…; ~4 more rounds)}, {@code not judged (…)}, {@code —} without a target, {@code n/a}
   *     without a result
   */
  String text() {
    return switch (outcome) {
      case MET -> "met";
      case MISSED -> "missed";
      case NO_TARGET -> "—";
      case NO_RESULT -> "n/a";
      case NOT_JUDGED -> "not judged (" + detail + ")";
      case INCONCLUSIVE -> "inconclusive (" + detail + "; " + (moreRounds.isPresent()
          ? "~" + moreRounds.getAsInt() + " more " + (moreRounds.getAsInt() == 1 ? "round" : "rounds")
          : "more rounds cannot be estimated") + ")";
    };
  }

  /**
   * @param target a target
   * @return it as the report writes targets: {@code ≥ 0.9}
   */
  static String targetText(double target) {
    return "≥ " + BigDecimal.valueOf(target).stripTrailingZeros().toPlainString();
  }
}
