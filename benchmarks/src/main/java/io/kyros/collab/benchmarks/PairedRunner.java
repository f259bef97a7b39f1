package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kyros.collab.benchmarks.Comparison.Selector;
import io.kyros.collab.benchmarks.PairedResults.Round;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Runs a {@link Plan} in rounds: each round measures every side once, in the plan's order for that round (ABBA), with
 * the load average read before and after it; the results file is rewritten after every round, so an interrupted run
 * still has its complete rounds. A side that gives no result in the first round (a database that is not there) is not
 * retried. With a time budget, extra rounds of only the groups whose comparisons are still inconclusive run while the
 * next one fits. The unpaired results run once at the end. Each side runs with the round's settings for it
 * ({@link RoundSettings#forSide}: longer iterations for the JDBC and tail benchmark classes).
 *
 * <p>Not thread-safe: one run at a time.
 */
final class PairedRunner {
  /** JVM start, setup and teardown per side, assumed until a side has been timed. */
  static final Duration ASSUMED_OVERHEAD = Duration.ofSeconds(2);

  private final SideRunner sides;
  private final Clock clock;
  private final Supplier<Optional<LoadAverage>> load;
  private final PrintStream progress;

  /**
   * @param sides what measures a side
   * @param clock the time rounds are stamped with and the budget is judged by
   * @param load reads the load average
   * @param progress where a line per measured side goes
   */
  PairedRunner(SideRunner sides, Clock clock, Supplier<Optional<LoadAverage>> load, PrintStream progress) {
    this.sides = sides;
    this.clock = clock;
    this.load = load;
    this.progress = progress;
  }

  /**
   * Runs the plan and writes its results.
   *
   * @param plan what to run
   * @param settings rounds and iterations
   * @param command the command line, as shown to readers
   * @param cores the cores available
   * @param json where the results go, rewritten after every round
   * @param budget the whole run's time budget for extra rounds, empty for none
   * @return the results, as written
   * @throws IOException if a side cannot be run or the results cannot be written
   */
  PairedResults run(Plan plan, RoundSettings settings, String command, int cores, Path json, Optional<Duration> budget)
      throws IOException {
    Instant start = clock.instant();
    Map<Selector, Duration> took = new HashMap<>();
    Set<Selector> failed = new LinkedHashSet<>();
    List<Round> rounds = new ArrayList<>();
    for (int r = 0; r < settings.rounds(); r++) {
      rounds.add(round(plan, r, plan.allGroups(), settings, failed, took));
      write(settings, command, cores, rounds, List.of(), json);
    }
    if (budget.isPresent()) {
      Instant deadline = start.plus(budget.get()).minus(expected(plan.unpaired(), settings, took));
      for (Set<Integer> open = undecided(plan, rounds, settings); !open.isEmpty();
          open = undecided(plan, rounds, settings)) {
        List<Selector> next = plan.order(rounds.size(), open);
        if (clock.instant().plus(expected(next, settings, took)).isAfter(deadline)) {
          progress.println("budget: no time for another round of " + next.size() + " sides");
          break;
        }
        rounds.add(round(plan, rounds.size(), open, settings, failed, took));
        write(settings, command, cores, rounds, List.of(), json);
      }
    }
    List<JsonNode> unpaired = new ArrayList<>();
    for (int i = 0; i < plan.unpaired().size(); i++) {
      Selector side = plan.unpaired().get(i);
      unpaired.addAll(measure(side, settings, "unpaired [" + (i + 1) + "/" + plan.unpaired().size() + "]", took));
    }
    return write(settings, command, cores, rounds, unpaired, json);
  }

  private Round round(Plan plan, int index, Set<Integer> groups, RoundSettings settings, Set<Selector> failed,
      Map<Selector, Duration> took) throws IOException {
    Optional<LoadAverage> before = load.get();
    Instant started = clock.instant();
    List<Selector> order = plan.order(index, groups).stream().filter(s -> !failed.contains(s)).toList();
    List<JsonNode> entries = new ArrayList<>();
    String total = index < settings.rounds() ? String.valueOf(settings.rounds()) : settings.rounds() + "+";
    for (int i = 0; i < order.size(); i++) {
      Selector side = order.get(i);
      List<JsonNode> measured = measure(side, settings,
          "round " + (index + 1) + "/" + total + " [" + (i + 1) + "/" + order.size() + "]", took);
      if (measured.isEmpty() && index == 0) {
        failed.add(side);
        progress.println("  " + side + " gave no result in the first round: not retried");
      }
      entries.addAll(measured);
    }
    Instant finished = clock.instant();
    return new Round(index + 1, started, finished, before, load.get(), entries);
  }

  private List<JsonNode> measure(Selector side, RoundSettings settings, String where, Map<Selector, Duration> took)
      throws IOException {
    Instant started = clock.instant();
    List<JsonNode> measured = sides.run(side, settings.forSide(side));
    Duration duration = Duration.between(started, clock.instant());
    took.put(side, duration);
    String outcome = measured.isEmpty() ? "no result"
        : JmhResult.parseAll(new ObjectMapper().createArrayNode().addAll(measured), where)
            .stream().map(r -> Report.number(r.primary().score()) + " " + r.primary().unit())
            .reduce((a, b) -> a + ", " + b).orElse("");
    progress.println(where + " " + side + ": " + outcome
        + String.format(Locale.ROOT, " (%.1f s)", duration.toMillis() / 1000.0));
    return measured;
  }

  /**
   * The time a plan should take with these settings on an idle machine: every side's iterations (its own, with
   * {@link RoundSettings#forSide}) plus {@link #ASSUMED_OVERHEAD}, for every planned round and the unpaired results
   * (no budget rounds).
   *
   * @param plan the plan
   * @param settings its settings
   * @return the expected duration
   */
  static Duration expected(Plan plan, RoundSettings settings) {
    return assumed(plan.order(0, plan.allGroups()), settings).multipliedBy(settings.rounds())
        .plus(assumed(plan.unpaired(), settings));
  }

  /** The time the sides should take: their iterations plus {@link #ASSUMED_OVERHEAD} each. */
  private static Duration assumed(List<Selector> sides, RoundSettings settings) {
    return sides.stream().map(s -> assumed(s, settings)).reduce(Duration.ZERO, Duration::plus);
  }

  private static Duration assumed(Selector side, RoundSettings settings) {
    return Duration.ofSeconds(settings.forSide(side).secondsPerSide()).plus(ASSUMED_OVERHEAD);
  }

  /** The groups holding a comparison that is inconclusive yet decidable by more rounds. */
  private static Set<Integer> undecided(Plan plan, List<Round> rounds, RoundSettings settings) {
    Set<Integer> open = new LinkedHashSet<>();
    if (settings.notValidForTargets().isPresent()) {
      return open;
    }
    for (Comparison c : plan.comparisons()) {
      Verdict verdict = Verdict.judge(c.estimate(rounds).orElse(null), c.target(), null);
      if (verdict.outcome() == Verdict.Outcome.INCONCLUSIVE && verdict.moreRounds().isPresent()) {
        open.add(plan.groupOf(c));
      }
    }
    return open;
  }

  /** The time the sides should take: as last measured, else their iterations plus {@link #ASSUMED_OVERHEAD}. */
  private static Duration expected(List<Selector> sides, RoundSettings settings, Map<Selector, Duration> took) {
    return sides.stream().map(s -> took.getOrDefault(s, assumed(s, settings))).reduce(Duration.ZERO, Duration::plus);
  }

  private static PairedResults write(RoundSettings settings, String command, int cores, List<Round> rounds,
      List<JsonNode> unpaired, Path json) throws IOException {
    PairedResults results = new PairedResults(Optional.of(settings), command, cores, rounds, unpaired);
    results.write(json);
    return results;
  }
}
