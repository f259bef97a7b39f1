package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.ClaimWorker;
import io.kyros.collab.file.harness.MultiProcessWorker;
import io.kyros.collab.file.harness.StoreChecker;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several JVMs on one store directory (docs/design.md invariant 6: the file backend keeps every invariant
 * across processes on one machine). {@value #CHILDREN} child JVMs, started together, each do
 * {@value #INCREMENTS} read-modify-write increments of one counter document, {@value #ROUNDS}
 * rounds of holding one contended lease with two guarded writes, and {@value #APPENDS} appends.
 * Afterwards:
 * <ul>
 *   <li>the counter equals the number of acknowledged increments, and the log holds exactly one
 *       document event per increment;</li>
 *   <li>no two holders overlapped: lease_acquired fences strictly increase, every guarded write in
 *       the log is made under the resource's current lease, the guarded document's history shows
 *       fences never decreasing with each holder's writes contiguous, and the holders' real-time
 *       intervals (acquire returned .. release called, CLOCK_MONOTONIC) are disjoint;</li>
 *   <li>every event id is unique (the whole log reads with strictly increasing ids, acknowledged ids
 *       are pairwise distinct), and every acknowledged append is in the log with the same content;</li>
 *   <li>the store agrees with its log ({@link StoreChecker}: no lost, torn or corrupt record).</li>
 * </ul>
 */
class MultiProcessTest {
  static final int CHILDREN = 4;
  static final int INCREMENTS = 100;
  static final int ROUNDS = 15;
  static final int APPENDS = 100;
  static final int CLAIMERS = 3;
  static final int BACKLOG = 90;
  private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(90);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void severalJvmsOnOneDirectoryKeepCountsFencesAndEvents() throws Exception {
    long seed = Long.getLong("mp.seed", System.nanoTime());
    System.out.println("MultiProcessTest seed=" + seed + " dir=" + tmp);
    Path store = tmp.resolve("store");
    List<ChildJvm> children = new ArrayList<>();
    StoreChecker checker = new StoreChecker(Set.of("mp"));
    List<String> holds = new ArrayList<>();
    List<String> eventAcks = new ArrayList<>();
    long increments = 0;
    try {
      for (int i = 0; i < CHILDREN; i++) {
        String name = "child-" + i;
        children.add(ChildJvm.start(name, MultiProcessWorker.class, tmp.resolve(name + ".err"),
            List.of(store.toString(), name, "" + INCREMENTS, "" + ROUNDS, "" + APPENDS, "" + (seed + i))));
      }
      for (ChildJvm c : children) {
        assertThat(c.awaitLine("ready"::equals, Duration.ofSeconds(60)))
            .as("seed %d: %s did not print ready:\n%s", seed, c.name(), c.describe()).isTrue();
      }
      for (ChildJvm c : children) {
        c.send("go");
      }
      for (ChildJvm c : children) {
        boolean exited = c.waitFor(CHILD_TIMEOUT);
        assertThat(exited).as("seed %d: %s still running after %s:\n%s", seed, c.name(), CHILD_TIMEOUT, c.describe())
            .isTrue();
        assertThat(c.awaitEof(Duration.ofSeconds(30))).as("%s stdout closed", c.name()).isTrue();
        assertThat(c.exitValue()).as("seed %d: exit value of %s:\n%s", seed, c.name(), c.describe()).isZero();
        List<String> lines = c.lines();
        assertThat(lines).as("seed %d: %s finished", seed, c.name()).contains("done");
        checker.addAcks(c.name(), lines);
        for (String line : lines) {
          if (line.startsWith("hold ")) {
            holds.add(c.name() + " " + line);
          } else if (line.startsWith("doc mp counter ")) {
            increments++;
          } else if (line.startsWith("event ")) {
            eventAcks.add(line);
          }
        }
      }
    } finally {
      for (ChildJvm c : children) {
        c.close();
      }
    }
    assertThat(increments).isEqualTo((long) CHILDREN * INCREMENTS);
    assertThat(holds).hasSize(CHILDREN * ROUNDS);
    assertThat(eventAcks).hasSize(CHILDREN * APPENDS);

    try (FileStorage storage = FileStorage.open(store)) {
      StoreChecker.Report report = checker.check(storage);
      assertThat(report.clean()).as("seed %d: store check: %s", seed, report).isTrue();

      // the counter is exact, and each increment is one document event
      StoredRecord counter = storage.read(new RecordKey("mp", "counter")).orElseThrow();
      ObjectMapper mapper = new ObjectMapper();
      assertThat(mapper.readTree(counter.json()).path("n").asLong()).as("seed %d: counter", seed)
          .isEqualTo(increments);
      List<StoredEvent> log = StoreChecker.readLog(storage);
      List<String> incrementers = log.stream().filter(e -> e.target().equals("documents/mp/counter"))
          .map(StoredEvent::actor).toList();
      assertThat(incrementers).hasSize((int) increments);
      // the children really ran at the same time: the counter's history switches between them
      long switches = java.util.stream.IntStream.range(1, incrementers.size())
          .filter(i -> !incrementers.get(i).equals(incrementers.get(i - 1))).count();
      System.out.println("MultiProcessTest: the counter's writer changed " + switches + " times in "
          + incrementers.size() + " increments");
      assertThat(switches).as("interleaving of the children's increments").isGreaterThanOrEqualTo(CHILDREN);

      // event ids: unique in the log and among the acknowledgements
      Set<Long> ids = new HashSet<>();
      for (StoredEvent e : log) {
        assertThat(ids.add(e.id())).as("event id %d appears twice", e.id()).isTrue();
      }
      Set<String> ackedIds = new HashSet<>();
      for (String a : eventAcks) {
        assertThat(ackedIds.add(a.split(" ")[1])).as("acknowledged event id reused: %s", a).isTrue();
      }
      assertThat(log.stream().filter(e -> e.type().equals("mp.append"))).hasSize(CHILDREN * APPENDS);

      // the guarded document's history: fences never decrease; once a fence is left it never returns
      List<Long> fences = new ArrayList<>();
      for (StoredEvent e : log) {
        if (e.target().equals("documents/mp/guarded")) {
          JsonNode d = mapper.readTree(e.detailsJson());
          fences.add(d.path("fence").asLong());
        }
      }
      assertThat(fences).as("guarded writes").hasSize(CHILDREN * ROUNDS * 2).isSorted();
      List<Long> acquiredFences = log.stream().filter(e -> e.type().equals("lease_acquired"))
          .map(e -> readFence(mapper, e)).toList();
      assertThat(acquiredFences).as("fences of lease_acquired on %s", MultiProcessWorker.LOCK)
          .hasSize(CHILDREN * ROUNDS).doesNotHaveDuplicates().isSorted();
      assertThat(fences.stream().distinct().toList()).as("each holder's writes in one run")
          .hasSize(CHILDREN * ROUNDS);
    }

    // real-time intervals of the holders, on the machine-wide monotonic clock, are disjoint
    List<long[]> intervals = new ArrayList<>();
    for (String h : holds) {
      String[] f = h.split(" ");
      intervals.add(new long[] {Long.parseLong(f[2]), Long.parseLong(f[4]), Long.parseLong(f[5])});
      assertThat(f[6]).as("seed %d: release returned true for %s", seed, h).isEqualTo("true");
    }
    intervals.sort((a, b) -> Long.compare(a[0], b[0])); // by fence
    for (int i = 1; i < intervals.size(); i++) {
      assertThat(intervals.get(i)[1]).as("seed %d: holder with fence %d acquired before fence %d released",
          seed, intervals.get(i)[0], intervals.get(i - 1)[0]).isGreaterThan(intervals.get(i - 1)[2]);
    }
  }

  /**
   * {@value #CLAIMERS} JVMs claim and complete one backlog of {@value #BACKLOG} tasks with
   * {@code Tasks.claimNext} (through the file store's index where core uses it) until none is
   * claimable: each task is claimed once and completed once, which the event log shows
   * ({@code task_claimed} and {@code task_completed} once per task, the completion by the claimer), every
   * task ends done, each child's acknowledgements match the log, and the work was shared.
   */
  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void threeJvmsClaimOneBacklogEachTaskExactlyOnce() throws Exception {
    Path store = tmp.resolve("claims");
    try (FileStorage storage = FileStorage.open(store);
        Collab collab = Collab.builder().storage(storage).holder("producer").build()) {
      for (int i = 0; i < BACKLOG; i++) {
        collab.tasks().create(NewTask.of("job " + i).withId(String.format("job-%03d", i)).withPriority(i % 3));
      }
    }
    List<ChildJvm> children = new ArrayList<>();
    Map<String, String> claimedBy = new HashMap<>();
    Set<String> completedAcks = new HashSet<>();
    try {
      for (int i = 0; i < CLAIMERS; i++) {
        String name = "claimer-" + i;
        children.add(ChildJvm.start(name, ClaimWorker.class, tmp.resolve(name + ".err"), List.of(store.toString(), name)));
      }
      for (ChildJvm c : children) {
        assertThat(c.awaitLine("ready"::equals, Duration.ofSeconds(60))).as("%s:\n%s", c.name(), c.describe()).isTrue();
      }
      for (ChildJvm c : children) {
        c.send("go");
      }
      for (ChildJvm c : children) {
        assertThat(c.waitFor(CHILD_TIMEOUT)).as("%s still running:\n%s", c.name(), c.describe()).isTrue();
        assertThat(c.awaitEof(Duration.ofSeconds(30))).isTrue();
        assertThat(c.exitValue()).as("exit value of %s:\n%s", c.name(), c.describe()).isZero();
        for (String line : c.lines()) {
          String[] f = line.split(" ");
          if (f[0].equals("claimed")) {
            assertThat(claimedBy.put(f[1], c.name())).as("%s acknowledged twice", line).isNull();
          } else if (f[0].equals("completed")) {
            assertThat(completedAcks.add(f[1])).as("%s acknowledged twice", line).isTrue();
          }
        }
      }
    } finally {
      for (ChildJvm c : children) {
        c.close();
      }
    }
    assertThat(claimedBy).hasSize(BACKLOG);
    assertThat(completedAcks).isEqualTo(claimedBy.keySet());
    assertThat(new HashSet<>(claimedBy.values())).as("claims spread over the JVMs").hasSizeGreaterThan(1);
    try (FileStorage storage = FileStorage.open(store);
        Collab collab = Collab.builder().storage(storage).holder("checker").build()) {
      Map<String, List<String>> claims = new HashMap<>();
      Map<String, List<String>> completions = new HashMap<>();
      for (StoredEvent e : StoreChecker.readLog(storage)) {
        if (e.type().equals("task_claimed")) {
          claims.computeIfAbsent(e.target(), t -> new ArrayList<>()).add(e.actor());
        } else if (e.type().equals("task_completed")) {
          completions.computeIfAbsent(e.target(), t -> new ArrayList<>()).add(e.actor());
        }
      }
      assertThat(claims).hasSize(BACKLOG);
      assertThat(completions).hasSize(BACKLOG);
      claims.forEach((target, actors) -> {
        assertThat(actors).as("claims of %s", target).hasSize(1);
        assertThat(completions.get(target)).as("completions of %s", target).isEqualTo(actors);
        assertThat(actors.get(0)).as("claimer of %s in the log and in the acknowledgements", target)
            .isEqualTo(claimedBy.get(target.substring("tasks/".length())));
      });
      for (int i = 0; i < BACKLOG; i++) {
        assertThat(collab.tasks().get(String.format("job-%03d", i)).orElseThrow().status()).isEqualTo("done");
      }
    }
  }

  private static long readFence(ObjectMapper mapper, StoredEvent e) {
    try {
      return mapper.readTree(e.detailsJson()).path("fence").asLong();
    } catch (Exception x) {
      throw new IllegalStateException(x);
    }
  }
}
