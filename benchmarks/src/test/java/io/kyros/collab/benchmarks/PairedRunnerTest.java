package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.benchmarks.Comparison.Selector;
import io.kyros.collab.benchmarks.PairedResults.Round;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The paired runner on canned sides: round order, per-round pairing, each side's iterations, load samples, failures,
 * the file, the budget, the expected duration.
 */
class PairedRunnerTest {
  private static final Comparison DOC = comparison("doc-write-1-writer-vs-floor");
  private static final Comparison TAIL = comparison("tail-p99-memory-vs-1ms");
  private static final Comparison LEASE = comparison("lease-postgresql-vs-shedlock");
  private static final Comparison WORKERS = comparison("workers-postgresql-vs-db-scheduler");
  private static final Duration PER_SIDE = Duration.ofSeconds(10);

  @TempDir
  Path dir;

  private final SteppingClock clock = new SteppingClock(Instant.parse("2026-12-02T03:00:00Z"));
  private final List<Selector> calls = new ArrayList<>();
  private final Map<Selector, List<RoundSettings>> given = new HashMap<>();
  private final Map<Selector, Integer> seen = new HashMap<>();
  private final ByteArrayOutputStream progress = new ByteArrayOutputStream();
  private double load = 0.5;

  private static Comparison comparison(String name) {
    return Comparison.ALL.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
  }

  /** A side runner answering {@code score(side, nth measurement of that side)}, taking 10 s of the test clock. */
  private SideRunner sides(BiFunction<Selector, Integer, Optional<JsonNode>> score) {
    return (side, settings) -> {
      calls.add(side);
      given.computeIfAbsent(side, s -> new ArrayList<>()).add(settings);
      int nth = seen.merge(side, 1, Integer::sum) - 1;
      clock.advance(PER_SIDE);
      return score.apply(side, nth).map(List::of).orElse(List.of());
    };
  }

  private PairedRunner runner(SideRunner sides) {
    return new PairedRunner(sides, clock, () -> {
      load += 0.25;
      return Optional.of(new LoadAverage(load, 1, 2));
    }, new PrintStream(progress, true, StandardCharsets.UTF_8));
  }

  private PairedResults run(SideRunner sides, List<String> includes, int rounds, Optional<Duration> budget)
      throws IOException {
    Plan plan = Plan.of(Comparison.ALL, List.of(), includes);
    return runner(sides).run(plan, RoundSettings.FULL.withRounds(rounds), "java -jar benchmarks.jar", 2,
        dir.resolve("rounds.json"), budget);
  }

  @Test
  void theSidesOfAComparisonAlternateRoundByRound() throws IOException {
    run(sides((side, nth) -> Optional.of(JmhEntries.throughput(side, 1000))), List.of("^doc-write-1-writer"), 4,
        Optional.empty());

    assertThat(calls).containsExactly(DOC.ours(), DOC.baseline(), DOC.baseline(), DOC.ours(), DOC.ours(),
        DOC.baseline(), DOC.baseline(), DOC.ours());
  }

  @Test
  void eachRoundsRatioPairsTheSidesOfThatRoundSoACommonDriftCancels() throws IOException {
    // the machine slows down and speeds up between rounds by up to 2x; Collab stays 1.5x the floor within each round
    double[] drift = {1.0, 0.5, 0.75, 1.25, 0.625};
    PairedResults results = run(sides((side, nth) -> Optional.of(JmhEntries.throughput(side,
        (side.equals(DOC.ours()) ? 3000 : 2000) * drift[nth]))), List.of("^doc-write-1-writer"), 5, Optional.empty());

    assertThat(DOC.roundRatios(results.rounds())).containsExactly(1.5, 1.5, 1.5, 1.5, 1.5);
    assertThat(DOC.estimate(results.rounds())).contains(new Estimate(1.5, 1.5, 1.5, 5));
    assertThat(results.rounds()).extracting(r -> DOC.baseline().find(r.results()).orElseThrow().opsPerSecond())
        .containsExactly(2000.0, 1000.0, 1500.0, 2500.0, 1250.0);
  }

  @Test
  void theLoadIsSampledBeforeAndAfterEveryRoundAndEachRoundIsTimed() throws IOException {
    PairedResults results = run(sides((side, nth) -> Optional.of(JmhEntries.throughput(side, 1000))),
        List.of("^doc-write-1-writer"), 2, Optional.empty());

    Round first = results.rounds().get(0);
    Round second = results.rounds().get(1);
    assertThat(first.loadBefore()).contains(new LoadAverage(0.75, 1, 2));
    assertThat(first.loadAfter()).contains(new LoadAverage(1.0, 1, 2));
    assertThat(second.loadBefore()).contains(new LoadAverage(1.25, 1, 2));
    assertThat(first.started()).isEqualTo(Instant.parse("2026-12-02T03:00:00Z"));
    assertThat(first.took()).isEqualTo(Duration.ofSeconds(20));
    assertThat(second.number()).isEqualTo(2);
  }

  @Test
  void aSideWithoutAResultInTheFirstRoundIsNotRetried() throws IOException {
    PairedResults results = run(sides((side, nth) -> side.equals(DOC.baseline()) ? Optional.empty()
        : Optional.of(JmhEntries.throughput(side, 1000))), List.of("^doc-write-1-writer"), 3, Optional.empty());

    assertThat(calls).containsExactly(DOC.ours(), DOC.baseline(), DOC.ours(), DOC.ours());
    assertThat(results.rounds()).allSatisfy(r -> assertThat(r.results()).hasSize(1));
    assertThat(DOC.estimate(results.rounds())).isEmpty();
    assertThat(progress.toString(StandardCharsets.UTF_8))
        .contains("round 1/3 [2/2] DocumentWriteBenchmark.oneWriter target=RAW_FLOOR: no result (10.0 s)")
        .contains("gave no result in the first round: not retried");
  }

  @Test
  void theFileWrittenReadsBackAsTheSameRounds() throws IOException {
    PairedResults results = run(sides((side, nth) -> Optional.of(JmhEntries.throughput(side, 1000 + nth))),
        List.of("^doc-write-1-writer"), 3, Optional.empty());

    PairedResults read = PairedResults.read(dir.resolve("rounds.json"));

    assertThat(read.settings()).contains(RoundSettings.FULL.withRounds(3));
    assertThat(read.command()).isEqualTo("java -jar benchmarks.jar");
    assertThat(read.cores()).isEqualTo(2);
    assertThat(read.rounds()).isEqualTo(results.rounds());
    assertThat(DOC.estimate(read.rounds())).isEqualTo(DOC.estimate(results.rounds()));
  }

  @Test
  void aBudgetAddsRoundsOfOnlyTheInconclusiveGroupsWhileTheyFit() throws IOException {
    // doc-write straddles its 0.9 target (0.8, 1.0, 0.85, ...); the memory tail's p99 of 100 us clears 1 ms every time
    double[] ratios = {0.8, 1.0, 0.85};
    SideRunner sides = sides((side, nth) -> Optional.of(side.equals(TAIL.ours()) ? JmhEntries.sample(side, 100)
        : JmhEntries.throughput(side, side.equals(DOC.ours()) ? 2000 * ratios[nth % 3] : 2000)));

    // 5 rounds of 3 sides at 10 s: 150 s; one more round of the 2 doc-write sides fits in 180 s, a second does not
    PairedResults results = run(sides, List.of("^doc-write-1-writer", "tail-p99-memory"), 5,
        Optional.of(Duration.ofMinutes(3)));

    assertThat(results.rounds()).hasSize(6);
    assertThat(results.rounds().get(5).results()).extracting(JmhResult::shortName)
        .containsExactly("DocumentWriteBenchmark.oneWriter", "DocumentWriteBenchmark.oneWriter");
    assertThat(calls.subList(15, 17)).containsExactly(DOC.baseline(), DOC.ours()); // round 6 is odd: reversed
    assertThat(TAIL.roundRatios(results.rounds())).hasSize(5);
    assertThat(DOC.roundRatios(results.rounds())).hasSize(6);
    assertThat(progress.toString(StandardCharsets.UTF_8)).contains("round 6/5+ [1/2]", "budget: no time for another round");
  }

  @Test
  void theSteadyStateClassesSidesRunWithTheLongerIterationsAndTheOthersWithTheRounds() throws IOException {
    RoundSettings settings = RoundSettings.FULL.withRounds(2);
    RoundSettings longer = new RoundSettings(2, 8, 3, 3, 2, false, RoundSettings.STEADY_STATE);

    run(sides((side, nth) -> Optional.of(side.equals(TAIL.ours()) ? JmhEntries.sample(side, 100)
            : JmhEntries.throughput(side, 1000))),
        List.of("^doc-write-1-writer", "^lease-postgresql-vs-shedlock", "^workers-postgresql", "^tail-p99-memory"), 2,
        Optional.empty());

    assertThat(given).containsOnlyKeys(DOC.ours(), DOC.baseline(), LEASE.ours(), LEASE.baseline(), WORKERS.ours(),
        WORKERS.baseline(), TAIL.ours());
    assertThat(given.get(DOC.ours())).containsExactly(settings, settings);
    assertThat(given.get(DOC.baseline())).containsExactly(settings, settings);
    assertThat(List.of(LEASE.ours(), LEASE.baseline(), WORKERS.ours(), WORKERS.baseline(), TAIL.ours()))
        .allSatisfy(side -> assertThat(given.get(side)).containsExactly(longer, longer));
  }

  @Test
  void aQuickRunIsQuickForEverySide() throws IOException {
    Plan plan = Plan.of(Comparison.ALL, Comparison.ALSO_EXPECTED, List.of("^lease-postgresql-vs-shedlock",
        "^doc-write-1-writer", "LeaseBenchmark.acquireRelease backend=MEMORY"));

    runner(sides((side, nth) -> Optional.of(JmhEntries.throughput(side, 1000))))
        .run(plan, RoundSettings.QUICK, "quick", 2, dir.resolve("quick.json"), Optional.empty());

    assertThat(given).hasSize(5).allSatisfy((side, settings) ->
        assertThat(settings).hasSize(side.params().containsValue("MEMORY") ? 1 : 3).containsOnly(RoundSettings.QUICK));
  }

  @Test
  void theFullSuiteIsExpectedToTakeAbout57Minutes() {
    Plan all = Plan.of(Comparison.ALL, Comparison.ALSO_EXPECTED, List.of());
    long steady = all.order(0, all.allGroups()).stream().filter(RoundSettings.FULL::isSteadyState).count();
    long steadyUnpaired = all.unpaired().stream().filter(RoundSettings.FULL::isSteadyState).count();

    // a round: 20 sides of 4 s warm-up + 3 s measured + 2 s JVM start and setup, 15 sides (11 JDBC, 4 tail) of
    // 24 + 6 + 2 s
    assertThat(all.sidesPerRound()).isEqualTo(35);
    assertThat(steady).isEqualTo(15);
    assertThat(steadyUnpaired).isEqualTo(3);
    // 5 rounds of 20 x 9 s + 15 x 32 s, then 6 unpaired: 3 x 9 s + 3 x 32 s (LeaseBenchmark MEMORY and FILE,
    // WorkerPoolBenchmark COLLAB_FILE): 3,423 s, printed as 57 min
    assertThat(PairedRunner.expected(all, RoundSettings.FULL))
        .isEqualTo(Duration.ofSeconds(5 * (20 * 9 + 15 * 32) + 3 * 9 + 3 * 32)).isEqualTo(Duration.ofSeconds(3423));
    assertThat(PairedRunner.expected(all, RoundSettings.FULL).toMinutes()).isEqualTo(57);
    // (35 x 3 + 6) x (1 + 1 + 2): quick runs are quick for every side
    assertThat(PairedRunner.expected(all, RoundSettings.QUICK)).isEqualTo(Duration.ofSeconds(111 * 4));
  }

  @Test
  void theExpectedDurationCountsEachSideWithItsOwnIterations() {
    Plan lease = Plan.of(Comparison.ALL, List.of(), List.of("^lease-postgresql-vs-shedlock"));
    Plan doc = Plan.of(Comparison.ALL, List.of(), List.of("^doc-write-1-writer"));

    // 2 sides x 5 rounds x (30 s + 2 s) against 2 x 5 x (7 s + 2 s)
    assertThat(PairedRunner.expected(lease, RoundSettings.FULL)).isEqualTo(Duration.ofSeconds(320));
    assertThat(PairedRunner.expected(doc, RoundSettings.FULL)).isEqualTo(Duration.ofSeconds(90));
    // explicit iterations are every side's: 2 x 5 x (10 x 3 s + 5 x 3 s + 2 s)
    assertThat(PairedRunner.expected(lease, RoundSettings.FULL.withWarmup(10, 3).withMeasurement(5, 3)))
        .isEqualTo(Duration.ofSeconds(470));
  }

  @Test
  void noBudgetRoundsForARunNotValidForTargets() throws IOException {
    Plan plan = Plan.of(Comparison.ALL, List.of(), List.of("^doc-write-1-writer"));
    double[] ratios = {0.8, 1.0};
    PairedResults results = runner(sides((side, nth) -> Optional.of(
        JmhEntries.throughput(side, side.equals(DOC.ours()) ? 2000 * ratios[nth % 2] : 2000))))
        .run(plan, RoundSettings.QUICK, "quick", 2, dir.resolve("quick.json"), Optional.of(Duration.ofHours(1)));

    assertThat(results.rounds()).hasSize(RoundSettings.QUICK.rounds());
    assertThat(plan.order(0, Set.of())).isEmpty();
  }
}
