package io.kyros.collab;

import static io.kyros.collab.FlowPublisherTest.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.spi.StoredEvent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link EventLog} specifics: reserved types, subscriptions' failure handling and closing, durations. */
@Timeout(120)
class EventLogTest {
  private static final Duration PATIENCE = Duration.ofSeconds(60);

  /** A memory store whose event reads can fail or return a damaged event. */
  static final class TrickyStorage extends ForwardingStorage {
    final AtomicInteger failingReads = new AtomicInteger();
    volatile long damagedId = -1;

    @Override
    public List<StoredEvent> readEvents(long afterId, int limit) {
      if (failingReads.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new IllegalStateException("not a StorageException (simulated)");
      }
      return delegate.readEvents(afterId, limit).stream()
          .map(e -> e.id() != damagedId ? e
              : new StoredEvent(e.id(), e.ts(), e.type(), e.actor(), e.target(), "{\"broken"))
          .toList();
    }
  }

  private final TrickyStorage storage = new TrickyStorage();
  private final Collab collab = Collab.builder().storage(storage).holder("alice").build();

  @AfterEach
  void close() {
    collab.close();
    storage.close();
  }

  @Test
  void reservedTypesAreRejectedAndNothingIsAppended() {
    for (String type : List.of("task_claimed", "lease_acquired", "document_created", "task_", "executor_started", "batch_x",
        "agent_registered")) {
      assertThatThrownBy(() -> collab.events().appendAll(List.of(EventDraft.of("fine", "t", Map.of()),
          EventDraft.of(type, "t", Map.of())))).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("event type " + type
              + " is reserved for Collab's own events (prefixes task_, lease_, document_, executor_, batch_, agent_)");
      assertThatThrownBy(() -> collab.events().append(type, "t", Map.of()))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
    }
    assertThat(collab.events().lastId()).isZero();
    // similar names that are not reserved
    assertThat(collab.events().appendAll(List.of(EventDraft.of("task", "t", Map.of()),
        EventDraft.of("tasks_done", "t", Map.of()), EventDraft.of("leases.x", "t", Map.of()))))
        .extracting(Event::type).containsExactly("task", "tasks_done", "leases.x");
  }

  @Test
  void closingASubscriptionDuringASlowListenerCallDoesNotInterruptIt() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<Boolean> interrupted = new AtomicReference<>();
    AtomicReference<Thread> listenerThread = new AtomicReference<>();
    List<Event> seen = new CopyOnWriteArrayList<>();
    Subscription sub = collab.events().subscribe(0, EventFilter.all(), e -> {
      seen.add(e);
      listenerThread.set(Thread.currentThread());
      entered.countDown();
      boolean wasInterrupted;
      try {
        wasInterrupted = !release.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)
            || Thread.currentThread().isInterrupted();
      } catch (InterruptedException ie) {
        wasInterrupted = true;
      }
      interrupted.set(wasInterrupted);
    });
    collab.events().append("a", "t", Map.of());
    collab.events().append("b", "t", Map.of());
    assertThat(entered.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
    sub.close();
    assertThat(sub.isClosed()).isTrue();
    release.countDown();
    listenerThread.get().join(PATIENCE.toMillis());
    assertThat(listenerThread.get().isAlive()).isFalse();
    assertThat(interrupted.get()).as("listener interrupted or timed out").isFalse();
    assertThat(seen).extracting(Event::type).containsExactly("a");
    assertThat(sub.position()).isEqualTo(seen.get(0).id());
  }

  @Test
  void closingAWaitingSubscriptionEndsItsThread() throws Exception {
    AtomicReference<Thread> thread = new AtomicReference<>();
    Subscription sub = collab.events().subscribe(0, EventFilter.all(), e -> thread.set(Thread.currentThread()));
    collab.events().append("a", "t", Map.of());
    awaitCondition("first event", () -> thread.get() != null);
    awaitCondition("tail waiting for events", () -> thread.get().getState() == Thread.State.TIMED_WAITING);
    sub.close();
    thread.get().join(PATIENCE.toMillis());
    assertThat(thread.get().isAlive()).isFalse();
  }

  @Test
  void aDamagedEventIsReportedToOnErrorAndClosesTheSubscription() {
    Event good = collab.events().append("a", "t", Map.of());
    Event bad = collab.events().append("a", "t", Map.of());
    collab.events().append("a", "t", Map.of());
    storage.damagedId = bad.id();
    List<Event> seen = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Subscription sub = collab.events().subscribe(0, EventFilter.all(), new EventListener() {
      @Override
      public void onEvent(Event event) {
        seen.add(event);
      }

      @Override
      public void onError(Throwable error) {
        errors.add(error);
      }
    });
    awaitCondition("onError", () -> !errors.isEmpty() && sub.isClosed());
    assertThat(errors).singleElement().isInstanceOf(StorageException.class)
        .extracting(Throwable::getMessage).asString().contains("event " + bad.id()).contains("damaged");
    assertThat(seen).containsExactly(good);
    assertThat(sub.position()).isEqualTo(good.id());
  }

  @Test
  void subscriptionsRetryReadsThatThrowAnyRuntimeException() {
    storage.failingReads.set(3);
    List<Event> seen = new CopyOnWriteArrayList<>();
    AtomicBoolean failed = new AtomicBoolean();
    try (Subscription sub = collab.events().subscribe(0, EventFilter.all(), new EventListener() {
      @Override
      public void onEvent(Event event) {
        seen.add(event);
      }

      @Override
      public void onError(Throwable error) {
        failed.set(true);
      }
    })) {
      for (int i = 0; i < 5; i++) {
        collab.events().append("e", "t", Map.of("i", i));
      }
      awaitCondition("5 events", () -> seen.size() >= 5);
      assertThat(storage.failingReads).hasValue(0);
      assertThat(seen).extracting(e -> e.details().get("i").asInt()).containsExactly(0, 1, 2, 3, 4);
      assertThat(sub.isClosed()).isFalse();
      assertThat(failed).isFalse();
    }
  }

  @Test
  void awaitAfterAcceptsAHugeTimeout() throws Exception {
    Duration huge = Duration.ofSeconds(Long.MAX_VALUE);
    CompletableFuture<List<Event>> poll = CompletableFuture.supplyAsync(() -> {
      try {
        return collab.events().awaitAfter(0, EventFilter.all(), 10, huge);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    Event e = collab.events().append("a", "t", Map.of());
    assertThat(poll.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)).containsExactly(e);
    assertThat(collab.events().awaitAfter(0, EventFilter.all(), 10, huge)).containsExactly(e);
    assertThat(collab.events().awaitAfter(0, EventFilter.all(), 10, Duration.ofSeconds(Long.MAX_VALUE, 999_999_999)))
        .containsExactly(e);
    assertThat(collab.events().awaitAfter(e.id(), EventFilter.all(), 10, Duration.ofMillis(10))).isEmpty();
  }

  @Test
  void aListenerThatInterruptsItsOwnThreadDoesNotEndTheSubscription() {
    List<Event> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (Subscription sub = collab.events().subscribe(0, EventFilter.all(), new EventListener() {
      @Override
      public void onEvent(Event event) {
        seen.add(event);
        Thread.currentThread().interrupt(); // "restore the interrupt" after some blocking call
      }

      @Override
      public void onError(Throwable error) {
        errors.add(error);
      }
    })) {
      collab.events().append("a", "t", Map.of());
      long deadline = System.nanoTime() + PATIENCE.toNanos();
      while (seen.isEmpty() && System.nanoTime() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
      }
      collab.events().append("b", "t", Map.of());
      while (seen.size() < 2 && System.nanoTime() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
      }
      assertThat(seen).extracting(Event::type).containsExactly("a", "b");
      assertThat(sub.isClosed()).isFalse();
      assertThat(errors).isEmpty();
    }
  }
}
