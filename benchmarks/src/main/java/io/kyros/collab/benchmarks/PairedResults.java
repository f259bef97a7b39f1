package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The results of a paired run as its JSON file holds them: the settings, then each round's JMH results (JMH's own
 * JSON entries, unchanged) with when it ran and the load average before and after it, then the unpaired results. The
 * report is computed from this file alone, so {@code --report} on it regenerates the same report. A plain JMH result
 * file (an array) reads as a single round of an unpaired run, without settings. A file without {@code steadySides}
 * reads its {@code jdbcSides} instead, as the iterations of {@link RoundSettings#STEADY_STATE_CLASSES_BEFORE_TAIL}
 * (written before {@code TailLatencyBenchmark}'s sides had them too), and a file with neither (written before those
 * sides had their own iterations) as every side having the same.
 *
 * <pre>{@code
 * {"format": "collab-benchmark-rounds/1", "command": "java -jar ...", "cores": 2,
 *  "settings": {"rounds": 5, "warmupIterations": 2, "warmupSeconds": 2, "measurementIterations": 3,
 *               "measurementSeconds": 1, "quick": false, "steadySides": {"warmupIterations": 8, "warmupSeconds": 3,
 *               "measurementIterations": 3, "measurementSeconds": 2}, "steadyClasses": ["LeaseBenchmark", ...]},
 *  "rounds": [{"round": 1, "started": "2026-...Z", "finished": "2026-...Z", "loadBefore": [1.2, 0.9, 0.7],
 *              "loadAfter": [1.4, 1.0, 0.7], "results": [ ...JMH entries... ]}, ...],
 *  "unpaired": [ ...JMH entries... ]}
 * }</pre>
 *
 * <p>Immutable and thread-safe (its JSON nodes are never modified after construction).
 *
 * @param settings the run's settings, empty for a plain JMH result file
 * @param command the command line that ran it, as shown to readers
 * @param cores the cores available to the runner
 * @param rounds the rounds, in order
 * @param unpaired the unpaired results' JMH entries
 */
record PairedResults(Optional<RoundSettings> settings, String command, int cores, List<Round> rounds,
    List<JsonNode> unpaired) {

  /** The {@code format} field of the files this class writes. */
  static final String FORMAT = "collab-benchmark-rounds/1";

  /**
   * One round: every side measured once, each in its own JMH fork.
   *
   * @param number the round's number, from 1
   * @param started when its first side started
   * @param finished when its last side finished
   * @param loadBefore the load average just before it, empty where unknown
   * @param loadAfter the load average just after it, empty where unknown
   * @param jmh JMH's JSON entries of its sides, in run order
   * @param results the same entries, parsed
   */
  record Round(int number, Instant started, Instant finished, Optional<LoadAverage> loadBefore,
      Optional<LoadAverage> loadAfter, List<JsonNode> jmh, List<JmhResult> results) {

    /**
     * @param number from 1
     * @param started when it started
     * @param finished when it finished
     * @param loadBefore the load before
     * @param loadAfter the load after
     * @param jmh the JMH entries
     * @param results the parsed entries
     */
    Round {
      jmh = List.copyOf(jmh);
      results = List.copyOf(results);
    }

    /**
     * A round of JMH entries, parsed here.
     *
     * @param number from 1
     * @param started when it started
     * @param finished when it finished
     * @param loadBefore the load before
     * @param loadAfter the load after
     * @param jmh the JMH entries
     * @throws IllegalArgumentException if an entry is not a JMH result (the message names the round and the entry)
     */
    Round(int number, Instant started, Instant finished, Optional<LoadAverage> loadBefore,
        Optional<LoadAverage> loadAfter, List<JsonNode> jmh) {
      this(number, started, finished, loadBefore, loadAfter, jmh, parse(jmh, "round " + number));
    }

    /**
     * @return how long the round took
     */
    Duration took() {
      return Duration.between(started, finished);
    }
  }

  /**
   * @param settings the settings
   * @param command the command
   * @param cores the cores
   * @param rounds the rounds
   * @param unpaired the unpaired entries
   */
  PairedResults {
    rounds = List.copyOf(rounds);
    unpaired = List.copyOf(unpaired);
  }

  /**
   * @return whether the rounds were paired (a paired run's file), not one plain JMH run
   */
  boolean paired() {
    return settings.isPresent();
  }

  /**
   * @return the unpaired results, parsed
   */
  List<JmhResult> unpairedResults() {
    return parse(unpaired, "the unpaired results");
  }

  private static List<JmhResult> parse(List<JsonNode> entries, String where) {
    try {
      return JmhResult.parseAll(new ObjectMapper().createArrayNode().addAll(entries), where);
    } catch (IOException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /**
   * @return every result of every round, then the unpaired ones
   */
  List<JmhResult> allResults() {
    List<JmhResult> all = new ArrayList<>();
    rounds.forEach(r -> all.addAll(r.results()));
    all.addAll(unpairedResults());
    return all;
  }

  /**
   * @return this run as its JSON file holds it
   */
  ObjectNode toJson() {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = mapper.createObjectNode();
    root.put("format", FORMAT);
    root.put("command", command);
    root.put("cores", cores);
    settings.ifPresent(s -> {
      ObjectNode node = root.putObject("settings");
      node.put("rounds", s.rounds());
      putIterations(node, s.iterations());
      node.put("quick", s.quick());
      putIterations(node.putObject("steadySides"), s.steadySides());
      ArrayNode classes = node.putArray("steadyClasses");
      s.steadyClasses().forEach(classes::add);
    });
    ArrayNode rounds = root.putArray("rounds");
    for (Round round : this.rounds) {
      ObjectNode node = rounds.addObject();
      node.put("round", round.number());
      node.put("started", round.started().toString());
      node.put("finished", round.finished().toString());
      round.loadBefore().ifPresent(l -> node.putArray("loadBefore").add(l.one()).add(l.five()).add(l.fifteen()));
      round.loadAfter().ifPresent(l -> node.putArray("loadAfter").add(l.one()).add(l.five()).add(l.fifteen()));
      node.putArray("results").addAll(round.jmh());
    }
    root.putArray("unpaired").addAll(unpaired);
    return root;
  }

  /**
   * Writes the JSON file, replacing it whole (a run killed mid-write leaves the previous complete file).
   *
   * @param file the file
   * @throws IOException if it cannot be written
   */
  void write(Path file) throws IOException {
    Path absolute = file.toAbsolutePath();
    Files.createDirectories(absolute.getParent());
    Path temporary = absolute.resolveSibling(absolute.getFileName() + ".tmp");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(temporary.toFile(), toJson());
    Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Reads a paired run's JSON file, or a plain JMH result file as one unpaired round.
   *
   * @param file the file
   * @return its results
   * @throws IOException if it is missing, unreadable or neither kind of file (the message names the file and the bad
   *     part)
   */
  static PairedResults read(Path file) throws IOException {
    JsonNode root = JmhResult.readTree(file);
    String where = file.toAbsolutePath().toString();
    if (root != null && root.isArray()) {
      JmhResult.parseAll(root, where);
      Instant written = Files.getLastModifiedTime(file).toInstant();
      List<JsonNode> entries = new ArrayList<>();
      root.forEach(entries::add);
      return new PairedResults(Optional.empty(), "unknown (a plain JMH result file)", 0,
          List.of(new Round(1, written, written, Optional.empty(), Optional.empty(), entries)), List.of());
    }
    if (root == null || !root.isObject() || !FORMAT.equals(root.path("format").asText())) {
      throw new IOException("neither a paired run's results (\"format\": \"" + FORMAT + "\") nor a JMH JSON result "
          + "(expected an array of benchmarks): " + where);
    }
    try {
      JsonNode s = root.path("settings");
      Iterations every = iterations(s);
      // "jdbcSides": the name in files written before TailLatencyBenchmark's sides joined the steady ones
      boolean legacy = !s.path("steadySides").isObject() && s.path("jdbcSides").isObject();
      JsonNode steady = legacy ? s.path("jdbcSides") : s.path("steadySides");
      Iterations steadyIterations = steady.isObject() ? iterations(steady) : every;
      List<String> steadyClasses = new ArrayList<>();
      s.path("steadyClasses").forEach(c -> steadyClasses.add(c.asText()));
      if (steadyClasses.isEmpty()) {
        steadyClasses.addAll(
            legacy ? RoundSettings.STEADY_STATE_CLASSES_BEFORE_TAIL : RoundSettings.STEADY_STATE_CLASSES);
      }
      Optional<RoundSettings> settings = Optional.of(new RoundSettings(s.path("rounds").asInt(),
          every.warmupIterations(), every.warmupSeconds(), every.measurementIterations(), every.measurementSeconds(),
          s.path("quick").asBoolean(), steadyIterations, steadyClasses));
      List<Round> rounds = new ArrayList<>();
      for (JsonNode node : root.path("rounds")) {
        int number = node.path("round").asInt();
        List<JsonNode> entries = new ArrayList<>();
        node.path("results").forEach(entries::add);
        rounds.add(new Round(number, Instant.parse(node.path("started").asText()),
            Instant.parse(node.path("finished").asText()), load(node.path("loadBefore")), load(node.path("loadAfter")),
            entries));
      }
      JmhResult.parseAll(root.path("unpaired"), "the unpaired results of " + where);
      List<JsonNode> unpaired = new ArrayList<>();
      root.path("unpaired").forEach(unpaired::add);
      return new PairedResults(settings, root.path("command").asText(), root.path("cores").asInt(), rounds, unpaired);
    } catch (IllegalArgumentException | DateTimeParseException e) {
      throw new IOException("bad paired run results in " + where + ": " + e.getMessage(), e);
    }
  }

  private static Optional<LoadAverage> load(JsonNode node) {
    return node.isArray() && node.size() == 3
        ? Optional.of(new LoadAverage(node.get(0).asDouble(), node.get(1).asDouble(), node.get(2).asDouble()))
        : Optional.empty();
  }

  /** Writes iterations as the four fields the settings and {@code steadySides} both hold. */
  private static void putIterations(ObjectNode node, Iterations it) {
    node.put("warmupIterations", it.warmupIterations());
    node.put("warmupSeconds", it.warmupSeconds());
    node.put("measurementIterations", it.measurementIterations());
    node.put("measurementSeconds", it.measurementSeconds());
  }

  /**
   * @param node the settings or {@code steadySides}
   * @return the iterations its four fields hold
   * @throws IllegalArgumentException if a count is below 1
   */
  private static Iterations iterations(JsonNode node) {
    return new Iterations(node.path("warmupIterations").asInt(), node.path("warmupSeconds").asInt(),
        node.path("measurementIterations").asInt(), node.path("measurementSeconds").asInt());
  }
}
