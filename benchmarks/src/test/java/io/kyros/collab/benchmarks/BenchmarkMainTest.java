package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The runner's command line: its own options, JMH's pass-through, and errors naming the bad input. */
class BenchmarkMainTest {

  @Test
  void singleDashArgumentsGoToJmh() {
    assertThat(BenchmarkMain.isJmhCommandLine(new String[] {"-l"})).isTrue();
    assertThat(BenchmarkMain.isJmhCommandLine(new String[] {"ETagBenchmark", "-prof", "gc", "-f", "1"})).isTrue();
    assertThat(BenchmarkMain.isJmhCommandLine(new String[] {"--quick", "LeaseBenchmark"})).isFalse();
    assertThat(BenchmarkMain.isJmhCommandLine(new String[] {})).isFalse();
  }

  @Test
  void optionsAndRegexes() {
    BenchmarkMain.Command command = BenchmarkMain.parse(
        new String[] {"--quick", "LeaseBenchmark", "--result", "r.json", "ETag.*", "--out", "o.md"});

    assertThat(command.settings()).isEqualTo(RoundSettings.QUICK);
    assertThat(command.budget()).isEmpty();
    assertThat(command.report()).isNull();
    assertThat(command.result()).isEqualTo(Path.of("r.json"));
    assertThat(command.out()).isEqualTo(Path.of("o.md"));
    assertThat(command.includes()).containsExactly("LeaseBenchmark", "ETag.*");
  }

  @Test
  void defaultsWhenNotRunFromTheRepositoryRoot() {
    // surefire runs in benchmarks/, which has neither benchmarks/target nor docs
    BenchmarkMain.Command command = BenchmarkMain.parse(new String[] {});

    assertThat(command.settings()).isEqualTo(RoundSettings.FULL);
    assertThat(command.settings().notValidForTargets()).isEmpty();
    assertThat(command.includes()).isEmpty();
    assertThat(command.result()).isEqualTo(Path.of("benchmark-rounds.json"));
    assertThat(command.out()).isEqualTo(Path.of("benchmarks.md"));
  }

  @Test
  void roundsIterationsAndBudget() {
    BenchmarkMain.Command command = BenchmarkMain.parse(
        new String[] {"--rounds", "8", "--warmup", "3x2", "--measurement", "4x1", "--budget", "25"});

    // explicit iterations are every side's, the steady-state classes' included
    assertThat(command.settings()).isEqualTo(new RoundSettings(8, 3, 2, 4, 1, false, new Iterations(3, 2, 4, 1)));
    assertThat(command.budget()).contains(java.time.Duration.ofMinutes(25));
  }

  @Test
  void quickWithMoreRoundsStaysQuickAndAShortWarmupIsNotValidForTargets() {
    RoundSettings quick = BenchmarkMain.parse(new String[] {"--rounds", "9", "--quick"}).settings();
    RoundSettings shortWarmup = BenchmarkMain.parse(new String[] {"--warmup", "3x1"}).settings();
    RoundSettings longWarmup = BenchmarkMain.parse(new String[] {"--warmup", "1x4"}).settings();

    assertThat(quick).isEqualTo(RoundSettings.QUICK.withRounds(9));
    assertThat(quick.notValidForTargets()).contains("--quick: not valid for targets");
    assertThat(shortWarmup.notValidForTargets()).contains("warm-up under 4 s: not valid for targets");
    assertThat(longWarmup.notValidForTargets()).isEmpty();
  }

  @Test
  void badValuesAreNamed() {
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--rounds", "0"}))
        .hasMessage("--rounds must be a whole number of at least 1: 0");
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--warmup", "3"}))
        .hasMessage("--warmup must be <iterations>x<seconds>, such as 2x2: 3");
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--measurement", "2xa"}))
        .hasMessage("--measurement must be a whole number of at least 1: a");
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--budget"})).hasMessage("--budget needs minutes");
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"doc-write("})).hasMessageStartingWith("not a regex: doc-write(");
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--report", "r.json", "--rounds", "3"}))
        .hasMessageContaining("--report only writes the report");
  }

  @Test
  void aRegexMatchingNothingRunsNothing() {
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    int status = BenchmarkMain.run(new String[] {"no-such-comparison"}, new PrintStream(new ByteArrayOutputStream(),
        true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8), false);

    assertThat(status).isEqualTo(2);
    assertThat(stderr.toString(StandardCharsets.UTF_8))
        .isEqualTo("benchmarks: no comparison or result matches [no-such-comparison]\n");
  }

  @Test
  void theReportsHowToNamesEveryOptionOfTheUsage() {
    java.util.regex.Matcher options = java.util.regex.Pattern.compile("--[a-z]+").matcher(BenchmarkMain.USAGE);
    List<String> named = new java.util.ArrayList<>();
    while (options.find()) {
      named.add(options.group());
    }

    assertThat(named).contains("--quick", "--rounds", "--warmup", "--measurement", "--budget", "--report");
    assertThat(named).allSatisfy(option -> assertThat(Report.HOW_TO).contains(option));
  }

  @Test
  void badCommandLinesAreNamed() {
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--fast"})).hasMessage("unknown option --fast");
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--report"})).hasMessage("--report needs a file name");
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--out", "--quick"}))
        .hasMessage("--out needs a file name");
    assertThatThrownBy(() -> BenchmarkMain.parse(new String[] {"--report", "r.json", "--quick"}))
        .hasMessageContaining("--report only writes the report");
  }

  @Test
  void aBadCommandLineExitsWithTwoAndTheUsage() {
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    int status = BenchmarkMain.run(new String[] {"--fast"}, new PrintStream(new ByteArrayOutputStream(), true,
        StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8), false);

    assertThat(status).isEqualTo(2);
    assertThat(stderr.toString(StandardCharsets.UTF_8)).startsWith("benchmarks: unknown option --fast\nusage:");
  }

  @Test
  void quickResultsAreRecognised() {
    JmhResult.Metric score = new JmhResult.Metric(1, Double.NaN, "ops/s", java.util.Map.of());
    JmhResult quick = new JmhResult("a.B.c", "thrpt", 1, 1, 1, "1 s", 2, "2 s", "17", java.util.Map.of(), score,
        java.util.Map.of());
    JmhResult full = new JmhResult("a.B.c", "thrpt", 1, 1, 3, "2 s", 5, "3 s", "17", java.util.Map.of(), score,
        java.util.Map.of());

    assertThat(BenchmarkMain.isQuick(List.of(quick))).isTrue();
    assertThat(BenchmarkMain.isQuick(List.of(quick, full))).isFalse();
    assertThat(BenchmarkMain.isQuick(List.of())).isFalse();
  }

  @Test
  void machineProbeWithoutDatabasesNamesTheDataDisk() {
    Machine machine = Machine.probe(Path.of("target", "no-such-bench-data"), false);

    assertThat(machine.facts()).extracting(Machine.Fact::name)
        .containsExactly("CPU", "Memory", "OS", "Benchmark data", "Databases");
    assertThat(machine.facts().get(3).value()).contains("no-such-bench-data: ");
  }
}
