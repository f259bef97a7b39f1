package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kyros.collab.benchmarks.Comparison.Selector;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.NoBenchmarksException;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.runner.format.OutputFormatFactory;

/**
 * Runs one side with JMH: the benchmark method alone, with the side's parameters, one fork, the iterations it is given
 * (the round's for that side, {@link RoundSettings#forSide}, overriding the benchmark's annotations; its other
 * annotations, such as a fork's {@code jvmArgsAppend}, stay) and JMH's GC profiler. JMH's own output is kept back
 * and printed only when the side gives no result, so a failure shows JMH's error; a side whose benchmark is not in
 * the jar gives no result either. Forks inherit the runner JVM's options ({@code -Dcollab.bench.dir}).
 *
 * <p>Not thread-safe; JMH itself allows one run per machine at a time ({@code /tmp/jmh.lock}).
 */
final class JmhSideRunner implements SideRunner {
  private static final String PACKAGE = "io.kyros.collab.benchmarks.";

  private final PrintStream errors;

  /**
   * @param errors where JMH's output goes when a side fails
   */
  JmhSideRunner(PrintStream errors) {
    this.errors = errors;
  }

  @Override
  public List<JsonNode> run(Selector side, RoundSettings settings) throws IOException {
    ChainedOptionsBuilder options = new OptionsBuilder()
        .include("^" + Pattern.quote(PACKAGE + side.method()) + "$")
        .warmupIterations(settings.warmupIterations())
        .warmupTime(TimeValue.seconds(settings.warmupSeconds()))
        .measurementIterations(settings.measurementIterations())
        .measurementTime(TimeValue.seconds(settings.measurementSeconds()))
        .forks(1)
        .addProfiler(GCProfiler.class);
    side.params().forEach((name, value) -> options.param(name, value));
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    Collection<RunResult> results;
    try (PrintStream jmhOutput = new PrintStream(output, true, StandardCharsets.UTF_8)) {
      results = new Runner(options.build(), OutputFormatFactory.createFormatInstance(jmhOutput, VerboseMode.NORMAL))
          .run();
    } catch (NoBenchmarksException e) {
      errors.println("benchmarks: no benchmark " + side + " in this jar");
      return List.of();
    } catch (RunnerException e) {
      errors.print(output.toString(StandardCharsets.UTF_8));
      throw new IOException("JMH could not run " + side + ": " + e.getMessage(), e);
    }
    if (results.isEmpty()) {
      errors.print(output.toString(StandardCharsets.UTF_8));
      return List.of();
    }
    ByteArrayOutputStream json = new ByteArrayOutputStream();
    try (PrintStream jsonOut = new PrintStream(json, true, StandardCharsets.UTF_8)) {
      ResultFormatFactory.getInstance(ResultFormatType.JSON, jsonOut).writeOut(results);
    }
    List<JsonNode> entries = new ArrayList<>();
    new ObjectMapper().readTree(json.toByteArray()).forEach(entries::add);
    return entries;
  }
}
