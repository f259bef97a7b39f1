package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.benchmarks.Comparison.Selector;
import io.kyros.collab.benchmarks.PairedResults.Round;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report: on a paired run made by hand (intervals, verdicts, the machine during the run, reproducibility from the
 * file) and on a plain JMH result file (one unpaired round: no intervals, not judged), plus bad input.
 */
class ReportTest {
  private static final Instant WHEN = Instant.parse("2026-11-21T16:00:00Z");

  @TempDir
  Path dir;

  private static Path sample() throws URISyntaxException {
    return Path.of(ReportTest.class.getResource("/jmh-sample.json").toURI());
  }

  private static Comparison comparison(String name) {
    return Comparison.ALL.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
  }

  private static Report report(PairedResults results) {
    return new Report(results, new Report.Run("rounds.json", WHEN, WHEN),
        new Machine(List.of(new Machine.Fact("CPU", "Test CPU, 2 cores"))));
  }

  /**
   * Five rounds: the document-write floor drifts 2.5x across them while Collab's ratio to it is 1.21 .. 1.70; the lease
   * ratio stays under 1; the 100,000-document ratio straddles its 0.83 target; the memory tail's p99 is 100 us.
   */
  private static PairedResults paired(RoundSettings settings) {
    double[] floor = {2000, 1000, 1500, 2500, 1250};
    double[] docRatio = {1.21, 1.44, 1.70, 1.38, 1.52};
    double[] leaseRatio = {0.60, 0.70, 0.65, 0.69, 0.72};
    double[] scaleRatio = {0.79, 0.90, 0.75, 0.85, 0.80};
    Comparison doc = comparison("doc-write-1-writer-vs-floor");
    Comparison lease = comparison("lease-postgresql-vs-shedlock");
    Comparison scale = comparison("doc-write-100000-vs-10-documents");
    Selector tail = comparison("tail-p99-memory-vs-1ms").ours();
    List<Round> rounds = new ArrayList<>();
    for (int r = 0; r < 5; r++) {
      List<JsonNode> entries = List.of(
          JmhEntries.throughput(doc.ours(), floor[r] * docRatio[r]), JmhEntries.throughput(doc.baseline(), floor[r]),
          JmhEntries.throughput(lease.ours(), 1000 * leaseRatio[r]), JmhEntries.throughput(lease.baseline(), 1000),
          JmhEntries.throughput(scale.ours(), 1000 * scaleRatio[r]), JmhEntries.throughput(scale.baseline(), 1000),
          JmhEntries.sample(tail, 100));
      Instant started = WHEN.plusSeconds(200L * r);
      rounds.add(new Round(r + 1, started, started.plusSeconds(190), Optional.of(new LoadAverage(1.5 + r, 1, 1)),
          Optional.of(new LoadAverage(1.75 + r, 1, 1)), entries));
    }
    return new PairedResults(Optional.of(settings), "java -jar benchmarks/target/benchmarks.jar", 2, rounds,
        List.of(JmhEntries.throughput(new Selector("LeaseBenchmark.acquireRelease",
            java.util.Map.of("backend", "MEMORY")), 50000)));
  }

  @Test
  void ratioLinesGiveTheMedianOfTheRoundsWithItsInterval() {
    List<String> lines = report(paired(RoundSettings.FULL)).ratioLines();

    assertThat(lines).hasSize(Comparison.ALL.size())
        .contains("ratio doc-write-1-writer-vs-floor 1.44 [1.21, 1.70]")
        .contains("ratio lease-postgresql-vs-shedlock 0.69 [0.60, 0.72]")
        .contains("ratio doc-write-100000-vs-10-documents 0.80 [0.75, 0.90]")
        .contains("ratio tail-p99-memory-vs-1ms 10.00 [10.00, 10.00]")
        .contains("ratio append-1-appender-vs-floor n/a");
  }

  @Test
  void comparisonsTableShowsIntervalsRoundsAndVerdicts() {
    String md = report(paired(RoundSettings.FULL)).markdown();

    assertThat(md)
        .contains("| Comparison | What | Collab | Baseline | Unit | Ratio [95 % interval] | Rounds | Target | Verdict |")
        // the sides' medians: Collab 2420, 1440, 2550, 3450, 1900 -> 2420; the floor 1500
        .contains("| doc-write-1-writer-vs-floor | durable 1 KB document replace, 1 writer: Collab file vs raw "
            + "temp+fsync+rename floor | 2420 | 1500 | ops/s | 1.44 [1.21, 1.70] | 5 | ≥ 0.9 | met |")
        .contains("| 690 | 1000 | ops/s | 0.69 [0.60, 0.72] | 5 | ≥ 1 | missed |")
        .contains("| 800 | 1000 | ops/s | 0.80 [0.75, 0.90] | 5 | ≥ 0.83 | inconclusive (the interval straddles the "
            + "target; ~51 more rounds) |")
        .contains("| 0.100 | 1.00 (constant) | ms (p99) | 10.00 [10.00, 10.00] | 5 | ≥ 1 | met |")
        .contains("| not run | not run | ops/s | n/a | 0 | ≥ 10 | n/a |")
        .contains("| not run | not run | ops/s | n/a | 0 | — | — |");
  }

  @Test
  void aQuickRunIsLabelledNotValidForTargetsAndJudgesNothing() {
    Report report = report(paired(RoundSettings.QUICK.withRounds(5)));
    String md = report.markdown();

    assertThat(md).contains("- Targets: **not judged** (--quick: not valid for targets)")
        .contains("| 1.44 [1.21, 1.70] | 5 | ≥ 0.9 | not judged (--quick: not valid for targets) |")
        .doesNotContain("| met |", "| missed |", "| inconclusive");
    assertThat(Comparison.ALL).filteredOn(c -> c.target() != null).allSatisfy(c ->
        assertThat(report.verdict(c).outcome()).isIn(Verdict.Outcome.NOT_JUDGED, Verdict.Outcome.NO_RESULT));
  }

  @Test
  void theMachineDuringTheRunShowsTheLoadAndTheFloorsSpread() {
    String md = report(paired(RoundSettings.FULL)).markdown();

    assertThat(md)
        .contains("## The machine during the run")
        .contains("- Load average (1 minute), before and after each round: 1.50 to 5.75, median 3.63, on 2 cores: "
            + "above the core count, other work competed with the benchmarks.")
        .contains("- Raw floor `DocumentWriteBenchmark.oneWriter target=RAW_FLOOR`: median 1500 ops/s, 1000 to 2500 "
            + "across 5 rounds, CV 36 %")
        .contains("| Round | Started | Took | Load before (1 / 5 / 15 min) | Load after | DocumentWriteBenchmark.oneWriter "
            + "target=RAW_FLOOR (ops/s) |\n")
        .contains("| 2 | 2026-11-21 16:03:20 UTC | 190 s | 2.50 / 1.00 / 1.00 | 2.75 / 1.00 / 1.00 | 1000 |\n")
        .contains("- Kind: paired rounds, 5 rounds; per side per round: 1 fork, warmup 2 × 2 s, measurement 3 × 1 s; "
            + "LeaseBenchmark, TaskClaimBenchmark, WorkerPoolBenchmark and TailLatencyBenchmark sides: warmup 8 × 3 s, "
            + "measurement 3 × 2 s\n")
        .contains("- Targets: judged on the intervals (at least 5 rounds)")
        .contains("- Took: 0 min 0 s"); // the hand-made file was "written" when the first round started
  }

  @Test
  void aRunOfFewerThanFiveRoundsSaysEveryTargetIsInconclusive() {
    PairedResults five = paired(RoundSettings.FULL);
    PairedResults three = new PairedResults(five.settings(), five.command(), 2, five.rounds().subList(0, 3), List.of());

    assertThat(report(three).markdown())
        .contains("- Targets: judged on the intervals (at least 5 rounds); this run has 3: every target is inconclusive")
        .contains("| 1.44 [1.21, 1.70] | 3 | ≥ 0.9 | inconclusive (3 rounds, fewer than 5; ~2 more rounds) |");
  }

  @Test
  void allResultsShowEachSideOnceWithItsSpreadAcrossRounds() {
    String md = report(paired(RoundSettings.FULL)).markdown();

    assertThat(md)
        .contains("| Benchmark | Params | Mode | Threads | Rounds | Score | Spread | Unit | Alloc B/op | p50 | p99 | Counters |")
        .contains("| DocumentWriteBenchmark.oneWriter | target=RAW_FLOOR | thrpt | 1 | 5 | 1500 | 1000 – 2500, CV 36 % "
            + "| ops/s |")
        .contains("| TailLatencyBenchmark.appendToDelivery | backend=MEMORY | sample | 1 | 5 | 50.0 | 50.0 – 50.0, CV 0 % "
            + "| us/op |  | 50.0 | 100 |  |")
        .contains("| LeaseBenchmark.acquireRelease | backend=MEMORY | thrpt | 1 | 1 | 50000 | ± 500 | ops/s |")
        .contains("- `LeaseBenchmark.acquireRelease backend=FILE`: not run")
        .doesNotContain("`LeaseBenchmark.acquireRelease backend=MEMORY`: not run");
  }

  @Test
  void theReportIsReproducibleFromTheResultsFile() throws IOException {
    PairedResults results = paired(RoundSettings.FULL);
    Path file = dir.resolve("rounds.json");
    results.write(file);

    PairedResults read = PairedResults.read(file);

    assertThat(report(read).markdown()).isEqualTo(report(results).markdown());
    assertThat(report(read).ratioLines()).isEqualTo(report(results).ratioLines());
  }

  @Test
  void aPlainJmhFileIsOneUnpairedRoundWithoutIntervalsAndNotJudged() throws Exception {
    Report report = report(PairedResults.read(sample()));

    assertThat(report.ratioLines()).containsExactly(
        "ratio doc-write-1-writer-vs-floor 0.95 [no interval: 1 round]", // 950 ops/s vs 1 ops/ms
        "ratio doc-write-16-writers-vs-floor n/a",
        "ratio doc-write-16-writers-vs-floor-16-threads n/a",
        "ratio append-1-appender-vs-floor n/a",
        "ratio append-16-appenders-vs-floor n/a", // the floor did not run
        "ratio append-16-appenders-vs-floor-16-threads n/a",
        "ratio append-1-appender-vs-sqlite n/a",
        "ratio append-1-appender-vs-h2 n/a",
        "ratio append-16-appenders-vs-sqlite 4.80 [no interval: 1 round]", // 12,000 ops/s vs 2.5 ops/ms
        "ratio append-16-appenders-vs-h2 n/a",
        "ratio lease-postgresql-vs-shedlock 2.00 [no interval: 1 round]", // 500 us/op is 2,000 ops/s vs 1,000 ops/s
        "ratio lease-postgresql-vs-floor n/a",
        "ratio lease-floor-vs-shedlock n/a",
        "ratio claim-complete-postgresql-vs-db-scheduler n/a",
        "ratio claim-complete-postgresql-vs-floor n/a",
        "ratio claim-complete-floor-vs-db-scheduler n/a",
        "ratio claim-complete-batched-floor-vs-db-scheduler n/a",
        "ratio claim-complete-grouped-floor-vs-db-scheduler n/a",
        "ratio workers-postgresql-vs-db-scheduler n/a",
        "ratio claim-complete-mariadb-vs-db-scheduler n/a",
        "ratio doc-write-100000-vs-10-documents 0.90 [no interval: 1 round]", // 0.9 ops/ms vs 1,000 ops/s
        "ratio claim-scale-memory n/a",
        "ratio claim-scale-file n/a",
        "ratio claim-scale-postgresql n/a",
        "ratio tail-p99-memory-vs-1ms 2.50 [no interval: 1 round]", // p99 400 us
        "ratio tail-p99-file-vs-1ms 0.40 [no interval: 1 round]", // p99 2.5 ms
        "ratio tail-p99-file-other-process-vs-1ms n/a",
        "ratio tail-p99-postgresql-vs-1ms n/a");
    assertThat(report.markdown())
        .contains("- Kind: a plain JMH result file: one run of each benchmark, not paired: no intervals\n")
        .contains("- Targets: **not judged** (a plain JMH run, not paired)")
        .contains("| 950 | 1000 | ops/s | 0.95 [no interval: 1 round] | 1 | ≥ 0.9 | not judged (a plain JMH run, "
            + "not paired) |")
        .contains("Not recorded: a plain JMH result file has no rounds.");
  }

  @Test
  void aPlainJmhFileStillShowsEveryResultAndWhatIsMissing() throws Exception {
    String md = report(PairedResults.read(sample())).markdown();

    assertThat(md)
        .startsWith("# Collab benchmarks\n")
        .contains("## How to run", "java -jar benchmarks/target/benchmarks.jar --quick", "--budget 90",
            "--report benchmarks/target/benchmark-rounds.json", "-Dcollab.bench.dir=", "--rounds 8 doc-write",
            "--warmup 10x3 --measurement 5x3")
        .contains("- Command: `unknown (a plain JMH result file)`")
        .contains("- Iterations as JMH recorded them: warmup 3 × 2 s, measurement 5 × 3 s, 1 fork")
        .contains("- Results: `rounds.json` (12 results), written 2026-11-21 16:00:00 UTC")
        .contains("| CPU | Test CPU, 2 cores |")
        .contains("| JDK of the run | 17.0.15 OpenJDK 64-Bit Server VM 17.0.15+6 |")
        .contains("| ETagBenchmark.canonicalJsonAndSha256 | size=1024 | avgt | 1 | 1 | 12.3 | ± 0.560 | us/op | 54343 |  |  |  |")
        .contains("| EventAppendBenchmark.sixteenAppenders | target=SQLITE | thrpt | 16 | 1 | 2.50 | ± 0.100 | ops/ms |")
        .contains("| TailLatencyBenchmark.appendToDelivery | backend=MEMORY | sample | 1 | 1 | 150 | ± 5.00 | us/op |  | 120 | 400 |  |")
        // 1,500 MiB summed over 5 measurement iterations
        .contains("| LargeLogBenchmark.read100 |  | avgt | 1 | 1 | 35.5 | ± 1.50 | us/op |  |  |  | heapUsedMiB 300 |")
        .contains("- `EventAppendBenchmark.sixteenAppenders target=RAW_FLOOR`: not run")
        .contains("- `TaskClaimBenchmark.claimAndComplete backend=COLLAB_POSTGRESQL`: not run")
        .contains("- `ETagBenchmark.canonicalJsonAndSha256 size=65536`: not run")
        .doesNotContain("`LargeLogBenchmark.read100`: not run")
        .doesNotContain("`EventAppendBenchmark.sixteenAppenders target=COLLAB_FILE`");
  }

  @Test
  void noRoundsAtAllGiveNotAvailableEverywhere() {
    Report report = report(new PairedResults(Optional.of(RoundSettings.FULL), "java", 2, List.of(), List.of()));

    assertThat(report.ratioLines()).hasSize(Comparison.ALL.size()).allMatch(line -> line.endsWith(" n/a"));
    assertThat(report.markdown()).contains("- Iterations as JMH recorded them: none (no results)",
        "| JDK of the run | unknown (no results) |");
  }

  @Test
  void aSampleTimeResultWithoutPercentilesIsReportedAsGivingNoP99() throws Exception {
    Path json = dir.resolve("avgt-tail.json");
    Files.writeString(json, """
        [{"benchmark": "io.kyros.collab.benchmarks.TailLatencyBenchmark.appendToDelivery", "mode": "avgt",
          "params": {"backend": "MEMORY"}, "primaryMetric": {"score": 0.5, "scoreError": "NaN", "scoreUnit": "ms/op"}}]
        """);
    Report report = report(PairedResults.read(json));

    assertThat(report.ratioLines()).contains("ratio tail-p99-memory-vs-1ms n/a");
    assertThat(report.markdown())
        .contains("- `TailLatencyBenchmark.appendToDelivery backend=MEMORY`: ran (mode avgt, ms/op) but gives no "
            + "ms (p99) for tail-p99-memory-vs-1ms");
  }

  @Test
  void badInputIsNamedInTheError() throws IOException {
    Path missing = dir.resolve("nothing.json");
    Path notJson = Files.writeString(dir.resolve("broken.json"), "[{\"benchmark\": ");
    Path notArray = Files.writeString(dir.resolve("object.json"), "{\"benchmark\": \"x\"}");
    Path noScore = Files.writeString(dir.resolve("noscore.json"),
        "[{\"benchmark\": \"a.B.c\", \"mode\": \"thrpt\", \"primaryMetric\": {\"scoreUnit\": \"ops/s\"}}]");
    Path badRound = Files.writeString(dir.resolve("badround.json"), "{\"format\": \"" + PairedResults.FORMAT
        + "\", \"settings\": {\"rounds\": 0, \"warmupIterations\": 2, \"warmupSeconds\": 2, "
        + "\"measurementIterations\": 3, \"measurementSeconds\": 1}, \"rounds\": [], \"unpaired\": []}");

    assertThatThrownBy(() -> PairedResults.read(missing)).hasMessageContaining("no result file at " + missing);
    assertThatThrownBy(() -> PairedResults.read(notJson)).hasMessageContaining("not JSON: " + notJson);
    assertThatThrownBy(() -> PairedResults.read(notArray))
        .hasMessageContaining("neither a paired run's results").hasMessageContaining(notArray.toString());
    assertThatThrownBy(() -> PairedResults.read(noScore))
        .hasMessageContaining("entry 0 of " + noScore + " is not a JMH result: no \"score\"");
    assertThatThrownBy(() -> PairedResults.read(badRound))
        .hasMessage("bad paired run results in " + badRound + ": rounds must be at least 1: 0");
  }

  @Test
  void aFileFromBeforeTheJdbcSidesHadTheirOwnIterationsReadsAsEverySideAlike() throws IOException {
    Path old = Files.writeString(dir.resolve("old.json"), "{\"format\": \"" + PairedResults.FORMAT
        + "\", \"command\": \"java\", \"cores\": 2, \"settings\": {\"rounds\": 5, \"warmupIterations\": 2, "
        + "\"warmupSeconds\": 2, \"measurementIterations\": 3, \"measurementSeconds\": 1, \"quick\": false}, "
        + "\"rounds\": [], \"unpaired\": []}");

    RoundSettings settings = PairedResults.read(old).settings().orElseThrow();

    assertThat(settings.steadySides()).isEqualTo(new Iterations(2, 2, 3, 1));
    assertThat(settings.forSide(comparison("lease-postgresql-vs-shedlock").ours())).isEqualTo(settings);
    assertThat(report(PairedResults.read(old)).markdown())
        .contains("- Kind: paired rounds, 5 rounds; per side per round: 1 fork, warmup 2 × 2 s, measurement 3 × 1 s\n");
  }

  @Test
  void aFileThatNamesTheLongerIterationsJdbcSidesReadsThemAsTheSteadyStateSides() throws IOException {
    Path old = Files.writeString(dir.resolve("jdbc-sides.json"), "{\"format\": \"" + PairedResults.FORMAT
        + "\", \"command\": \"java\", \"cores\": 2, \"settings\": {\"rounds\": 5, \"warmupIterations\": 2, "
        + "\"warmupSeconds\": 2, \"measurementIterations\": 3, \"measurementSeconds\": 1, \"quick\": false, "
        + "\"jdbcSides\": {\"warmupIterations\": 8, \"warmupSeconds\": 3, \"measurementIterations\": 3, "
        + "\"measurementSeconds\": 2}}, \"rounds\": [], \"unpaired\": []}");

    RoundSettings settings = PairedResults.read(old).settings().orElseThrow();

    // the tail's sides ran the round's iterations in such a run, and its report says so
    RoundSettings asRun = new RoundSettings(5, 2, 2, 3, 1, false, RoundSettings.STEADY_STATE,
        List.of("LeaseBenchmark", "TaskClaimBenchmark", "WorkerPoolBenchmark"));
    assertThat(settings).isEqualTo(asRun);
    assertThat(settings.forSide(comparison("tail-p99-file-vs-1ms").ours())).isSameAs(settings);
    assertThat(settings.forSide(comparison("lease-postgresql-vs-shedlock").ours()).iterations())
        .isEqualTo(RoundSettings.STEADY_STATE);
    assertThat(report(PairedResults.read(old)).markdown()).contains("- Kind: paired rounds, 5 rounds; per side per "
        + "round: 1 fork, warmup 2 × 2 s, measurement 3 × 1 s; LeaseBenchmark, TaskClaimBenchmark and "
        + "WorkerPoolBenchmark sides: warmup 8 × 3 s, measurement 3 × 2 s\n");
    // written again, it names the new key and its classes, and reads back the same
    Path again = dir.resolve("again.json");
    PairedResults.read(old).write(again);
    assertThat(Files.readString(again)).contains("\"steadySides\"", "\"steadyClasses\"").doesNotContain("jdbcSides");
    assertThat(PairedResults.read(again).settings()).contains(asRun);
  }

  @Test
  void aCurrentFileNamesItsSteadyClassesAndReadsBackTheSame() throws IOException {
    Path file = dir.resolve("current.json");
    new PairedResults(Optional.of(RoundSettings.FULL), "java", 2, List.of(), List.of()).write(file);

    assertThat(Files.readString(file)).contains("\"steadyClasses\" : [ \"LeaseBenchmark\", \"TaskClaimBenchmark\", "
        + "\"WorkerPoolBenchmark\", \"TailLatencyBenchmark\" ]");
    assertThat(PairedResults.read(file).settings()).contains(RoundSettings.FULL);
  }

  @Test
  void reportOnlyRunWritesTheMarkdownAndPrintsTheRatios() throws Exception {
    Path rounds = dir.resolve("rounds.json");
    paired(RoundSettings.FULL).write(rounds);
    Path out = dir.resolve("docs/benchmarks.md");
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    int status = BenchmarkMain.run(new String[] {"--report", rounds.toString(), "--out", out.toString()},
        new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8),
        false);

    assertThat(stderr.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(status).isZero();
    assertThat(stdout.toString(StandardCharsets.UTF_8))
        .contains("ratio doc-write-1-writer-vs-floor 1.44 [1.21, 1.70]\n", "ratio tail-p99-postgresql-vs-1ms n/a\n")
        .contains("report written to " + out);
    assertThat(Files.readString(out))
        .contains("- Kind: paired rounds, 5 rounds;")
        .contains("| Databases | not probed |", "| Benchmark data | ", "| Memory | ");
  }

  @Test
  void reportOnAMissingFileFailsWithItsName() {
    Path missing = dir.resolve("absent.json");
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    int status = BenchmarkMain.run(new String[] {"--report", missing.toString(), "--out", dir.resolve("x.md").toString()},
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
        new PrintStream(stderr, true, StandardCharsets.UTF_8), false);

    assertThat(status).isEqualTo(1);
    assertThat(stderr.toString(StandardCharsets.UTF_8)).contains("no result file at " + missing);
    assertThat(dir.resolve("x.md")).doesNotExist();
  }
}
