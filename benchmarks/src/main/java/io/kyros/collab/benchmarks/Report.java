package io.kyros.collab.benchmarks;

import io.kyros.collab.benchmarks.Comparison.Selector;
import io.kyros.collab.benchmarks.PairedResults.Round;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Turns a run's results ({@link PairedResults}) into {@code docs/benchmarks.md} (how to run, this run, machine, the
 * machine during the run, comparisons with intervals and verdicts, all results, missing results) and the
 * {@code ratio <name> <median> [<low>, <high>]} lines of {@link Comparison#ALL}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param results the run's results
 * @param run where they were read from and when
 * @param machine what they ran on
 */
record Report(PairedResults results, Run run, Machine machine) {

  /**
   * Where the results came from.
   *
   * @param resultFile the JSON file the results were read from, as shown to readers
   * @param finished when the file was last written
   * @param generated when this report was generated
   */
  record Run(String resultFile, Instant finished, Instant generated) {}

  private static final DateTimeFormatter UTC =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);
  private static final String FLOOR = "RAW_FLOOR";

  /** Written at the top of every report, so the commands cannot drift from the runner. */
  static final String HOW_TO = """
      ## How to run

      Build the jar, then run it from the repository root so the defaults below apply (`--help` lists the options):

      ```
      ./mvnw -B -q verify -pl benchmarks -am -DskipTests                # builds benchmarks/target/benchmarks.jar
      java -jar benchmarks/target/benchmarks.jar                        # full paired run: 5 rounds (about 65 to 70 minutes), then this report
      java -jar benchmarks/target/benchmarks.jar --budget 90            # the same, then extra rounds for inconclusive targets, 90 minutes in all
      java -jar benchmarks/target/benchmarks.jar --quick                # 3 short rounds (about 7 minutes): indicative only, never judged
      java -jar benchmarks/target/benchmarks.jar --rounds 8 doc-write   # a subset: regexes on comparison names or benchmark names
      java -jar benchmarks/target/benchmarks.jar --warmup 10x3 --measurement 5x3 LeaseBenchmark  # iterations x seconds, every side alike
      java -jar benchmarks/target/benchmarks.jar --report benchmarks/target/benchmark-rounds.json  # this report only, from saved results
      java -jar benchmarks/target/benchmarks.jar -l                     # any single-dash option: plain JMH (-l, -prof, -f, -h...)
      java -Dcollab.bench.dir=/mnt/disk/bench -jar benchmarks/target/benchmarks.jar   # file data on another disk
      ```

      - **Paired rounds.** Each round measures every side of every comparison once, each side in a fresh JMH fork with
        its own warm-up (by default 2 × 2 s warm-up, then 3 × 1 s measured). The sides of `LeaseBenchmark`,
        `TaskClaimBenchmark` and `WorkerPoolBenchmark` (the JDBC comparisons, both sides of each, all parameters) and
        of `TailLatencyBenchmark` (the tail-p99-* ones) get 8 × 3 s warm-up, then 3 × 2 s measured: the JIT is still
        compiling Collab's JDBC path after 4 s, which cost those ratios half their value, and a 99th percentile
        measured while it compiles is the compiler's. `--warmup` and `--measurement` set every side's iterations
        alike; `--quick` is quick for every side. Sides compared with each other run next to each other, in
        alternating order (A B in one round, B A in the next), so a drift of the disk or a neighbour's load hits both
        sides alike. Results no comparison uses run once, after the rounds.
      - **Intervals.** A comparison's ratio is computed per round, from that round's two sides. The report gives the
        median of the rounds' ratios and a 95 % confidence interval: a percentile bootstrap over the rounds (10,000
        resamples, seeded by the comparison's name, so the same results file always gives the same report). Ratio
        lines read `ratio <name> <median> [<low>, <high>]`; more than 1 means Collab is faster.
      - **Targets.** Met only when the interval's low end reaches the target, missed when its high end is below it,
        inconclusive otherwise; an inconclusive verdict estimates how many more rounds would likely decide it (the
        interval's half-width shrinks as 1/√rounds), and `--budget <minutes>` runs such rounds itself while the whole
        run fits in the budget. Fewer than 5 rounds are always inconclusive (an interval from so few rounds covers well
        under 95 %); `--quick` and warm-ups under 4 s per side are not judged at all.
      - **Machine state.** The load average is read from `/proc/loadavg` before and after each round, and the raw
        floors' spread across rounds is shown as a coefficient of variation: a load above the core count, or a floor
        CV above about 10 %, means the machine was busy or unsteady, and the intervals show it.
      - Results go to `--result <json>` (default `benchmarks/target/benchmark-rounds.json`, or `benchmark-rounds.json`
        outside the repository root), rewritten after every round; this report to `--out <md>` (default
        `docs/benchmarks.md`, or `benchmarks.md` where there is no `docs` directory). `--report` also reads a plain
        JMH JSON result file, as one unpaired run (no intervals, not judged).
      - File benchmarks keep their data under `-Dcollab.bench.dir` (default `benchmarks/target/bench-data`), which must
        be on the disk being measured, not a tmpfs. JMH's forks inherit the runner's `-D` options.
      - PostgreSQL benchmarks use `COLLAB_PG_URL`, `COLLAB_PG_USER` and `COLLAB_PG_PASSWORD` (default
        `jdbc:postgresql://127.0.0.1:5432/test` as `postgres`), MariaDB ones `COLLAB_MARIADB_URL`,
        `COLLAB_MARIADB_USER` and `COLLAB_MARIADB_PASSWORD` (default `jdbc:mariadb://127.0.0.1:3306/test` as
        `root`); a side that fails in the first round (say, an
        unreachable database) is not retried and shows as missing.
      - JMH allows one run per machine at a time (`/tmp/jmh.lock`); other load on the machine widens the intervals.
      """;

  /**
   * @return one line per comparison: {@code ratio <name> <median> [<low>, <high>]}, {@code [no interval: 1 round]}
   *     with one round, or {@code ratio <name> n/a} if no round has both sides
   */
  List<String> ratioLines() {
    return Comparison.ALL.stream()
        .map(c -> "ratio " + c.name() + " " + c.estimate(results.rounds()).map(Estimate::text).orElse("n/a"))
        .toList();
  }

  /**
   * @param comparison a comparison
   * @return its verdict in this run
   */
  Verdict verdict(Comparison comparison) {
    return Verdict.judge(comparison.estimate(results.rounds()).orElse(null), comparison.target(),
        notValidForTargets().orElse(null));
  }

  /** Why this run's ratios are not judged against targets, empty when they are. */
  private Optional<String> notValidForTargets() {
    return results.settings().map(RoundSettings::notValidForTargets)
        .orElse(Optional.of("a plain JMH run, not paired"));
  }

  /**
   * @return the whole markdown document
   */
  String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("# Collab benchmarks\n\n");
    md.append("Generated by `io.kyros.collab.benchmarks.BenchmarkMain` (the benchmarks jar's main class) from the "
        + "run's JSON results; do not edit it by hand, run the benchmarks again.\n\n");
    md.append(HOW_TO).append('\n');
    appendRun(md);
    appendMachine(md);
    appendMachineState(md);
    appendComparisons(md);
    appendResults(md);
    appendMissing(md);
    return md.toString();
  }

  private void appendRun(StringBuilder md) {
    List<Round> rounds = results.rounds();
    md.append("## This run\n\n");
    md.append("- Command: `").append(results.command()).append("`\n");
    if (results.paired()) {
      RoundSettings settings = results.settings().orElseThrow();
      md.append("- Kind: paired rounds, ").append(settings.text()).append('\n');
      int extra = rounds.size() - settings.rounds();
      md.append("- Rounds: ").append(rounds.size()).append(extra > 0 ? " (" + settings.rounds() + " planned, " + extra
          + " extra within the budget, of the groups still inconclusive)" : "").append('\n');
    } else {
      md.append("- Kind: a plain JMH result file: one run of each benchmark, not paired: no intervals");
      md.append(BenchmarkMain.isQuick(results.allResults()) ? " (quick iteration settings)" : "").append('\n');
    }
    md.append("- Targets: ").append(notValidForTargets().map(why -> "**not judged** (" + why + ")")
        .orElse("judged on the intervals (at least " + Verdict.MIN_ROUNDS + " rounds)"
            + (rounds.size() < Verdict.MIN_ROUNDS ? "; this run has " + rounds.size() + ": every target is inconclusive"
                : ""))).append('\n');
    md.append("- Iterations as JMH recorded them: ").append(iterations()).append('\n');
    if (!rounds.isEmpty() && results.paired()) {
      md.append("- Took: ").append(minutes(Duration.between(rounds.get(0).started(), run.finished())))
          .append(" (").append(utc(rounds.get(0).started())).append(" to ").append(utc(run.finished()))
          .append(")\n");
    }
    int count = results.allResults().size();
    md.append("- Results: `").append(run.resultFile()).append("` (").append(count)
        .append(count == 1 ? " result" : " results").append("), written ").append(utc(run.finished())).append('\n');
    md.append("- Report generated: ").append(utc(run.generated())).append("\n\n");
  }

  /** The distinct iteration settings of the results, with how many results used each. */
  private String iterations() {
    Map<String, Long> settings = results.allResults().stream().collect(Collectors.groupingBy(
        r -> "warmup " + r.warmupIterations() + " × " + r.warmupTime() + ", measurement " + r.measurementIterations()
            + " × " + r.measurementTime() + ", " + r.forks() + (r.forks() == 1 ? " fork" : " forks"),
        LinkedHashMap::new, Collectors.counting()));
    if (settings.isEmpty()) {
      return "none (no results)";
    }
    if (settings.size() == 1) {
      return settings.keySet().iterator().next();
    }
    return settings.entrySet().stream().map(e -> e.getKey() + " (" + e.getValue() + ")")
        .collect(Collectors.joining("; "));
  }

  private void appendMachine(StringBuilder md) {
    md.append("## Machine\n\nProbed when this report was generated; the JDK is the one the results name.\n\n");
    md.append("| | |\n| --- | --- |\n");
    for (Machine.Fact fact : machine.facts()) {
      md.append("| ").append(fact.name()).append(" | ").append(cell(fact.value())).append(" |\n");
    }
    String jdks = results.allResults().stream().map(JmhResult::jdk).distinct().collect(Collectors.joining("; "));
    md.append("| JDK of the run | ").append(jdks.isEmpty() ? "unknown (no results)" : cell(jdks)).append(" |\n\n");
  }

  private void appendMachineState(StringBuilder md) {
    md.append("## The machine during the run\n\n");
    List<Round> rounds = results.rounds();
    if (!results.paired()) {
      md.append("Not recorded: a plain JMH result file has no rounds.\n\n");
      return;
    }
    List<Double> loads = new ArrayList<>();
    rounds.forEach(r -> {
      r.loadBefore().ifPresent(l -> loads.add(l.one()));
      r.loadAfter().ifPresent(l -> loads.add(l.one()));
    });
    if (loads.isEmpty()) {
      md.append("- Load average: not available (no `/proc/loadavg`).\n");
    } else {
      Spread load = Spread.of(loads);
      md.append("- Load average (1 minute), before and after each round: ").append(number(load.min())).append(" to ")
          .append(number(load.max())).append(", median ").append(number(load.median())).append(", on ")
          .append(results.cores()).append(results.cores() == 1 ? " core" : " cores")
          .append(load.max() > results.cores() ? ": above the core count, other work competed with the benchmarks"
              : ": within the core count").append(".\n");
    }
    List<Selector> floors = sides().stream().filter(s -> s.params().containsValue(FLOOR))
        .filter(s -> !values(s, r -> Optional.of(r.opsPerSecond())).isEmpty()).toList();
    for (Selector floor : floors) {
      Spread spread = Spread.of(values(floor, r -> Optional.of(r.opsPerSecond())));
      md.append("- Raw floor `").append(floor).append("`: median ").append(number(spread.median()))
          .append(" ops/s, ").append(number(spread.min())).append(" to ").append(number(spread.max()))
          .append(" across ").append(spread.count()).append(spread.count() == 1 ? " round" : " rounds")
          .append(", CV ").append(spread.cvText()).append('\n');
    }
    md.append('\n');
    md.append("| Round | Started | Took | Load before (1 / 5 / 15 min) | Load after |");
    floors.forEach(f -> md.append(' ').append(cell(f.toString())).append(" (ops/s) |"));
    md.append("\n| ---: | --- | ---: | --- | --- |");
    floors.forEach(f -> md.append(" ---: |"));
    md.append('\n');
    for (Round round : rounds) {
      md.append("| ").append(round.number()).append(" | ").append(utc(round.started())).append(" | ")
          .append(seconds(round.took())).append(" | ").append(round.loadBefore().map(LoadAverage::text).orElse("n/a"))
          .append(" | ").append(round.loadAfter().map(LoadAverage::text).orElse("n/a")).append(" |");
      for (Selector floor : floors) {
        md.append(' ').append(floor.find(round.results()).map(r -> number(r.opsPerSecond())).orElse("—")).append(" |");
      }
      md.append('\n');
    }
    md.append('\n');
  }

  private void appendComparisons(StringBuilder md) {
    md.append("## Comparisons\n\n");
    md.append("Ratio above 1 means Collab is faster: for throughput Collab's ops/s divided by the baseline's, for "
        + "latency the baseline's time divided by Collab's p99. The ratio is computed in each round from the two sides "
        + "measured next to each other; shown is the median over the rounds with its 95 % bootstrap interval "
        + "`[low, high]`. Collab and Baseline are the sides' medians over the rounds. A target is met when the "
        + "interval's low end reaches it, missed when the high end is below it, inconclusive otherwise.\n\n");
    md.append("| Comparison | What | Collab | Baseline | Unit | Ratio [95 % interval] | Rounds | Target | Verdict |\n");
    md.append("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | --- |\n");
    for (Comparison c : Comparison.ALL) {
      Optional<Estimate> estimate = c.estimate(results.rounds());
      String ours = median(c.ours(), c::valueOf);
      String baseline = c.baseline() == null ? number(c.baselineMillis()) + " (constant)" : median(c.baseline(), c::valueOf);
      md.append("| ").append(c.name()).append(" | ").append(cell(c.what())).append(" | ").append(ours).append(" | ")
          .append(baseline).append(" | ").append(c.unit()).append(" | ")
          .append(estimate.map(Estimate::text).orElse("n/a")).append(" | ")
          .append(estimate.map(e -> String.valueOf(e.rounds())).orElse("0")).append(" | ")
          .append(c.target() == null ? "—" : Verdict.targetText(c.target())).append(" | ")
          .append(cell(verdict(c).text())).append(" |\n");
    }
    md.append('\n');
  }

  private void appendResults(StringBuilder md) {
    md.append("## All results\n\n");
    md.append("One row per benchmark and parameters: the median over the rounds it ran in, the lowest and highest "
        + "round and their coefficient of variation (or JMH's 99.9 % half-width for a result run once); allocation per "
        + "operation from JMH's GC profiler; p50/p99 for SampleTime benchmarks, in the score's unit; event counters "
        + "(`@AuxCounters`) per measurement iteration. Medians over the rounds throughout.\n\n");
    md.append("| Benchmark | Params | Mode | Threads | Rounds | Score | Spread | Unit | Alloc B/op | p50 | p99 | Counters |\n");
    md.append("| --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | --- |\n");
    Map<String, List<JmhResult>> bySide = new LinkedHashMap<>();
    results.allResults().forEach(r -> bySide.computeIfAbsent(r.benchmark() + " " + r.paramsText(),
        k -> new ArrayList<>()).add(r));
    for (List<JmhResult> side : bySide.values()) {
      JmhResult first = side.get(0);
      Spread score = Spread.of(side.stream().map(r -> r.primary().score()).toList());
      String spread = side.size() == 1
          ? (Double.isNaN(first.primary().error()) ? "" : "± " + number(first.primary().error()))
          : number(score.min()) + " – " + number(score.max()) + ", CV " + score.cvText();
      boolean sampled = "sample".equals(first.mode());
      Map<String, List<Double>> counters = new LinkedHashMap<>();
      side.forEach(r -> r.eventCountersPerIteration().forEach(
          (name, value) -> counters.computeIfAbsent(name, k -> new ArrayList<>()).add(value)));
      md.append("| ").append(first.shortName()).append(" | ").append(cell(first.paramsText())).append(" | ")
          .append(first.mode()).append(" | ").append(first.threads()).append(" | ").append(side.size()).append(" | ")
          .append(number(score.median())).append(" | ").append(spread).append(" | ").append(first.primary().unit())
          .append(" | ").append(medianOf(side, JmhResult::allocationPerOp))
          .append(" | ").append(sampled ? medianOf(side, r -> Optional.ofNullable(r.primary().percentiles().get(JmhResult.P50))) : "")
          .append(" | ").append(sampled ? medianOf(side, r -> Optional.ofNullable(r.primary().percentiles().get(JmhResult.P99))) : "")
          .append(" | ").append(counters.entrySet().stream()
              .map(e -> e.getKey() + " " + number(Spread.of(e.getValue()).median()))
              .collect(Collectors.joining(", ")))
          .append(" |\n");
    }
    md.append('\n');
  }

  private void appendMissing(StringBuilder md) {
    md.append("## Missing results\n\n");
    Set<String> missing = new LinkedHashSet<>();
    for (Comparison c : Comparison.ALL) {
      missing(c.ours(), c, missing);
      if (c.baseline() != null) {
        missing(c.baseline(), c, missing);
      }
    }
    for (Selector s : Comparison.ALSO_EXPECTED) {
      missing(s, null, missing);
    }
    if (missing.isEmpty()) {
      md.append("None: every expected benchmark has a result in every round.\n");
    } else {
      md.append("Not in this run, or not in every round (a subset was run, the benchmark does not exist yet, or it "
          + "failed: see the run's output). Comparisons without a round holding both sides show n/a.\n\n");
      missing.forEach(line -> md.append("- ").append(line).append('\n'));
    }
  }

  private void missing(Selector selector, Comparison comparison, Set<String> missing) {
    List<Round> rounds = results.rounds();
    long ran = rounds.stream().filter(r -> selector.find(r.results()).isPresent()).count();
    Optional<JmhResult> result = selector.find(results.allResults());
    if (result.isEmpty()) {
      missing.add("`" + selector + "`: not run");
    } else if (comparison != null && comparison.valueOf(result.get()).isEmpty()) {
      missing.add("`" + selector + "`: ran (mode " + result.get().mode() + ", " + result.get().primary().unit()
          + ") but gives no " + comparison.unit() + " for " + comparison.name());
    } else if (comparison != null && ran < rounds.size()) {
      missing.add("`" + selector + "`: a result in " + ran + " of " + rounds.size() + " rounds");
    }
  }

  /** The sides of the comparisons, in report order, each once. */
  private List<Selector> sides() {
    Set<Selector> sides = new LinkedHashSet<>();
    for (Comparison c : Comparison.ALL) {
      sides.add(c.ours());
      if (c.baseline() != null) {
        sides.add(c.baseline());
      }
    }
    return List.copyOf(sides);
  }

  /** A side's values over the rounds it ran in. */
  private List<Double> values(Selector side, Function<JmhResult, Optional<Double>> value) {
    return results.rounds().stream().map(r -> side.find(r.results()).flatMap(value)).flatMap(Optional::stream).toList();
  }

  private String median(Selector side, Function<JmhResult, Optional<Double>> value) {
    List<Double> values = values(side, value);
    return values.isEmpty() ? "not run" : number(Spread.of(values).median());
  }

  private static String medianOf(List<JmhResult> side, Function<JmhResult, Optional<Double>> value) {
    List<Double> values = side.stream().map(value).flatMap(Optional::stream).toList();
    return values.isEmpty() ? "" : number(Spread.of(values).median());
  }

  /**
   * @param value a score
   * @return it with about three significant digits, without exponent below a billion
   */
  static String number(double value) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    double abs = Math.abs(value);
    String pattern = abs >= 100 || abs == 0 ? "%.0f" : abs >= 10 ? "%.1f" : abs >= 1 ? "%.2f" : "%.3g";
    return String.format(Locale.ROOT, pattern, value);
  }

  /**
   * @param instant an instant
   * @return it in UTC to the second, as the report writes times
   */
  static String utc(Instant instant) {
    return UTC.format(instant.truncatedTo(ChronoUnit.SECONDS));
  }

  private static String seconds(Duration duration) {
    return String.format(Locale.ROOT, "%.0f s", duration.toMillis() / 1000.0);
  }

  private static String minutes(Duration duration) {
    long seconds = Math.round(duration.toMillis() / 1000.0);
    return seconds / 60 + " min " + seconds % 60 + " s";
  }

  private static String cell(String text) {
    return text.replace("|", "\\|").replace("\n", " ");
  }
}
