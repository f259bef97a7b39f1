package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.ETag;
import io.kyros.collab.Event;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NewTask;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.spi.Storage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Model-based conformance: random sequences of document, lease, event and task operations, through
 * two {@link Collab} instances on one storage, are compared after every step against a plain
 * reference model of DESIGN.md's rules: results, document values, lease holders and fences, task
 * statuses and attempts, and the exact sequence of event types in the log (which checks that every
 * operation records exactly its events, and nothing when it fails).
 *
 * <p>A backend extends this class and implements {@link #createStorage(MutableClock)}.
 */
public abstract class StorageModelProperties {

  /**
   * @param clock the test clock, which the storage must use exactly, as in
   *     {@link ConformanceSupport#createStorage(MutableClock)}
   * @return a new, empty storage on that clock
   * @throws Exception if it cannot be created
   */
  protected abstract Storage createStorage(MutableClock clock) throws Exception;

  /**
   * @param storage a storage from {@link #createStorage}
   * @throws Exception if it cannot be released
   */
  protected void destroyStorage(Storage storage) throws Exception {
    storage.close();
  }

  enum Kind {
    DOC_CREATE, DOC_REPLACE, DOC_REPLACE_STALE, DOC_DELETE, DOC_UPDATE,
    LEASE_TRY, LEASE_RELEASE, LEASE_RENEW, ADVANCE, APPEND,
    TASK_CREATE, TASK_CLAIM, TASK_START, TASK_COMPLETE, TASK_FAIL, TASK_RELEASE, TASK_RECLAIM, LEASE_RECLAIM
  }

  record Op(Kind kind, int a, int b) {}

  @Provide
  Arbitrary<List<Op>> operations() {
    Arbitrary<Op> op = Combinators.combine(Arbitraries.of(Kind.class), Arbitraries.integers().between(0, 2),
        Arbitraries.integers().between(0, 5)).as(Op::new);
    return op.list().ofMinSize(1).ofMaxSize(40);
  }

  @Property(tries = 1000)
  void behavesLikeTheReferenceModel(@ForAll("operations") List<Op> ops) throws Exception {
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    Storage storage = createStorage(clock);
    List<Collab> clients = List.of(
        Collab.builder().storage(storage).holder("h0").build(),
        Collab.builder().storage(storage).holder("h1").build());
    try {
      Run run = new Run(clock, clients);
      for (Op op : ops) {
        run.apply(op);
        run.compare(op);
      }
    } finally {
      clients.forEach(Collab::close);
      destroyStorage(storage);
    }
  }

  /** The system under test and the reference model, side by side. */
  private static final class Run {
    private static final Duration LEASE_TTL = Duration.ofSeconds(10);
    private static final Duration CLAIM_TTL = Duration.ofSeconds(30);
    private static final String[] DOCS = {"a", "b", "c"};
    private static final String[] RESOURCES = {"r0", "r1", "r2"};

    private final MutableClock clock;
    private final List<Collab> clients;
    // model
    private final Map<String, Integer> docs = new HashMap<>();
    private final Map<String, ETag> etags = new HashMap<>();
    private final Map<String, ETag> staleEtags = new HashMap<>();
    private final List<String> events = new ArrayList<>();
    private final Map<String, ModelLease> leases = new HashMap<>();
    private final Map<String, Long> lastFence = new HashMap<>();
    private final Map<String, Lease> heldBy = new HashMap<>(); // "holder/resource" -> last lease obtained
    private final Map<String, ModelTask> tasks = new TreeMap<>();
    private final Map<Integer, Claim> claims = new HashMap<>();
    private int taskCounter;

    Run(MutableClock clock, List<Collab> clients) {
      this.clock = clock;
      this.clients = clients;
    }

    private record ModelLease(String leaseId, int holder, Instant heartbeat, long fence) {
      boolean staleAt(Instant now) {
        return now.isAfter(heartbeat.plus(LEASE_TTL));
      }
    }

    private static final class ModelTask {
      final String id;
      final int priority;
      final Instant createdAt;
      String status = "queued";
      int attempts;
      Instant notBefore;
      Instant claimHeartbeat;
      String claimLeaseId;

      ModelTask(String id, int priority, Instant createdAt) {
        this.id = id;
        this.priority = priority;
        this.createdAt = createdAt;
      }

      boolean claimStaleAt(Instant now) {
        return now.isAfter(claimHeartbeat.plus(CLAIM_TTL));
      }
    }

    private record Claim(TaskClaim claim) {}

    void apply(Op op) {
      Instant now = clock.instant();
      String doc = DOCS[op.a()];
      String res = RESOURCES[op.a()];
      int holder = op.b() % 2;
      Collab c = clients.get(holder);
      switch (op.kind()) {
        case DOC_CREATE -> {
          if (docs.containsKey(doc)) {
            assertThatThrownBy(() -> c.documents().create("m", doc, Map.of("v", op.b())))
                .isInstanceOf(PreconditionFailedException.class);
          } else {
            remember(doc, c.documents().create("m", doc, Map.of("v", op.b())));
            docs.put(doc, op.b());
            events.add("document_created");
          }
        }
        case DOC_REPLACE -> {
          if (docs.containsKey(doc)) {
            remember(doc, c.documents().replace("m", doc, Map.of("v", op.b()), etags.get(doc)));
            docs.put(doc, op.b());
            events.add("document_replaced");
          } else {
            assertThatThrownBy(() -> c.documents().replace("m", doc, Map.of("v", op.b()), ETag.strong("1-x")))
                .isInstanceOf(PreconditionFailedException.class);
          }
        }
        case DOC_REPLACE_STALE -> {
          ETag stale = staleEtags.get(doc);
          if (stale != null) {
            assertThatThrownBy(() -> c.documents().replace("m", doc, Map.of("v", op.b()), stale))
                .isInstanceOf(PreconditionFailedException.class);
          }
        }
        case DOC_DELETE -> {
          if (docs.containsKey(doc)) {
            c.documents().delete("m", doc, etags.get(doc));
            staleEtags.put(doc, etags.remove(doc));
            docs.remove(doc);
            events.add("document_deleted");
          }
        }
        case DOC_UPDATE -> {
          Document d = c.documents().update("m", doc, v -> v.put("v", v.path("v").asInt() + op.b()));
          Integer before = docs.get(doc);
          int after = (before == null ? 0 : before) + op.b();
          assertThat(d.value().get("v").asInt()).isEqualTo(after);
          if (before == null) {
            events.add("document_created");
          } else if (op.b() != 0) {
            events.add("document_replaced");
          }
          remember(doc, d);
          docs.put(doc, after);
        }
        case LEASE_TRY -> {
          ModelLease current = leases.get(res);
          Optional<Lease> got = c.leases().tryAcquire(res, LEASE_TTL);
          if (current != null && !current.staleAt(now)) {
            assertThat(got).isEmpty();
          } else {
            assertThat(got).isPresent();
            long fence = lastFence.getOrDefault(res, 0L) + 1;
            assertThat(got.get().fence()).isEqualTo(fence);
            lastFence.put(res, fence);
            if (current != null) {
              events.add("lease_reclaimed");
            }
            events.add("lease_acquired");
            leases.put(res, new ModelLease(got.get().leaseId(), holder, now, fence));
            heldBy.put(holder + "/" + res, got.get());
          }
        }
        case LEASE_RELEASE -> {
          Lease mine = heldBy.get(holder + "/" + res);
          if (mine != null) {
            ModelLease current = leases.get(res);
            boolean expected = current != null && current.leaseId().equals(mine.leaseId());
            assertThat(c.leases().release(mine)).isEqualTo(expected);
            if (expected) {
              leases.remove(res);
              events.add("lease_released");
            }
          }
        }
        case LEASE_RENEW -> {
          Lease mine = heldBy.get(holder + "/" + res);
          if (mine != null) {
            ModelLease current = leases.get(res);
            if (current != null && current.leaseId().equals(mine.leaseId()) && !current.staleAt(now)) {
              Lease renewed = c.leases().renew(mine);
              assertThat(renewed.heartbeatAt()).isEqualTo(now);
              leases.put(res, new ModelLease(current.leaseId(), holder, now, current.fence()));
            } else {
              assertThatThrownBy(() -> c.leases().renew(mine)).isInstanceOf(LeaseLostException.class);
            }
          }
        }
        case ADVANCE -> clock.advance(Duration.ofSeconds(3L * op.b()));
        case APPEND -> {
          Event e = c.events().append("custom" + op.a(), "model", Map.of("b", op.b()));
          assertThat(e.type()).isEqualTo("custom" + op.a());
          events.add("custom" + op.a());
        }
        case TASK_CREATE -> {
          String id = String.format("t%03d", taskCounter++);
          Task t = c.tasks().create(NewTask.of("task " + id).withId(id).withPriority(op.b()));
          assertThat(t.status()).isEqualTo("queued");
          tasks.put(id, new ModelTask(id, op.b(), now));
          events.add("task_created");
        }
        case TASK_CLAIM -> {
          if (claims.containsKey(holder)) {
            return;
          }
          reclaimInModel(now); // claimNext reclaims stale claims first
          Optional<ModelTask> expected = tasks.values().stream()
              .filter(t -> t.status.equals("queued") && (t.notBefore == null || !t.notBefore.isAfter(now)))
              .min(Comparator.comparingInt((ModelTask t) -> -t.priority).thenComparing(t -> t.createdAt)
                  .thenComparing(t -> t.id));
          Optional<TaskClaim> got = c.tasks().claimNext(CLAIM_TTL);
          assertThat(got.map(g -> g.task().id())).isEqualTo(expected.map(t -> t.id));
          if (got.isPresent()) {
            ModelTask t = expected.get();
            t.status = "claimed";
            t.claimHeartbeat = now;
            t.claimLeaseId = got.get().lease().leaseId();
            claims.put(holder, new Claim(got.get()));
            events.add("lease_acquired");
            events.add("task_claimed");
          }
        }
        case TASK_START -> {
          Claim claim = claims.get(holder);
          if (claim == null) {
            return;
          }
          ModelTask t = tasks.get(claim.claim().task().id());
          boolean current = claim.claim().lease().leaseId().equals(t.claimLeaseId) && !t.claimStaleAt(now);
          if (!current) {
            assertThatThrownBy(() -> c.tasks().transition(claim.claim(), "in_progress"))
                .isInstanceOf(LeaseLostException.class);
            claims.remove(holder);
          } else if (t.status.equals("claimed")) {
            assertThat(c.tasks().transition(claim.claim(), "in_progress").oldStatus()).isEqualTo("claimed");
            t.status = "in_progress";
            events.add("task_transitioned");
          }
        }
        case LEASE_RECLAIM -> {
          List<String> expected = new ArrayList<>();
          for (String r : RESOURCES) {
            ModelLease m = leases.get(r);
            if (m != null && m.staleAt(now)) {
              leases.remove(r);
              expected.add(r);
              events.add("lease_reclaimed");
            }
          }
          assertThat(c.leases().reclaimStale()).extracting(Lease::resource).containsExactlyElementsOf(expected);
        }
        case TASK_COMPLETE, TASK_FAIL, TASK_RELEASE -> {
          Claim claim = claims.remove(holder);
          if (claim == null) {
            return;
          }
          ModelTask t = tasks.get(claim.claim().task().id());
          boolean current = claim.claim().lease().leaseId().equals(t.claimLeaseId) && !t.claimStaleAt(now);
          if (!current) {
            assertThatThrownBy(() -> {
              if (op.kind() == Kind.TASK_COMPLETE) {
                c.tasks().complete(claim.claim());
              } else if (op.kind() == Kind.TASK_FAIL) {
                c.tasks().fail(claim.claim(), "model");
              } else {
                c.tasks().release(claim.claim());
              }
            }).isInstanceOf(LeaseLostException.class);
            return;
          }
          if (op.kind() == Kind.TASK_COMPLETE) {
            assertThat(c.tasks().complete(claim.claim()).status()).isEqualTo("done");
            t.status = "done";
            events.add("task_completed");
          } else if (op.kind() == Kind.TASK_RELEASE) {
            Task after = c.tasks().release(claim.claim());
            t.status = "queued";
            assertThat(after.status()).isEqualTo("queued");
            assertThat(after.attempts()).isEqualTo(t.attempts);
            events.add("task_released");
          } else {
            Task after = c.tasks().fail(claim.claim(), "model");
            t.attempts++;
            if (t.attempts < 3) {
              t.status = "queued";
              t.notBefore = now.plus(Duration.ofSeconds(1L << (t.attempts - 1)));
            } else {
              t.status = "failed";
            }
            assertThat(after.status()).isEqualTo(t.status);
            events.add("task_failed");
          }
          t.claimLeaseId = null;
          events.add("lease_released");
        }
        case TASK_RECLAIM -> {
          List<Task> reclaimed = c.tasks().reclaimStale();
          assertThat(reclaimed).extracting(Task::id).containsExactlyElementsOf(reclaimInModel(now));
        }
        default -> throw new IllegalStateException("unknown op " + op);
      }
    }

    /** Stale claims go back to the queue (or fail after 3 attempts), in task id order. */
    private List<String> reclaimInModel(Instant now) {
      List<String> reclaimed = new ArrayList<>();
      for (ModelTask t : tasks.values()) {
        if (t.claimLeaseId != null && t.claimStaleAt(now)) {
          t.attempts++;
          t.status = t.attempts >= 3 ? "failed" : "queued";
          t.claimLeaseId = null;
          reclaimed.add(t.id);
          events.add("lease_reclaimed");
          events.add("task_reclaimed");
        }
      }
      return reclaimed;
    }

    private void remember(String doc, Document d) {
      ETag previous = etags.put(doc, d.etag());
      if (previous != null && !previous.equals(d.etag())) {
        staleEtags.put(doc, previous);
      }
    }

    private int comparisons;

    void compare(Op op) {
      Collab c = clients.get(comparisons++ % 2);
      Instant now = clock.instant();
      for (String doc : DOCS) {
        Optional<Document> real = c.documents().get("m", doc);
        assertThat(real.map(d -> d.value().get("v").asInt())).as("document %s after %s", doc, op)
            .isEqualTo(Optional.ofNullable(docs.get(doc)));
        real.ifPresent(d -> assertThat(d.etag()).isEqualTo(etags.get(doc)));
      }
      for (String res : RESOURCES) {
        ModelLease m = leases.get(res);
        Optional<Lease> real = c.leases().get(res);
        if (m == null || m.staleAt(now)) {
          assertThat(real).as("lease %s after %s", res, op).isEmpty();
        } else {
          assertThat(real.map(Lease::fence)).as("lease %s after %s", res, op).contains(m.fence());
          assertThat(real.map(Lease::holder)).contains("h" + m.holder());
        }
      }
      Map<String, String> statuses = new TreeMap<>();
      Map<String, Integer> attempts = new TreeMap<>();
      for (Task t : c.tasks().list(TaskFilter.all())) {
        statuses.put(t.id(), t.status());
        attempts.put(t.id(), t.attempts());
      }
      Map<String, String> expectedStatuses = new TreeMap<>();
      Map<String, Integer> expectedAttempts = new TreeMap<>();
      tasks.values().forEach(t -> {
        expectedStatuses.put(t.id, t.status);
        expectedAttempts.put(t.id, t.attempts);
      });
      assertThat(statuses).as("task statuses after %s", op).isEqualTo(expectedStatuses);
      assertThat(attempts).as("task attempts after %s", op).isEqualTo(expectedAttempts);
      List<Event> log = c.events().read(0, Integer.MAX_VALUE);
      assertThat(log).extracting(Event::type).as("event log after %s", op).containsExactlyElementsOf(events);
      Map<String, Long> fences = new HashMap<>();
      for (int i = 0; i < log.size(); i++) {
        Event e = log.get(i);
        if (i > 0) {
          assertThat(e.id()).isGreaterThan(log.get(i - 1).id());
        }
        if (e.type().equals("lease_acquired")) {
          long fence = e.details().get("fence").asLong();
          Long previous = fences.put(e.target(), fence);
          assertThat(fence).as("fence of %s in event %s", e.target(), e.id())
              .isGreaterThan(previous == null ? 0L : previous);
        }
      }
    }
  }
}
