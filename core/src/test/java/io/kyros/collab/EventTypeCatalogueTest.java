package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.conformance.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link EventType}: every event core records is catalogued, with every details field it writes. */
class EventTypeCatalogueTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final Collab collab = Collab.builder().clock(clock).holder("alice").build();

  @AfterEach
  void close() {
    collab.close();
  }

  @Test
  void everyRecordedEventIsCataloguedWithItsDetailsFields() {
    // documents, plain and guarded
    Document d = collab.documents().create("c", "x", Map.of("a", 1));
    d = collab.documents().replace("c", "x", Map.of("a", 2), d.etag());
    collab.documents().delete("c", "x", d.etag());
    Lease guard = collab.leases().tryAcquire("r", TTL).orElseThrow();
    collab.documents().guardedBy(guard).create("c", "y", Map.of());
    collab.leases().release(guard);
    // a stale resource lease, reclaimed by an acquire and by reclaimStale
    collab.leases().tryAcquire("s", TTL).orElseThrow();
    collab.leases().tryAcquire("u", TTL).orElseThrow();
    clock.advance(TTL.plusSeconds(1));
    collab.leases().tryAcquire("s", TTL).orElseThrow();
    collab.leases().reclaimStale();
    // a renewal with a new ttl, and a release scheduled at an instant
    Lease timed = collab.leases().renew(collab.leases().tryAcquire("v", TTL).orElseThrow(), TTL.multipliedBy(2));
    collab.leases().releaseAt(timed, clock.instant().plusSeconds(5));
    // tasks through every operation
    collab.tasks().create(NewTask.of("one").withId("t1").withLabels("b", "a"));
    collab.tasks().create(NewTask.of("two").withId("t2").withDependsOn("t1"));
    collab.tasks().update("t2", null, TaskPatch.none().title("two!"));
    collab.tasks().transition("t2", "failed", null);
    TaskClaim c = collab.tasks().claimNext(TTL).orElseThrow();
    collab.tasks().transition(c, "in_progress");
    collab.tasks().release(c);
    c = collab.tasks().claimNext(TTL).orElseThrow();
    collab.tasks().fail(c, "boom");
    clock.advance(Duration.ofHours(1));
    c = collab.tasks().claimNext(TTL).orElseThrow();
    collab.tasks().complete(c);
    collab.tasks().create(NewTask.of("three").withId("t3"));
    collab.tasks().claimNext(TTL).orElseThrow();
    clock.advance(TTL.plusSeconds(1));
    assertThat(collab.tasks().reclaimStale()).extracting(Task::id).containsExactly("t3");
    driveWorkersBatchesAndAgents();

    Set<EventType> seen = EnumSet.noneOf(EventType.class);
    List<String> problems = new ArrayList<>();
    for (Event e : collab.events().read(0, 1000)) {
      EventType type = EventType.fromWireName(e.type()).orElse(null);
      if (type == null) {
        problems.add("uncatalogued type " + e.type());
        continue;
      }
      seen.add(type);
      e.details().fieldNames().forEachRemaining(f -> {
        if (!type.detailFields().contains(f)) {
          problems.add(type + " writes uncatalogued field " + f);
        }
      });
    }
    assertThat(problems).isEmpty();
    assertThat(seen).containsExactlyInAnyOrder(EventType.values());
  }

  /** A worker pool (which registers an agent) runs a batch with a failure, progress and a retry; agents toggle. */
  private void driveWorkersBatchesAndAgents() {
    collab.batches().create(BatchSpec.builder("item").id("later").items(List.of(BatchItem.of("a", "1"))).build());
    collab.batches().add("later", List.of(BatchItem.of("b", "2")));
    collab.batches().cancel("later", "not needed");
    try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").idleRecheck(Duration.ofMillis(10))
        .handler("item", ctx -> {
          ctx.progress(10, "working");
          return ctx.task().description().equals("bad") ? Outcome.fail("bad item") : Outcome.done();
        }).start()) {
      collab.batches().submit(BatchSpec.builder("item").id("run").items(List.of(BatchItem.of("ok", "good"),
          BatchItem.of("ko", "bad"))).build());
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!collab.batches().get("run").orElseThrow().state().isTerminal()) {
        assertThat(System.nanoTime() - deadline).isNegative();
        clock.advance(Duration.ofSeconds(1)); // past any retry backoff
        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
      }
      collab.agents().setEnabled("w", false);
      collab.agents().setEnabled("w", true);
    }
  }

  @Test
  void wireNamesRoundTripAndOwnTypesAreReserved() {
    for (EventType t : EventType.values()) {
      assertThat(EventType.fromWireName(t.wireName())).contains(t);
      assertThat(EventType.isReserved(t.wireName())).isTrue();
      assertThat(t).hasToString(t.wireName());
    }
    assertThat(EventType.fromWireName("deploy")).isEmpty();
    assertThat(EventType.isReserved("deploy")).isFalse();
    assertThatThrownBy(() -> collab.events().append(EventType.TASK_CLAIMED.wireName(), "t", Map.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
  }

  @Test
  void filterByCataloguedTypes() {
    collab.documents().create("c", "x", Map.of());
    collab.events().append("deploy", "t", Map.of());
    assertThat(collab.events().read(0, EventFilter.all().types(EventType.DOCUMENT_CREATED), 10))
        .extracting(Event::type).containsExactly("document_created");
  }
}
