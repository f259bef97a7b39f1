package io.kyros.collab.samples;

import io.kyros.collab.Agent;
import io.kyros.collab.Collab;
import io.kyros.collab.EventFilter;
import io.kyros.collab.EventType;
import io.kyros.collab.MarkdownLogRenderer;
import io.kyros.collab.NewTask;
import io.kyros.collab.Outcome;
import io.kyros.collab.RetryPolicy;
import io.kyros.collab.Subscription;
import io.kyros.collab.Task;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.WorkerContext;
import io.kyros.collab.WorkerPool;
import io.kyros.collab.file.FileStorage;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;

/**
 * The main sample: a team of {@value #WORKERS} worker pools, each with its own {@link Collab} and its own
 * {@link FileStorage} handle on one shared directory, claims tasks (respecting dependencies and priorities), moves
 * each through the Kanban workflow and completes it; one task fails once and is retried after a jittered backoff.
 * Each pool registers itself as an agent. A subscriber prints the event log as it grows. The store is a fresh
 * directory under {@code ./collab-data} (or under the directory given as the first argument), left in place so its
 * files can be read with {@code cat} and {@code jq}.
 *
 * <p>Run it with {@code ./mvnw -q -DskipTests -pl samples -am package exec:java}.
 */
public final class TeamOfWorkers {
  private static final int WORKERS = 4;

  private TeamOfWorkers() {}

  /**
   * Runs the sample.
   *
   * @param args optionally, the directory under which the store is created (default {@code collab-data})
   * @throws Exception if the team fails
   */
  public static void main(String[] args) throws Exception {
    Path parent = Path.of(args.length > 0 ? args[0] : "collab-data");
    Path dir = parent.resolve("team-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS")));
    MarkdownLogRenderer renderer = MarkdownLogRenderer.create();
    try (FileStorage storage = FileStorage.open(dir);
        Collab lead = Collab.builder().storage(storage).holder("lead").build()) {
      System.out.println("# A team of " + WORKERS + " worker pools on one Collab file store: " + dir + "\n");
      Subscription printer = lead.events().subscribe(0, EventFilter.all(), e -> System.out.println(renderer.renderLine(e)));

      lead.tasks().create(NewTask.of("Design the API").withId("design").withPriority(10).withLabels("work"));
      for (String part : List.of("documents", "leases", "events", "tasks")) {
        lead.tasks().create(NewTask.of("Implement " + part).withId("impl-" + part).withDependsOn("design")
            .withLabels("work").withChecklist("code", "tests"));
      }
      lead.tasks().create(NewTask.of("Flaky integration run").withId("flaky").withPriority(5).withLabels("work"));
      lead.tasks().create(NewTask.of("Write the README").withId("readme").withLabels("work")
          .withDependsOn("impl-documents", "impl-leases", "impl-events", "impl-tasks"));
      lead.tasks().create(NewTask.of("Release").withId("release").withDependsOn("readme", "flaky").withLabels("work"));

      List<FileStorage> handles = new ArrayList<>();
      List<Collab> team = new ArrayList<>();
      List<WorkerPool> pools = new ArrayList<>();
      for (int w = 1; w <= WORKERS; w++) {
        handles.add(FileStorage.open(dir));
        Collab member = Collab.builder().storage(handles.get(w - 1)).holder("worker-" + w).build();
        team.add(member);
        pools.add(WorkerPool.builder(member).agentId("worker-" + w).role("developer").concurrency(1)
            .retryPolicy(RetryPolicy.builder().backoff(Duration.ofMillis(50), Duration.ofSeconds(1)).build())
            .handler("work", TeamOfWorkers::work).start());
      }
      // wait, on the event log, until no task is left open
      long seen = 0;
      while (!lead.tasks().list(TaskFilter.all().statuses("queued", "claimed", "in_progress", "review")).isEmpty()) {
        List<io.kyros.collab.Event> next = lead.events().awaitAfter(seen, EventFilter.all(), 100, Duration.ofSeconds(1));
        seen = next.isEmpty() ? seen : next.get(next.size() - 1).id();
      }
      for (Agent a : lead.agents().list()) {
        System.out.println("agent " + a.id() + " (" + a.role() + ", skills " + a.skills() + "): " + a.status().wireName());
      }
      pools.forEach(WorkerPool::close);
      team.forEach(Collab::close);
      handles.forEach(FileStorage::close);

      long last = lead.events().lastId();
      while (printer.position() < last) { // let the printer catch up with the last events
        LockSupport.parkNanos(1_000_000L);
      }
      printer.close();
      Map<String, Integer> board = new TreeMap<>();
      lead.tasks().list(TaskFilter.all()).stream().map(Task::status).forEach(s -> board.merge(s, 1, Integer::sum));
      int total = lead.events().read(0, EventFilter.all().types(EventType.EXECUTOR_SUCCEEDED), 1000).size();
      System.out.println("\nWorkers completed " + total + " tasks; board: " + board + "; events: " + last);
      System.out.println("The files are in " + dir + ": documents under state/ (tasks in state/_tasks),"
          + " the event log under events/ (try: jq -c '{id, event, target}' " + dir + "/events/*.jsonl)");
    }
  }

  /** One task: in progress, the checklist ticked, the flaky one failing its first attempt, then done. */
  private static Outcome work(WorkerContext ctx) {
    if (ctx.task().id().equals("flaky") && ctx.attempt() == 1) {
      return Outcome.fail("integration environment was not ready");
    }
    for (int i = 0; i < ctx.task().checklist().size(); i++) {
      ctx.check(i, true);
    }
    return Outcome.done();
  }
}
