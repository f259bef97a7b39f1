package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.benchmarks.Comparison.Selector;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Each side's iterations: the sides of the steady-state classes (the JDBC and tail benchmarks) get a steady-state
 * warm-up in a full run, every other side the round's; both sides of every comparison alike; quick runs and explicit
 * iterations the same for every side.
 */
class RoundSettingsTest {
  private static final Selector LEASE_POSTGRESQL = side("LeaseBenchmark.acquireRelease", "POSTGRESQL");
  private static final Selector DOC_WRITE = new Selector("DocumentWriteBenchmark.oneWriter",
      Map.of("target", "COLLAB_FILE"));

  private static Selector side(String method, String backend) {
    return new Selector(method, Map.of("backend", backend));
  }

  /** Every side a full run measures: the comparisons' and the unpaired results'. */
  private static Set<Selector> allSides() {
    Set<Selector> sides = new LinkedHashSet<>(Comparison.ALSO_EXPECTED);
    for (Comparison c : Comparison.ALL) {
      sides.add(c.ours());
      if (c.baseline() != null) {
        sides.add(c.baseline());
      }
    }
    return sides;
  }

  @Test
  void aFullRunGivesEverySideOfTheSteadyStateClassesAtLeastASteadyStateWarmUp() {
    List<Selector> steady = allSides().stream().filter(RoundSettings.FULL::isSteadyState).toList();

    // LeaseBenchmark 3 PostgreSQL + MEMORY + FILE, TaskClaimBenchmark 5 PostgreSQL + 2 MariaDB, WorkerPoolBenchmark 2,
    // TailLatencyBenchmark MEMORY, FILE, FILE_OTHER_PROCESS, POSTGRESQL
    assertThat(steady).hasSize(18).extracting(s -> s.method().substring(0, s.method().indexOf('.')))
        .containsOnly("LeaseBenchmark", "TaskClaimBenchmark", "WorkerPoolBenchmark", "TailLatencyBenchmark");
    assertThat(steady).contains(side("TailLatencyBenchmark.appendToDelivery", "FILE"));
    assertThat(steady).allSatisfy(side -> {
      RoundSettings settings = RoundSettings.FULL.forSide(side);
      assertThat(settings.warmupIterations()).isGreaterThanOrEqualTo(8);
      assertThat(settings.warmupSeconds()).isGreaterThanOrEqualTo(3);
      assertThat(settings.measurementIterations()).isGreaterThanOrEqualTo(3);
      assertThat(settings.measurementSeconds()).isGreaterThanOrEqualTo(2);
      assertThat(settings.rounds()).isEqualTo(RoundSettings.FULL.rounds());
      assertThat(settings.quick()).isFalse();
      assertThat(settings.secondsPerSide()).isEqualTo(30);
    });
  }

  @Test
  void everyOtherSideKeepsTheRoundsSettings() {
    List<Selector> others = allSides().stream().filter(s -> !RoundSettings.FULL.isSteadyState(s)).toList();

    assertThat(others).hasSize(23).contains(DOC_WRITE).noneMatch(s -> s.method().startsWith("TailLatencyBenchmark."));
    assertThat(others).allSatisfy(side -> assertThat(RoundSettings.FULL.forSide(side)).isSameAs(RoundSettings.FULL));
    assertThat(RoundSettings.FULL.secondsPerSide()).isEqualTo(7);
  }

  @Test
  void bothSidesOfEveryComparisonGetTheSameSettings() {
    List<String> steadyComparisons = new ArrayList<>();
    for (Comparison c : Comparison.ALL) {
      if (c.baseline() == null) {
        continue;
      }
      assertThat(RoundSettings.FULL.isSteadyState(c.baseline())).as(c.name()).isEqualTo(RoundSettings.FULL.isSteadyState(c.ours()));
      assertThat(RoundSettings.FULL.forSide(c.baseline())).as(c.name())
          .isEqualTo(RoundSettings.FULL.forSide(c.ours()));
      if (RoundSettings.FULL.isSteadyState(c.ours())) {
        steadyComparisons.add(c.name());
      }
    }

    assertThat(steadyComparisons).containsExactly("lease-postgresql-vs-shedlock", "lease-postgresql-vs-floor",
        "lease-floor-vs-shedlock", "claim-complete-postgresql-vs-db-scheduler", "claim-complete-postgresql-vs-floor",
        "claim-complete-floor-vs-db-scheduler", "claim-complete-batched-floor-vs-db-scheduler",
        "claim-complete-grouped-floor-vs-db-scheduler", "workers-postgresql-vs-db-scheduler",
        "claim-complete-mariadb-vs-db-scheduler");
  }

  @Test
  void aQuickRunIsQuickForEverySide() {
    assertThat(allSides()).allSatisfy(side -> assertThat(RoundSettings.QUICK.forSide(side))
        .isEqualTo(RoundSettings.QUICK));
    RoundSettings nineRounds = RoundSettings.QUICK.withRounds(9);
    assertThat(nineRounds.forSide(LEASE_POSTGRESQL)).isEqualTo(nineRounds);
    assertThat(RoundSettings.QUICK.text())
        .isEqualTo("3 rounds; per side per round: 1 fork, warmup 1 × 1 s, measurement 1 × 1 s (--quick)");
  }

  @Test
  void explicitIterationsAreEverySidesAndTheOtherKindKeepsItsDefault() {
    RoundSettings warmup = RoundSettings.FULL.withWarmup(3, 2);
    RoundSettings measurement = RoundSettings.FULL.withMeasurement(5, 3);
    RoundSettings both = RoundSettings.FULL.withRounds(3).withWarmup(10, 3).withMeasurement(5, 3);

    assertThat(warmup.forSide(LEASE_POSTGRESQL)).isEqualTo(new RoundSettings(5, 3, 2, 3, 2, false,
        new Iterations(3, 2, 3, 2)));
    assertThat(warmup.forSide(DOC_WRITE)).isEqualTo(new RoundSettings(5, 3, 2, 3, 1, false,
        new Iterations(3, 2, 3, 2)));
    assertThat(measurement.forSide(LEASE_POSTGRESQL).iterations()).isEqualTo(new Iterations(8, 3, 5, 3));
    assertThat(measurement.forSide(DOC_WRITE).iterations()).isEqualTo(new Iterations(2, 2, 5, 3));
    assertThat(both.forSide(LEASE_POSTGRESQL).iterations()).isEqualTo(both.forSide(DOC_WRITE).iterations())
        .isEqualTo(new Iterations(10, 3, 5, 3));
    assertThat(both.forSide(LEASE_POSTGRESQL).rounds()).isEqualTo(3);
    assertThat(both.text()).isEqualTo("3 rounds; per side per round: 1 fork, warmup 10 × 3 s, measurement 5 × 3 s");
  }

  @Test
  void theReportsAndTheStartLinesTextStatesTheSteadyStateSidesIterations() {
    assertThat(RoundSettings.FULL.text()).isEqualTo("5 rounds; per side per round: 1 fork, warmup 2 × 2 s, "
        + "measurement 3 × 1 s; LeaseBenchmark, TaskClaimBenchmark, WorkerPoolBenchmark and TailLatencyBenchmark "
        + "sides: warmup 8 × 3 s, measurement 3 × 2 s");
    assertThat(RoundSettings.FULL.withRounds(1).text()).startsWith("1 round; ");
  }

  @Test
  void theUsageAndTheReportsHowToStateTheDefaultIterations() {
    Iterations steady = RoundSettings.STEADY_STATE;
    Iterations others = RoundSettings.FULL.iterations();

    assertThat(BenchmarkMain.USAGE).contains(others.warmupIterations() + " x " + others.warmupSeconds() + " s warm-up",
        steady.warmupIterations() + " x " + steady.warmupSeconds() + " s and " + steady.measurementIterations() + " x "
            + steady.measurementSeconds() + " s");
    assertThat(Report.HOW_TO.replace('\n', ' ').replaceAll(" +", " ")).contains(
        others.warmupIterations() + " × " + others.warmupSeconds() + " s warm-up, then "
            + others.measurementIterations() + " × " + others.measurementSeconds() + " s measured",
        steady.warmupIterations() + " × " + steady.warmupSeconds() + " s warm-up, then " + steady.measurementIterations()
            + " × " + steady.measurementSeconds() + " s measured");
  }

  @Test
  void badCountsAreNamed() {
    assertThatThrownBy(() -> new Iterations(8, 0, 3, 2)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("warmupSeconds must be at least 1: 0");
    assertThatThrownBy(() -> new RoundSettings(5, 2, 2, 3, 1, false, null)).isInstanceOf(NullPointerException.class)
        .hasMessage("steadySides must not be null");
    assertThatThrownBy(() -> new RoundSettings(5, 2, 2, 3, 1, false, RoundSettings.STEADY_STATE, null))
        .isInstanceOf(NullPointerException.class).hasMessage("steadyClasses must not be null");
    assertThatThrownBy(() -> new RoundSettings(5, 2, 2, 3, 1, false, RoundSettings.STEADY_STATE, List.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("steadyClasses must not be empty");
    assertThatThrownBy(() -> RoundSettings.FULL.withMeasurement(0, 1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("measurementIterations must be at least 1: 0");
  }
}
