package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report on a small hand-made JMH result file: ratios, markdown rows, missing results, bad input. */
class ReportTest {

  @TempDir
  Path dir;

  private static Path sample() throws URISyntaxException {
    return Path.of(ReportTest.class.getResource("/jmh-sample.json").toURI());
  }

  private static Report report(List<JmhResult> results) {
    Instant when = Instant.parse("2026-11-21T16:00:00Z");
    return new Report(results, new Report.Run("java -jar benchmarks.jar --quick", "quick", "jmh-sample.json", when, when),
        new Machine(List.of(new Machine.Fact("CPU", "Test CPU, 2 cores"))));
  }

  @Test
  void ratioLinesNormaliseUnitsAndMarkMissingSidesNotAvailable() throws Exception {
    List<String> lines = report(JmhResult.read(sample())).ratioLines();

    assertThat(lines).containsExactly(
        "ratio doc-write-1-writer-vs-floor 0.95", // 950 ops/s vs 1 ops/ms
        "ratio doc-write-16-writers-vs-floor n/a",
        "ratio doc-write-16-writers-vs-floor-16-threads n/a",
        "ratio append-1-appender-vs-floor n/a",
        "ratio append-16-appenders-vs-floor n/a", // the floor did not run
        "ratio append-16-appenders-vs-floor-16-threads n/a",
        "ratio append-1-appender-vs-sqlite n/a",
        "ratio append-1-appender-vs-h2 n/a",
        "ratio append-16-appenders-vs-sqlite 4.80", // 12,000 ops/s vs 2.5 ops/ms
        "ratio append-16-appenders-vs-h2 n/a",
        "ratio lease-postgresql-vs-shedlock 2.00", // 500 us/op is 2,000 ops/s vs 1,000 ops/s
        "ratio claim-complete-postgresql-vs-db-scheduler n/a",
        "ratio doc-write-100000-vs-10-documents 0.90", // 0.9 ops/ms vs 1,000 ops/s
        "ratio tail-p99-memory-vs-1ms 2.50", // p99 400 us
        "ratio tail-p99-file-vs-1ms 0.40", // p99 2.5 ms
        "ratio tail-p99-file-other-process-vs-1ms n/a",
        "ratio tail-p99-postgresql-vs-1ms n/a");
  }

  @Test
  void comparisonsTableShowsBothSidesInOneUnitAndWhetherTheTargetIsMet() throws Exception {
    String md = report(JmhResult.read(sample())).markdown();

    assertThat(md)
        .contains("| Comparison | What | Collab | Baseline | Unit | Ratio | Target | Met |")
        .contains("| doc-write-1-writer-vs-floor | durable 1 KB document replace, 1 writer: Collab file vs raw "
            + "temp+fsync+rename floor | 950 | 1000 | ops/s | 0.95 | ≥ 0.9 | yes |")
        .contains("| append-16-appenders-vs-sqlite | durable event append, 16 appenders: Collab file vs SQLite WAL "
            + "synchronous=FULL | 12000 | 2500 | ops/s | 4.80 | ≥ 5 | no |")
        .contains("| 12000 | not run | ops/s | n/a | ≥ 10 | n/a |")
        .contains("| lease-postgresql-vs-shedlock | lease acquire + release on PostgreSQL: Collab vs ShedLock | 2000 | "
            + "1000 | ops/s | 2.00 | ≥ 1 | yes |")
        .contains("| 0.400 | 1.00 (constant) | ms (p99) | 2.50 | ≥ 1 | yes |")
        .contains("| 2.50 | 1.00 (constant) | ms (p99) | 0.40 | ≥ 1 | no |")
        .contains("| not run | 1.00 (constant) | ms (p99) | n/a | — | n/a |");
  }

  @Test
  void resultsTableHasAllocationPercentilesAndCountersPerIteration() throws Exception {
    String md = report(JmhResult.read(sample())).markdown();

    assertThat(md)
        .contains("| Benchmark | Params | Mode | Threads | Score | Unit | Alloc B/op | p50 | p99 | Counters |")
        .contains("| ETagBenchmark.canonicalJsonAndSha256 | size=1024 | avgt | 1 | 12.3 ± 0.560 | us/op | 54343 |  |  |  |")
        .contains("| DocumentWriteBenchmark.oneWriter | target=COLLAB_FILE | thrpt | 1 | 950 ± 12.5 | ops/s | 4096 |")
        .contains("| EventAppendBenchmark.sixteenAppenders | target=SQLITE | thrpt | 16 | 2.50 ± 0.100 | ops/ms |")
        .contains("| TailLatencyBenchmark.appendToDelivery | backend=MEMORY | sample | 1 | 150 ± 5.00 | us/op |  | 120 | 400 |  |")
        // 1,500 MiB summed over 5 measurement iterations
        .contains("| LargeLogBenchmark.read100 |  | avgt | 1 | 35.5 ± 1.50 | us/op |  |  |  | heapUsedMiB 300 |");
  }

  @Test
  void theRestOfTheDocumentSaysHowToRunWhatRanWhereAndWhatIsMissing() throws Exception {
    String md = report(JmhResult.read(sample())).markdown();

    assertThat(md)
        .startsWith("# Collab benchmarks\n")
        .contains("## How to run", "java -jar benchmarks/target/benchmarks.jar --quick LeaseBenchmark",
            "--report benchmarks/target/jmh-result.json", "-Dcollab.bench.dir=")
        .contains("- Command: `java -jar benchmarks.jar --quick`")
        .contains("- Iterations: warmup 3 × 2 s, measurement 5 × 3 s, 1 fork")
        .contains("- Results: `jmh-sample.json` (12 results), written 2026-11-21 16:00:00 UTC")
        .contains("| CPU | Test CPU, 2 cores |")
        .contains("| JDK of the run | 17.0.15 OpenJDK 64-Bit Server VM 17.0.15+6 |")
        .contains("- `EventAppendBenchmark.sixteenAppenders target=RAW_FLOOR`: not run")
        .contains("- `TaskClaimBenchmark.claimAndComplete backend=COLLAB_POSTGRESQL`: not run")
        .contains("- `LeaseBenchmark.acquireRelease backend=MEMORY`: not run")
        .contains("- `ETagBenchmark.canonicalJsonAndSha256 size=65536`: not run")
        .doesNotContain("`LargeLogBenchmark.read100`: not run")
        .doesNotContain("`EventAppendBenchmark.sixteenAppenders target=COLLAB_FILE`");
  }

  @Test
  void noResultsAtAllGiveNotAvailableEverywhere() {
    Report report = report(List.of());

    assertThat(report.ratioLines()).hasSize(Comparison.ALL.size()).allMatch(line -> line.endsWith(" n/a"));
    assertThat(report.markdown()).contains("- Iterations: none (no results)", "| JDK of the run | unknown (no results) |");
  }

  @Test
  void aSampleTimeResultWithoutPercentilesIsReportedAsGivingNoP99() throws Exception {
    Path json = dir.resolve("avgt-tail.json");
    Files.writeString(json, """
        [{"benchmark": "io.kyros.collab.benchmarks.TailLatencyBenchmark.appendToDelivery", "mode": "avgt",
          "params": {"backend": "MEMORY"}, "primaryMetric": {"score": 0.5, "scoreError": "NaN", "scoreUnit": "ms/op"}}]
        """);
    Report report = report(JmhResult.read(json));

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

    assertThatThrownBy(() -> JmhResult.read(missing)).hasMessageContaining("no JMH result file at " + missing);
    assertThatThrownBy(() -> JmhResult.read(notJson)).hasMessageContaining("not JSON: " + notJson);
    assertThatThrownBy(() -> JmhResult.read(notArray))
        .hasMessageContaining("not a JMH JSON result (expected an array of benchmarks): " + notArray);
    assertThatThrownBy(() -> JmhResult.read(noScore))
        .hasMessageContaining("entry 0 of " + noScore + " is not a JMH result: no \"score\"");
  }

  @Test
  void reportOnlyRunWritesTheMarkdownAndPrintsTheRatios() throws Exception {
    Path out = dir.resolve("docs/benchmarks.md");
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    int status = BenchmarkMain.run(new String[] {"--report", sample().toString(), "--out", out.toString()},
        new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8),
        false);

    assertThat(stderr.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(status).isZero();
    assertThat(stdout.toString(StandardCharsets.UTF_8))
        .contains("ratio doc-write-1-writer-vs-floor 0.95\n", "ratio tail-p99-postgresql-vs-1ms n/a\n")
        .contains("report written to " + out);
    assertThat(Files.readString(out))
        .contains("- Kind: full (each benchmark's own `@Warmup`, `@Measurement` and `@Fork`); inferred from the results")
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
    assertThat(stderr.toString(StandardCharsets.UTF_8)).contains("no JMH result file at " + missing);
    assertThat(dir.resolve("x.md")).doesNotExist();
  }
}
