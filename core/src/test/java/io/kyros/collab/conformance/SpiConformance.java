package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The storage primitives themselves: atomic conditional commits, the revision counter, the log. */
public abstract class SpiConformance extends ConformanceSupport {

  private static final RecordKey A = new RecordKey("c", "a");
  private static final RecordKey B = new RecordKey("c", "b");

  private static NewEvent event(String type) {
    return new NewEvent(type, "tester", "t", "{}");
  }

  private CommitResult put(List<Expectation> expectations, String type, RecordKey... keys) {
    List<Write> writes = new ArrayList<>();
    for (RecordKey k : keys) {
      writes.add(Write.put(k, "{\"k\":\"" + k.id() + "\"}", "h-" + k.id()));
    }
    return storage.commit(Commit.of(expectations, writes, List.of(event(type))));
  }

  @Test
  void spi_commitAppliesWritesAndEventsTogether() {
    java.time.Instant before = storage.now();
    CommitResult r = put(List.of(Expectation.absent(A), Expectation.absent(B)), "two", A, B);
    assertThat(r).isInstanceOf(CommitResult.Committed.class);
    CommitResult.Committed c = (CommitResult.Committed) r;
    assertThat(c.revisions()).hasSize(2);
    assertThat(c.revisions().get(1)).isGreaterThan(c.revisions().get(0));
    assertThat(storage.read(A)).map(StoredRecord::revision).contains(c.revisions().get(0));
    assertThat(storage.read(B)).map(StoredRecord::json).contains("{\"k\":\"b\"}");
    assertThat(c.events()).singleElement().satisfies(e -> {
      assertThat(e.type()).isEqualTo("two");
      assertThat(e.ts()).isBetween(before, storage.now());
    });
    assertThat(storage.lastEventId()).isEqualTo(c.events().get(0).id());
  }

  @Test
  void spi_failedExpectationChangesNothing() {
    put(List.of(), "first", A);
    long last = storage.lastEventId();
    StoredRecord a = storage.read(A).orElseThrow();
    CommitResult r = put(List.of(Expectation.absent(B), Expectation.absent(A)), "second", A, B);
    assertThat(r).isInstanceOfSatisfying(CommitResult.Conflict.class, c -> {
      assertThat(c.failed().key()).isEqualTo(A);
      assertThat(c.actualRevision()).isEqualTo(a.revision());
    });
    assertThat(storage.read(B)).isEmpty();
    assertThat(storage.read(A)).contains(a);
    assertThat(storage.lastEventId()).isEqualTo(last);
    assertThat(storage.readEvents(0, 100)).hasSize(1);
  }

  @Test
  void spi_notAfterIsJudgedByTheStorageClockInsideTheCommit() {
    put(List.of(), "first", A);
    StoredRecord a = storage.read(A).orElseThrow();
    java.time.Instant limit = storage.now().plusSeconds(10);
    clock.advance(Duration.ofSeconds(10));
    assertThat(put(List.of(Expectation.revisionUntil(A, a.revision(), limit)), "at-limit", B))
        .as("now == notAfter still commits").isInstanceOf(CommitResult.Committed.class);
    clock.advance(Duration.ofSeconds(1));
    long last = storage.lastEventId();
    CommitResult late = put(List.of(Expectation.revisionUntil(A, a.revision(), limit)), "late", new RecordKey("c", "z"));
    assertThat(late).isInstanceOfSatisfying(CommitResult.Conflict.class,
        c -> assertThat(c.failed().notAfter()).isEqualTo(limit));
    assertThat(storage.read(new RecordKey("c", "z"))).isEmpty();
    assertThat(storage.lastEventId()).isEqualTo(last);
  }

  @Test
  void spi_revisionsOnlyGrowAndAreNeverReusedAfterDeleteAndRecreate() {
    CommitResult.Committed first = (CommitResult.Committed) put(List.of(Expectation.absent(A)), "x", A);
    long r1 = first.revisions().get(0);
    CommitResult del = storage.commit(Commit.of(List.of(Expectation.revision(A, r1)), List.of(Write.delete(A)),
        List.of(event("deleted"))));
    assertThat(del).isInstanceOf(CommitResult.Committed.class);
    assertThat(storage.read(A)).isEmpty();
    long deleteRevision = ((CommitResult.Committed) del).revisions().get(0);
    assertThat(deleteRevision).isGreaterThan(r1);
    CommitResult.Committed again = (CommitResult.Committed) put(List.of(Expectation.absent(A)), "x", A);
    assertThat(again.revisions().get(0)).isGreaterThan(deleteRevision);
  }

  @Test
  void spi_eventSourceSeesTheAssignedRevisions() {
    List<List<Long>> seen = new ArrayList<>();
    CommitResult r = storage.commit(new Commit(List.of(), List.of(Write.put(A, "{}", "h")), revisions -> {
      seen.add(revisions);
      return List.of(new NewEvent("e", "a", "t", "{\"rev\":" + revisions.get(0) + "}"));
    }));
    CommitResult.Committed c = (CommitResult.Committed) r;
    assertThat(seen.get(seen.size() - 1)).isEqualTo(c.revisions());
    assertThat(c.events().get(0).detailsJson()).isEqualTo("{\"rev\":" + c.revisions().get(0) + "}");
  }

  @Test
  void spi_eventsReadAfterAnExclusivePositionInIdOrder() {
    for (int i = 0; i < 10; i++) {
      storage.commit(Commit.of(List.of(), List.of(), List.of(event("e" + i), event("f" + i))));
    }
    List<StoredEvent> all = storage.readEvents(0, 1000);
    assertThat(all).hasSize(20);
    for (int i = 1; i < all.size(); i++) {
      assertThat(all.get(i).id()).isGreaterThan(all.get(i - 1).id());
    }
    List<StoredEvent> tail = storage.readEvents(all.get(4).id(), 3);
    assertThat(tail).containsExactlyElementsOf(all.subList(5, 8));
    assertThat(storage.readEvents(all.get(19).id(), 10)).isEmpty();
    assertThat(storage.lastEventId()).isEqualTo(all.get(19).id());
  }

  @Test
  void spi_listPagesInIdOrder() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      String id = String.format("id-%03d", (i * 7) % 25);
      ids.add(id);
      storage.commit(Commit.of(List.of(), List.of(Write.put(new RecordKey("paged", id), "{}", "h")), List.of()));
    }
    storage.commit(Commit.of(List.of(), List.of(Write.put(new RecordKey("other", "x"), "{}", "h")), List.of()));
    List<String> seen = new ArrayList<>();
    String after = null;
    while (true) {
      List<StoredRecord> page = storage.list("paged", after, 4);
      page.forEach(r -> seen.add(r.key().id()));
      if (page.size() < 4) {
        break;
      }
      after = page.get(page.size() - 1).key().id();
    }
    assertThat(seen).containsExactlyElementsOf(ids.stream().sorted().toList());
    assertThat(storage.list("missing", null, 10)).isEmpty();
  }

  @Test
  void spi_awaitEventsWakesOnAppendAndTimesOut() throws Exception {
    long last = storage.lastEventId();
    assertThat(storage.awaitEvents(last, Duration.ofMillis(20))).isFalse();
    CompletableFuture<Boolean> waiter = new CompletableFuture<>();
    Thread thread = new Thread(() -> {
      try {
        // far longer than the test waits: only a wake-up by the commit can end it in time
        waiter.complete(storage.awaitEvents(last, Duration.ofHours(1)));
      } catch (Throwable e) {
        waiter.completeExceptionally(e);
      }
    }, "await-events");
    thread.start();
    awaitCondition("the waiter to park", () -> thread.getState() == Thread.State.TIMED_WAITING
        || thread.getState() == Thread.State.WAITING || waiter.isDone());
    assertThat(waiter).isNotDone();
    storage.commit(Commit.of(List.of(), List.of(), List.of(event("wake"))));
    assertThat(waiter.get(patience().toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(storage.awaitEvents(last, Duration.ZERO)).isTrue();
  }

  @Test
  void spi_nowFollowsTheStorageClock() {
    java.time.Instant before = storage.now();
    clock.advance(Duration.ofHours(3));
    Duration moved = Duration.between(before, storage.now());
    assertThat(moved).isBetween(Duration.ofHours(3), Duration.ofHours(3).plusMinutes(1));
  }
}
