package io.kyros.collab.file.harness;

import io.kyros.collab.Collab;
import io.kyros.collab.DependencyException;
import io.kyros.collab.InvalidTransitionException;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NewTask;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskPatch;
import io.kyros.collab.TransitionResult;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.TaskConformance;
import io.kyros.collab.file.FileStorage;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

/**
 * The child JVM of {@code TaskCrashTest}: moves Collab tasks in and out of the file store's indexes through the
 * public API until it is killed. It opens the store on a {@link MutableClock} set to the instant it is given (time
 * stands still but for the {@code advance} operation, which makes every claim held so far stale), a Kanban
 * {@link Collab} and one of {@link TaskConformance#otherWorkflow()}, prints {@code ready}, then runs two threads. Each
 * first does every kind of operation below once (so that every cycle long enough for a dozen commits covers them all),
 * then picks at random:
 * <ul>
 *   <li>create a Kanban task: priority 0..3, no label or one or two of {@code red}, {@code blue}, and with
 *       probability 0.4 one or two dependencies on tasks this JVM created (ack {@code created <id>});</li>
 *   <li>claim with {@code claimNext} (any label, {@code red}, or {@code red} or {@code blue}), {@code claimUpTo(3)},
 *       or {@code claim(id)} of a task this JVM created (ack {@code claimed <id> <fence>});</li>
 *   <li>with a claim held: complete it ({@code done <id>}), fail it with a backoff of 0 to 120 s ({@code failed <id>
 *       <status>}: queued again, delayed unless the backoff is 0, or failed after the third attempt), release it
 *       ({@code released <id>}), or move it through the claim to {@code in_progress} ({@code working <id>}; one
 *       already there is completed instead);</li>
 *   <li>change a created task's priority, labels and dependencies ({@code updated <id>}), or move it without a claim
 *       to {@code failed} (a cancel) or {@code queued} ({@code moved <id> <status>});</li>
 *   <li>create a task of the other workflow and claim it with a 30 s ttl, never to finish it: once stale, a Kanban
 *       claim parks it ({@code other <id>});</li>
 *   <li>advance the clock by 61 s, past every claim's ttl (ack {@code advanced}).</li>
 * </ul>
 * The refusals the API documents for the call that made them are expected and skipped: a claim's operation refused
 * because the claim was lost (reclaimed after an advance, or its task moved without it), a move the workflow does not
 * allow, an update whose ETag the other thread made stale or whose dependencies would form a cycle. Anything else
 * (an error too) prints {@code error ...} (and a stack trace to stderr) and stops the thread, which fails the test.
 * Each ack is printed after its call returned ({@link AckOut}).
 *
 * <p>Arguments: store directory, name (unique among the JVMs of the test: part of task ids and holder names), seed,
 * the clock's start (epoch milliseconds), the checkpoint size in bytes or {@code default}.
 */
public final class TaskCrashWorker {
  /** The ttl of Kanban claims. */
  static final Duration TTL = Duration.ofSeconds(60);
  private static final Duration OTHER_TTL = Duration.ofSeconds(30);
  /** How far one {@code advance} moves the clock: past every claim's ttl. */
  public static final Duration ADVANCE = TTL.plusSeconds(1);
  private static final String[] LABELS = {"red", "blue"};

  private final Collab kanban;
  private final Collab other;
  private final MutableClock clock;
  private final String name;
  private final List<String> created;
  private final List<TaskClaim> held;
  private final Random random;
  private int seq;

  private TaskCrashWorker(Collab kanban, Collab other, MutableClock clock, String name, List<String> created,
      List<TaskClaim> held, long seed) {
    this.kanban = kanban;
    this.other = other;
    this.clock = clock;
    this.name = name;
    this.created = created;
    this.held = held;
    this.random = new Random(seed);
  }

  /**
   * @param args store directory, name, seed, the clock's start in epoch milliseconds, checkpoint bytes or
   *     {@code default}
   */
  public static void main(String[] args) {
    AckOut.dieWithParent(120_000);
    Path dir = Path.of(args[0]);
    String name = args[1];
    long seed = Long.parseLong(args[2]);
    MutableClock clock = new MutableClock(Instant.ofEpochMilli(Long.parseLong(args[3])));
    FileStorage.Builder builder = FileStorage.builder(dir).clock(clock).segmentBytes(64 << 10);
    if (!args[4].equals("default")) {
      builder.checkpointBytes(Long.parseLong(args[4]));
    }
    FileStorage storage = builder.open(); // recovers what the previous cycle's JVMs left
    Collab kanban = Collab.builder().storage(storage).holder(name).taskMaxAttempts(3)
        .updateTimeout(Duration.ofSeconds(30)).build();
    Collab other = Collab.builder().storage(storage).holder(name + "-other").workflow(TaskConformance.otherWorkflow())
        .build();
    kanban.tasks().get("none"); // warm up, so that the kill lands among the operations
    List<String> created = new ArrayList<>();
    List<TaskClaim> held = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      TaskCrashWorker w = new TaskCrashWorker(kanban, other, clock, name + "-t" + t, created, held, seed * 31 + t);
      Thread th = new Thread(w::run, name + "-t" + t);
      th.setDaemon(true);
      threads.add(th);
    }
    AckOut.line("ready");
    threads.forEach(Thread::start);
    for (Thread th : threads) {
      try {
        th.join();
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void run() {
    try {
      // every kind once: creates, claims and their four ends, the other workflow, an update, a move, an advance
      create();
      create();
      for (int how : new int[] {4, 5, 6, 0}) { // fail, release, move to in_progress, complete
        Optional<TaskClaim> c = kanban.tasks().claimNext(name, TTL, Set.of());
        if (c.isPresent()) {
          ackClaimed(c.get());
          finish(c.get(), how);
        }
      }
      step(92); // a task of the other workflow, claimed and left
      step(80); // an update of a created task
      step(88); // a move without a claim
      step(96); // an advance
      while (true) {
        step(random.nextInt(100));
      }
    } catch (Throwable e) {
      AckOut.line("error " + e.toString().replace('\n', ' '));
      e.printStackTrace();
    }
  }

  private void step(int op) {
    if (op < 30) {
      create();
    } else if (op < 48) {
      Set<String> labels = switch (random.nextInt(4)) {
        case 0 -> Set.of("red");
        case 1 -> Set.of("red", "blue");
        default -> Set.of();
      };
      kanban.tasks().claimNext(name, TTL, labels).ifPresent(this::claimed);
    } else if (op < 51) {
      kanban.tasks().claimUpTo(3, name, TTL, Set.of()).forEach(this::claimed);
    } else if (op < 54) {
      String id = anyCreated();
      if (id != null) {
        kanban.tasks().claim(id, name, TTL).ifPresent(this::claimed);
      }
    } else if (op < 80) {
      TaskClaim c = takeHeld();
      if (c != null) {
        finish(c, random.nextInt(8));
      }
    } else if (op < 88) {
      String id = anyCreated();
      if (id != null) {
        change(id);
      }
    } else if (op < 92) {
      String id = anyCreated();
      if (id != null) {
        String to = random.nextBoolean() ? "failed" : "queued";
        try {
          TransitionResult r = kanban.tasks().transition(id, to, null);
          AckOut.line("moved " + id + " " + r.newStatus());
        } catch (InvalidTransitionException expected) {
          // done, failed, or queued already
        }
      }
    } else if (op < 96) { // the other workflow
      String id = name + "-o" + (++seq);
      other.tasks().create(NewTask.of("theirs " + id).withId(id));
      // never finished: goes stale, and a Kanban claim parks it
      other.tasks().claim(id, name, OTHER_TTL)
          .orElseThrow(() -> new IllegalStateException("the task " + id + " just created is not claimable"));
      AckOut.line("other " + id);
    } else if (op < 98) {
      clock.advance(ADVANCE);
      AckOut.line("advanced");
    } else {
      create();
    }
  }

  private void create() {
    String id = name + "-k" + (++seq);
    NewTask spec = NewTask.of("job " + id).withId(id).withPriority(random.nextInt(4)).withLabels(labels());
    String[] deps = dependencies();
    if (deps.length > 0) {
      spec = spec.withDependsOn(deps);
    }
    kanban.tasks().create(spec);
    synchronized (created) {
      created.add(id);
    }
    AckOut.line("created " + id);
  }

  private void change(String id) {
    Task t = kanban.tasks().get(id).orElseThrow(() -> new IllegalStateException("created task " + id + " is gone"));
    TaskPatch patch = TaskPatch.none().priority(random.nextInt(4)).labels(labels());
    if (random.nextBoolean()) {
      patch = patch.dependsOn(dependencies());
    }
    try {
      kanban.tasks().update(id, t.etag(), patch);
      AckOut.line("updated " + id);
    } catch (PreconditionFailedException | DependencyException expected) {
      // the other thread changed the task since it was read; or the dependencies would form a cycle
    }
  }

  /**
   * Ends or moves a held claim; a claim lost meanwhile (reclaimed after an advance, or its task moved without it) is
   * refused and dropped.
   *
   * @param how 0-3 complete, 4 fail with a backoff, 5 release, 6-7 move to in_progress (complete if there already)
   */
  private void finish(TaskClaim c, int how) {
    try {
      end(c, how);
    } catch (LeaseLostException expected) {
      // reclaimed by a claim after an advance, or its task moved without it
    }
  }

  private void end(TaskClaim c, int how) {
    String id = c.task().id();
    switch (how) {
      case 0, 1, 2, 3 -> {
        kanban.tasks().complete(c);
        AckOut.line("done " + id);
      }
      case 4 -> {
        Task t = kanban.tasks().fail(c, "boom", Duration.ofSeconds(random.nextInt(121)));
        AckOut.line("failed " + id + " " + t.status());
      }
      case 5 -> {
        kanban.tasks().release(c);
        AckOut.line("released " + id);
      }
      default -> {
        if (!c.task().status().equals("claimed")) {
          kanban.tasks().complete(c);
          AckOut.line("done " + id);
          return;
        }
        TransitionResult r = kanban.tasks().transition(c, "in_progress");
        AckOut.line("working " + id);
        synchronized (held) {
          held.add(new TaskClaim(r.task(), c.lease()));
        }
      }
    }
  }

  /** Acknowledges a claim and keeps it for a later operation. */
  private void claimed(TaskClaim c) {
    ackClaimed(c);
    synchronized (held) {
      held.add(c);
    }
  }

  private static void ackClaimed(TaskClaim c) {
    AckOut.line("claimed " + c.task().id() + " " + c.lease().fence());
  }

  private TaskClaim takeHeld() {
    synchronized (held) {
      return held.isEmpty() ? null : held.remove(random.nextInt(held.size()));
    }
  }

  private String anyCreated() {
    synchronized (created) {
      return created.isEmpty() ? null : created.get(random.nextInt(created.size()));
    }
  }

  private String[] labels() {
    return switch (random.nextInt(4)) {
      case 0 -> new String[] {LABELS[0]};
      case 1 -> new String[] {LABELS[1]};
      case 2 -> LABELS.clone();
      default -> new String[0];
    };
  }

  private String[] dependencies() {
    if (random.nextInt(10) >= 4) {
      return new String[0];
    }
    List<String> deps = new ArrayList<>();
    for (int i = 1 + random.nextInt(2); i > 0; i--) {
      String d = anyCreated();
      if (d != null && !deps.contains(d)) {
        deps.add(d);
      }
    }
    return deps.toArray(String[]::new);
  }
}
