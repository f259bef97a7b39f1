package io.kyros.collab.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The benchmarks jar's main class: runs the comparisons in paired, interleaved rounds ({@link PairedRunner}: every
 * side in its own fork each round, ABBA order), writes the rounds' JSON results and then the report ({@link Report}):
 * {@code docs/benchmarks.md} and one {@code ratio <name> <median> [<low>, <high>]} line per comparison on standard
 * output. {@code --report <json>} only writes the report from saved results. Arguments with a single dash
 * ({@code -l}, {@code -prof gc}, {@code -f 1}) go to JMH's own command line unchanged, so the jar still works as a
 * plain JMH jar. See {@link #USAGE}.
 */
public final class BenchmarkMain {

  /** Quick mode of plain JMH result files (before paired runs): warmup iterations. */
  static final int QUICK_WARMUP_ITERATIONS = 1;
  /** Quick mode of plain JMH result files: seconds per warmup iteration. */
  static final int QUICK_WARMUP_SECONDS = 1;
  /** Quick mode of plain JMH result files: measurement iterations. */
  static final int QUICK_MEASUREMENT_ITERATIONS = 2;
  /** Quick mode of plain JMH result files: seconds per measurement iteration. */
  static final int QUICK_MEASUREMENT_SECONDS = 2;
  /** Quick mode of plain JMH result files: forks. */
  static final int QUICK_FORKS = 1;

  /** The command line's help text. */
  static final String USAGE = """
      usage: java [-Dcollab.bench.dir=<dir>] -jar benchmarks.jar [--quick] [--rounds <n>] [--warmup <i>x<s>]
                  [--measurement <i>x<s>] [--budget <minutes>] [--result <json>] [--out <md>] [<regex>...]
             java -jar benchmarks.jar --report <json> [--out <md>]
             java -jar benchmarks.jar <JMH options>     (any single-dash option, e.g. -l, -h, -prof gc: plain JMH)

        (none)               every comparison in paired rounds: 5 rounds, each side in its own fork each round with
                             2 x 2 s warm-up and 3 x 1 s measurement (the sides of LeaseBenchmark, TaskClaimBenchmark
                             and WorkerPoolBenchmark, on JDBC, and of TailLatencyBenchmark: 8 x 3 s and 3 x 2 s, so the
                             JIT is done), sides of a comparison next to each other in alternating order (about 65 to
                             70 minutes); ratios with 95 % bootstrap intervals
        --quick              3 rounds of 1 x 1 s warm-up, 1 x 1 s measurement for every side (about 7 minutes): not
                             valid for targets, no ratio is judged met or missed
        --rounds <n>         rounds to run (a verdict needs at least 5)
        --warmup <i>x<s>     warmup iterations x seconds per side per round, every side alike, the JDBC and tail
                             benchmarks' too (under 4 s in all: not judged)
        --measurement <i>x<s>  measurement iterations x seconds per side per round, every side alike
        --budget <minutes>   after the rounds, extra rounds of the comparisons still inconclusive, while the whole
                             run fits in this many minutes
        <regex>...           only comparisons whose name or sides match one (e.g. doc-write, LeaseBenchmark), and
                             the unpaired results that match
        --result <json>      the rounds' results (default benchmarks/target/benchmark-rounds.json, else
                             benchmark-rounds.json), rewritten after every round
        --out <md>           the report (default docs/benchmarks.md, else benchmarks.md)
        --report <json>      no run: write the report from saved results (a paired run's, or a plain JMH JSON file)
        --help               this text
      """;

  private BenchmarkMain() {}

  /**
   * What the command line asks for.
   *
   * @param settings rounds and iterations
   * @param budget the time budget for extra rounds, empty for none
   * @param report the saved results to report on without a run, or {@code null} to run
   * @param result where the rounds' results go
   * @param out where the report goes
   * @param includes regexes selecting comparisons, all when empty
   * @param help whether only the usage was asked for
   */
  record Command(RoundSettings settings, Optional<Duration> budget, Path report, Path result, Path out,
      List<String> includes, boolean help) {}

  /**
   * Runs the benchmarks and the report, or JMH's own command line when an argument has a single dash.
   *
   * @param args the command line, see {@link #USAGE}
   * @throws Exception if JMH's own command line fails
   */
  public static void main(String[] args) throws Exception {
    if (isJmhCommandLine(args)) {
      org.openjdk.jmh.Main.main(args);
      return;
    }
    int status = run(args, System.out, System.err, true);
    if (status != 0) {
      System.exit(status);
    }
  }

  /**
   * @param args the command line
   * @return whether it is for JMH itself: an argument with a single dash ({@code -l}, {@code -prof})
   */
  static boolean isJmhCommandLine(String[] args) {
    for (String arg : args) {
      if (arg.startsWith("-") && !arg.startsWith("--")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Reads the command line.
   *
   * @param args the command line, without JMH's options
   * @return what it asks for, with the defaults filled in
   * @throws IllegalArgumentException if an option is unknown, lacks its value, has a bad value or does not fit with
   *     the others
   */
  static Command parse(String[] args) {
    boolean quick = false;
    boolean help = false;
    Integer rounds = null;
    int[] warmup = null;
    int[] measurement = null;
    Duration budget = null;
    Path report = null;
    Path result = null;
    Path out = null;
    List<String> includes = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "--quick" -> quick = true;
        case "--help" -> help = true;
        case "--rounds" -> rounds = positive(value(args, ++i, arg, "a number"), arg);
        case "--warmup" -> warmup = iterations(value(args, ++i, arg, "<iterations>x<seconds>"), arg);
        case "--measurement" -> measurement = iterations(value(args, ++i, arg, "<iterations>x<seconds>"), arg);
        case "--budget" -> budget = Duration.ofMinutes(positive(value(args, ++i, arg, "minutes"), arg));
        case "--report" -> report = Path.of(value(args, ++i, arg, "a file name"));
        case "--result" -> result = Path.of(value(args, ++i, arg, "a file name"));
        case "--out" -> out = Path.of(value(args, ++i, arg, "a file name"));
        default -> {
          if (arg.startsWith("--")) {
            throw new IllegalArgumentException("unknown option " + arg);
          }
          includes.add(arg);
        }
      }
    }
    boolean runOptions = quick || rounds != null || warmup != null || measurement != null || budget != null;
    if (report != null && (runOptions || result != null || !includes.isEmpty())) {
      throw new IllegalArgumentException("--report only writes the report: it takes no run options, --result or regexes");
    }
    for (String include : includes) {
      try {
        Pattern.compile(include);
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("not a regex: " + include + " (" + e.getDescription() + ")", e);
      }
    }
    RoundSettings settings = quick ? RoundSettings.QUICK : RoundSettings.FULL;
    if (rounds != null) {
      settings = settings.withRounds(rounds);
    }
    if (warmup != null) {
      settings = settings.withWarmup(warmup[0], warmup[1]);
    }
    if (measurement != null) {
      settings = settings.withMeasurement(measurement[0], measurement[1]);
    }
    if (result == null) {
      result = Files.isDirectory(Path.of("benchmarks", "target"))
          ? Path.of("benchmarks", "target", "benchmark-rounds.json") : Path.of("benchmark-rounds.json");
    }
    if (out == null) {
      out = Files.isDirectory(Path.of("docs")) ? Path.of("docs", "benchmarks.md") : Path.of("benchmarks.md");
    }
    return new Command(settings, Optional.ofNullable(budget), report, result, out, List.copyOf(includes), help);
  }

  private static String value(String[] args, int index, String option, String what) {
    if (index >= args.length || args[index].startsWith("--")) {
      throw new IllegalArgumentException(option + " needs " + what);
    }
    return args[index];
  }

  private static int positive(String text, String option) {
    try {
      int value = Integer.parseInt(text);
      if (value >= 1) {
        return value;
      }
    } catch (NumberFormatException e) {
      // named below
    }
    throw new IllegalArgumentException(option + " must be a whole number of at least 1: " + text);
  }

  /** {@code 2x3}: 2 iterations of 3 seconds. */
  private static int[] iterations(String text, String option) {
    String[] parts = text.split("x", -1);
    if (parts.length != 2) {
      throw new IllegalArgumentException(option + " must be <iterations>x<seconds>, such as 2x2: " + text);
    }
    return new int[] {positive(parts[0], option), positive(parts[1], option)};
  }

  /**
   * Runs what the command line asks for.
   *
   * @param args the command line, without JMH's options
   * @param out where the progress and the ratio lines go
   * @param err where errors go
   * @param probeDatabases whether the report asks the databases for their versions
   * @return the exit status: 0, 1 if the run or the report failed, 2 for a bad command line
   */
  static int run(String[] args, PrintStream out, PrintStream err, boolean probeDatabases) {
    Command command;
    try {
      command = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("benchmarks: " + e.getMessage());
      err.print(USAGE);
      return 2;
    }
    if (command.help()) {
      out.print(USAGE);
      return 0;
    }
    Path json = command.report() != null ? command.report() : command.result();
    if (command.report() == null) {
      Plan plan = Plan.of(Comparison.ALL, Comparison.ALSO_EXPECTED, command.includes());
      if (plan.comparisons().isEmpty() && plan.unpaired().isEmpty()) {
        err.println("benchmarks: no comparison or result matches " + command.includes());
        return 2;
      }
      out.println("benchmarks: " + plan.comparisons().size() + " comparisons, " + plan.sidesPerRound()
          + " sides per round, " + command.settings().text() + "; unpaired results: " + plan.unpaired().size()
          + "; expected to take about " + PairedRunner.expected(plan, command.settings()).toMinutes()
          + " min on an idle machine" + command.budget().map(b -> " (budget " + b.toMinutes() + " min)").orElse(""));
      PairedRunner runner = new PairedRunner(new JmhSideRunner(err), Clock.systemUTC(),
          () -> LoadAverage.read(LoadAverage.PROC_LOADAVG), out);
      try {
        runner.run(plan, command.settings(), commandLine(args), Runtime.getRuntime().availableProcessors(), json,
            command.budget());
      } catch (IOException e) {
        err.println("benchmarks: the run failed: " + e.getMessage());
        return 1;
      }
    }
    try {
      PairedResults results = PairedResults.read(json);
      Instant finished = Files.getLastModifiedTime(json).toInstant();
      Report report = new Report(results, new Report.Run(json.toString(), finished, Instant.now()),
          Machine.probe(BenchDirs.location(), probeDatabases));
      Path parent = command.out().toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.writeString(command.out(), report.markdown(), StandardCharsets.UTF_8);
      report.ratioLines().forEach(out::println);
      out.println("report written to " + command.out());
      return 0;
    } catch (IOException e) {
      err.println("benchmarks: cannot write the report: " + e.getMessage());
      return 1;
    }
  }

  /**
   * @param results saved results
   * @return whether every result ran with the quick iteration settings
   */
  static boolean isQuick(List<JmhResult> results) {
    return !results.isEmpty() && results.stream().allMatch(r -> r.warmupIterations() == QUICK_WARMUP_ITERATIONS
        && r.warmupTime().equals(QUICK_WARMUP_SECONDS + " s")
        && r.measurementIterations() == QUICK_MEASUREMENT_ITERATIONS
        && r.measurementTime().equals(QUICK_MEASUREMENT_SECONDS + " s")
        && r.forks() == QUICK_FORKS);
  }

  /** The command as a reader would type it: the JVM's -D/-X options, the jar, the arguments. */
  private static String commandLine(String[] args) {
    List<String> parts = new ArrayList<>();
    parts.add("java");
    ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("-D") || a.startsWith("-X"))
        .forEach(parts::add);
    parts.add("-jar");
    parts.add(jar());
    parts.addAll(List.of(args));
    return String.join(" ", parts);
  }

  private static String jar() {
    try {
      Path location = Path.of(BenchmarkMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path here = Path.of("").toAbsolutePath();
      return location.startsWith(here) ? here.relativize(location).toString() : location.toString();
    } catch (URISyntaxException | RuntimeException e) {
      return "benchmarks.jar";
    }
  }
}
