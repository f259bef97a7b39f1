package io.kyros.collab.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The benchmarks jar's main class: runs the whole suite (or {@code --quick}, or a subset) with JMH's GC profiler,
 * writes JMH's JSON results and then the report ({@link Report}): {@code docs/benchmarks.md} and one
 * {@code ratio <name> <value>} line per comparison on standard output. {@code --report <json>} only writes the report
 * from saved results. Arguments with a single dash ({@code -l}, {@code -prof gc}, {@code -f 1}) go to JMH's own
 * command line unchanged, so the jar still works as a plain JMH jar. See {@link #USAGE}.
 */
public final class BenchmarkMain {

  /** Quick mode: warmup iterations. */
  static final int QUICK_WARMUP_ITERATIONS = 1;
  /** Quick mode: seconds per warmup iteration. */
  static final int QUICK_WARMUP_SECONDS = 1;
  /** Quick mode: measurement iterations. */
  static final int QUICK_MEASUREMENT_ITERATIONS = 2;
  /** Quick mode: seconds per measurement iteration. */
  static final int QUICK_MEASUREMENT_SECONDS = 2;
  /** Quick mode: forks. */
  static final int QUICK_FORKS = 1;

  /** The command line's help text. */
  static final String USAGE = """
      usage: java [-Dcollab.bench.dir=<dir>] -jar benchmarks.jar [--quick] [--result <json>] [--out <md>] [<regex>...]
             java -jar benchmarks.jar --report <json> [--out <md>]
             java -jar benchmarks.jar <JMH options>     (any single-dash option, e.g. -l, -h, -prof gc: plain JMH)

        (none)           every benchmark of io.kyros.collab.benchmarks with its own iteration settings, GC profiler
        --quick          the same with 1 warmup x 1 s, 2 measurements x 2 s, 1 fork (under 10 minutes in all)
        <regex>...       only benchmarks whose name matches one of these (e.g. LeaseBenchmark)
        --result <json>  JMH's JSON results (default benchmarks/target/jmh-result.json, else jmh-result.json)
        --out <md>       the report (default docs/benchmarks.md, else benchmarks.md)
        --report <json>  no run: write the report from saved JSON results
        --help           this text
      """;

  private static final String PACKAGE = "^io\\.kyros\\.collab\\.benchmarks\\.";

  private BenchmarkMain() {}

  /**
   * What the command line asks for.
   *
   * @param quick whether to run with the quick iteration settings
   * @param report the saved results to report on without a run, or {@code null} to run
   * @param result where JMH writes its JSON results
   * @param out where the report goes
   * @param includes regexes selecting benchmarks, all of the package when empty
   * @param help whether only the usage was asked for
   */
  record Command(boolean quick, Path report, Path result, Path out, List<String> includes, boolean help) {}

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
   * @throws IllegalArgumentException if an option is unknown, lacks its value or does not fit with the others
   */
  static Command parse(String[] args) {
    boolean quick = false;
    boolean help = false;
    Path report = null;
    Path result = null;
    Path out = null;
    List<String> includes = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "--quick" -> quick = true;
        case "--help" -> help = true;
        case "--report" -> report = Path.of(value(args, ++i, arg));
        case "--result" -> result = Path.of(value(args, ++i, arg));
        case "--out" -> out = Path.of(value(args, ++i, arg));
        default -> {
          if (arg.startsWith("--")) {
            throw new IllegalArgumentException("unknown option " + arg);
          }
          includes.add(arg);
        }
      }
    }
    if (report != null && (quick || result != null || !includes.isEmpty())) {
      throw new IllegalArgumentException("--report only writes the report: it takes no --quick, --result or regexes");
    }
    if (result == null) {
      result = Files.isDirectory(Path.of("benchmarks", "target"))
          ? Path.of("benchmarks", "target", "jmh-result.json") : Path.of("jmh-result.json");
    }
    if (out == null) {
      out = Files.isDirectory(Path.of("docs")) ? Path.of("docs", "benchmarks.md") : Path.of("benchmarks.md");
    }
    return new Command(quick, report, result, out, List.copyOf(includes), help);
  }

  private static String value(String[] args, int index, String option) {
    if (index >= args.length || args[index].startsWith("--")) {
      throw new IllegalArgumentException(option + " needs a file name");
    }
    return args[index];
  }

  /**
   * Runs what the command line asks for.
   *
   * @param args the command line, without JMH's options
   * @param out where the ratio lines go
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
    String shown = commandLine(args);
    Path json = command.report() != null ? command.report() : command.result();
    String kind = null;
    if (command.report() == null) {
      try {
        runJmh(command);
      } catch (RunnerException | IOException e) {
        err.println("benchmarks: the JMH run failed: " + e.getMessage());
        return 1;
      }
      kind = command.quick() ? quickKind() : fullKind();
    }
    try {
      List<JmhResult> results = JmhResult.read(json);
      if (kind == null) {
        kind = (isQuick(results) ? quickKind() : fullKind()) + "; inferred from the results' iteration settings";
      }
      Instant finished = Files.getLastModifiedTime(json).toInstant();
      Report report = new Report(results, new Report.Run(shown, kind, json.toString(), finished, Instant.now()),
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

  private static void runJmh(Command command) throws RunnerException, IOException {
    Path parent = command.result().toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    // forks inherit this JVM's options (-Dcollab.bench.dir...): JMH uses them when no jvmArgs are given
    ChainedOptionsBuilder options = new OptionsBuilder()
        .addProfiler(GCProfiler.class)
        .resultFormat(ResultFormatType.JSON)
        .result(command.result().toString());
    if (command.includes().isEmpty()) {
      options.include(PACKAGE);
    } else {
      command.includes().forEach(options::include);
    }
    if (command.quick()) {
      options.warmupIterations(QUICK_WARMUP_ITERATIONS)
          .warmupTime(TimeValue.seconds(QUICK_WARMUP_SECONDS))
          .measurementIterations(QUICK_MEASUREMENT_ITERATIONS)
          .measurementTime(TimeValue.seconds(QUICK_MEASUREMENT_SECONDS))
          .forks(QUICK_FORKS);
    }
    new Runner(options.build()).run();
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

  private static String quickKind() {
    return "quick (`--quick`: few short iterations, indicative only; the full run's numbers are the ones to quote)";
  }

  private static String fullKind() {
    return "full (each benchmark's own `@Warmup`, `@Measurement` and `@Fork`)";
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
