package io.kyros.collab.samples;

import io.kyros.collab.Collab;
import io.kyros.collab.EventFilter;
import io.kyros.collab.KeepAlive;
import io.kyros.collab.MarkdownLogRenderer;
import io.kyros.collab.NewTask;
import io.kyros.collab.Subscription;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.file.FileStorage;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The main sample: a team of worker threads, each with its own {@link Collab} and its own
 * {@link FileStorage} handle on one shared directory, claims tasks (respecting dependencies and
 * priorities), keeps each claim alive while working, moves it through the Kanban workflow and
 * completes it; one task fails once and is retried after a backoff. A subscriber prints the event
 * log as it grows. The store is a fresh directory under {@code ./collab-data} (or under the
 * directory given as the first argument), left in place so its files can be read with {@code cat}
 * and {@code jq}.
 *
 * <p>Run it with {@code ./mvnw -q -DskipTests -pl samples -am package exec:java}.
 */
public final class TeamOfWorkers {
  private static final int WORKERS = 4;

  private TeamOfWorkers() {}

  /**
   * Runs the sample.
   *
   * @param args optionally, the directory under which the store is created (default
   *     {@code collab-data})
   * @throws Exception if a worker fails
   */
  public static void main(String[] args) throws Exception {
    Path parent = Path.of(args.length > 0 ? args[0] : "collab-data");
    Path dir = parent.resolve("team-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS")));
    MarkdownLogRenderer renderer = MarkdownLogRenderer.create();
    try (FileStorage storage = FileStorage.open(dir);
        Collab lead = Collab.builder().storage(storage).holder("lead").build()) {
      System.out.println("# A team of " + WORKERS + " workers on one Collab file store: " + dir + "\n");
      Subscription printer = lead.events().subscribe(0, EventFilter.all(), e -> System.out.println(renderer.renderLine(e)));

      lead.tasks().create(NewTask.of("Design the API").withId("design").withPriority(10));
      for (String part : List.of("documents", "leases", "events", "tasks")) {
        lead.tasks().create(NewTask.of("Implement " + part).withId("impl-" + part).withDependsOn("design")
            .withLabels("code").withChecklist("code", "tests"));
      }
      lead.tasks().create(NewTask.of("Flaky integration run").withId("flaky").withPriority(5));
      lead.tasks().create(NewTask.of("Write the README").withId("readme")
          .withDependsOn("impl-documents", "impl-leases", "impl-events", "impl-tasks"));
      lead.tasks().create(NewTask.of("Release").withId("release").withDependsOn("readme", "flaky"));

      ExecutorService pool = Executors.newFixedThreadPool(WORKERS);
      List<Future<Integer>> done = new ArrayList<>();
      for (int w = 1; w <= WORKERS; w++) {
        String name = "worker-" + w;
        done.add(pool.submit(() -> work(dir, name)));
      }
      int total = 0;
      for (Future<Integer> f : done) {
        total += f.get(2, TimeUnit.MINUTES);
      }
      pool.shutdown();

      // let the printer catch up with the last events before closing it
      long last = lead.events().lastId();
      while (printer.position() < last) {
        LockSupport.parkNanos(1_000_000L);
      }
      printer.close();

      Map<String, Integer> board = new TreeMap<>();
      for (Task t : lead.tasks().list(TaskFilter.all())) {
        board.merge(t.status(), 1, Integer::sum);
      }
      System.out.println("\nWorkers completed " + total + " tasks; board: " + board + "; events: " + last);
      System.out.println("The files are in " + dir + ": documents under state/ (tasks in state/_tasks),"
          + " the event log under events/ (try: jq -c '{id, event, target}' " + dir + "/events/*.jsonl)");
    }
  }

  /** One worker: claim, keep the claim alive, work through the workflow, complete; until all is done. */
  private static int work(Path dir, String name) throws InterruptedException {
    int completed = 0;
    try (FileStorage storage = FileStorage.open(dir);
        Collab collab = Collab.builder().storage(storage).holder(name)
        .taskRetryBackoff(Duration.ofMillis(50), Duration.ofSeconds(1)).build()) {
      while (!collab.tasks().list(TaskFilter.all().statuses("queued", "claimed", "in_progress", "review")).isEmpty()) {
        Optional<TaskClaim> next = collab.tasks().claimNext(Duration.ofSeconds(10));
        if (next.isEmpty()) {
          // nothing claimable yet (dependencies or backoff pending): wait for the log to move
          collab.events().awaitAfter(collab.events().lastId(), EventFilter.all(), 1, Duration.ofMillis(100));
          continue;
        }
        TaskClaim claim = next.get();
        try (KeepAlive keepAlive = collab.leases().keepAlive(claim.lease())) {
          collab.tasks().transition(claim, "in_progress");
          Thread.sleep(ThreadLocalRandom.current().nextInt(5, 30)); // the "work"
          if (claim.task().id().equals("flaky") && claim.task().attempts() == 0) {
            collab.tasks().fail(claim, "integration environment was not ready");
            continue;
          }
          collab.tasks().complete(claim.withLease(keepAlive.current()));
          completed++;
        }
      }
    }
    return completed;
  }
}
