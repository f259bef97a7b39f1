package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link EventLog#publisher}: the Reactive Streams rules for signals, demand, cancel and close. */
@Timeout(120)
class FlowPublisherTest {
  private static final Duration PATIENCE = Duration.ofSeconds(60);

  private final Collab collab = Collab.builder().holder("alice").build();

  @AfterEach
  void close() {
    collab.close();
  }

  @Test
  void requestZeroFromInsideOnNextLeadsToExactlyOneOnErrorAndNoFurtherOnNext() throws Exception {
    appendNumbered(5);
    Recorder r = new Recorder(10);
    r.onNextHook = (s, e) -> s.request(0);
    collab.events().publisher(0, EventFilter.all()).subscribe(r);
    awaitCondition("onError", () -> !r.errors.isEmpty());
    r.awaitSignallingThreadsEnd();
    assertThat(r.signals).containsExactly("onSubscribe", "onNext", "onError");
    assertThat(r.errors).singleElement().isInstanceOf(IllegalArgumentException.class)
        .extracting(Throwable::getMessage).asString().contains("3.9");
    assertThat(r.overlaps).hasValue(0);
  }

  @Test
  void requestAfterCancelSignalsNothing() {
    appendNumbered(3);
    Set<Thread> before = liveTailThreads();
    Recorder r = new Recorder(0);
    collab.events().publisher(0, EventFilter.all()).subscribe(r);
    Flow.Subscription s = r.subscription.get();
    s.cancel();
    s.request(5);
    s.request(0);
    s.request(-1);
    s.cancel();
    appendNumbered(2);
    awaitCondition("the cancelled subscription's thread to end", () -> newTailThreads(before).isEmpty());
    assertThat(r.signals).containsExactly("onSubscribe");
  }

  @Test
  void requestAfterCancelInsideOnNextSignalsNothing() throws Exception {
    appendNumbered(5);
    Recorder r = new Recorder(1);
    r.onNextHook = (s, e) -> {
      s.cancel();
      s.request(10);
      s.request(0);
    };
    collab.events().publisher(0, EventFilter.all()).subscribe(r);
    awaitCondition("first event", () -> !r.items.isEmpty());
    r.awaitSignallingThreadsEnd();
    assertThat(r.signals).containsExactly("onSubscribe", "onNext");
  }

  @Test
  void aSubscriberWhoseOnSubscribeThrowsLeavesNoTailThreadAndGetsNoSignals() {
    appendNumbered(3);
    Set<Thread> before = liveTailThreads();
    List<String> signals = new CopyOnWriteArrayList<>();
    Flow.Subscriber<Event> broken = new Flow.Subscriber<>() {
      @Override
      public void onSubscribe(Flow.Subscription s) {
        signals.add("onSubscribe");
        s.request(Long.MAX_VALUE);
        throw new IllegalStateException("broken subscriber (simulated)");
      }

      @Override
      public void onNext(Event item) {
        signals.add("onNext");
      }

      @Override
      public void onError(Throwable throwable) {
        signals.add("onError");
      }

      @Override
      public void onComplete() {
        signals.add("onComplete");
      }
    };
    assertThatCode(() -> collab.events().publisher(0, EventFilter.all()).subscribe(broken))
        .doesNotThrowAnyException();
    appendNumbered(2);
    awaitCondition("no tail thread left by the broken subscriber", () -> newTailThreads(before).isEmpty());
    assertThat(signals).containsExactly("onSubscribe");
  }

  @Test
  void signalsNeverOverlapAndFollowDemand() throws Exception {
    int total = 400;
    appendNumbered(0, total / 2);
    Recorder r = new Recorder(0);
    r.onNextHook = (s, e) -> {
      if (ThreadLocalRandom.current().nextInt(8) == 0) {
        LockSupport.parkNanos(50_000L); // widen the window for a concurrent signal to show up
      }
    };
    collab.events().publisher(0, EventFilter.all()).subscribe(r);
    Flow.Subscription s = r.subscription.get();
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    Thread requester = new Thread(() -> {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      while (r.items.size() < total && System.nanoTime() - deadline < 0) {
        if (r.requested.get() - r.items.size() < 4) {
          int burst = 1 + random.nextInt(8);
          r.requested.addAndGet(burst); // counted before requesting, so onNext can check it
          s.request(burst);
        }
        LockSupport.parkNanos(100_000L);
      }
    }, "flow-test-requester");
    requester.setDaemon(true);
    requester.start();
    appendNumbered(total / 2, total);
    awaitCondition(total + " events", () -> r.items.size() >= total);
    requester.join(PATIENCE.toMillis());
    collab.close();
    awaitCondition("onError after close", () -> !r.errors.isEmpty());
    r.awaitSignallingThreadsEnd();

    assertThat(r.overlaps).as("overlapping signals").hasValue(0);
    assertThat(r.beyondDemand).as("onNext beyond demand").hasValue(0);
    assertThat(r.items).extracting(e -> e.details().get("n").asInt())
        .containsExactlyElementsOf(java.util.stream.IntStream.range(0, total).boxed().toList());
    assertThat(r.errors).hasSize(1);
    assertThat(r.signals.get(r.signals.size() - 1)).isEqualTo("onError");
    assertThat(r.signallingThreads).singleElement().extracting(Thread::getName).asString()
        .startsWith("collab-tail-");
  }

  @Test
  void closingTheCollabSignalsOnErrorExactlyOnceAfterOnSubscribe() throws Exception {
    appendNumbered(3);
    Recorder waitingForDemand = new Recorder(1);
    Recorder waitingForEvents = new Recorder(Long.MAX_VALUE);
    collab.events().publisher(0, EventFilter.all()).subscribe(waitingForDemand);
    collab.events().publisher(3, EventFilter.all()).subscribe(waitingForEvents);
    awaitCondition("one event", () -> waitingForDemand.items.size() == 1);
    collab.close();
    for (Recorder r : List.of(waitingForDemand, waitingForEvents)) {
      awaitCondition("onError", () -> !r.errors.isEmpty());
      r.awaitSignallingThreadsEnd();
      assertThat(r.errors).singleElement().isInstanceOf(CollabException.class)
          .extracting(Throwable::getMessage).asString().contains("closed");
    }
    assertThat(waitingForDemand.signals).containsExactly("onSubscribe", "onNext", "onError");
    assertThat(waitingForEvents.signals).containsExactly("onSubscribe", "onError");

    Recorder late = new Recorder(1);
    collab.events().publisher(0, EventFilter.all()).subscribe(late);
    assertThat(late.signals).containsExactly("onSubscribe", "onError");
    assertThat(late.errors).singleElement().isInstanceOf(IllegalStateException.class)
        .extracting(Throwable::getMessage).isEqualTo("Collab is closed");
  }

  @Test
  void anOnNextThatThrowsEndsTheStreamWithThatError() throws Exception {
    appendNumbered(3);
    Recorder r = new Recorder(Long.MAX_VALUE);
    IllegalStateException boom = new IllegalStateException("onNext failed (simulated)");
    r.onNextHook = (s, e) -> {
      throw boom;
    };
    collab.events().publisher(0, EventFilter.all()).subscribe(r);
    awaitCondition("onError", () -> !r.errors.isEmpty());
    r.awaitSignallingThreadsEnd();
    assertThat(r.signals).containsExactly("onSubscribe", "onNext", "onError");
    assertThat(r.errors).containsExactly(boom);
  }

  // ---------------------------------------------------------------------------------------------

  private void appendNumbered(int count) {
    appendNumbered(0, count);
  }

  private void appendNumbered(int from, int to) {
    for (int i = from; i < to; i++) {
      collab.events().append("n", "t", Map.of("n", i));
    }
  }

  private static Set<Thread> liveTailThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("collab-tail-")).collect(Collectors.toSet());
  }

  private static Set<Thread> newTailThreads(Set<Thread> before) {
    Set<Thread> now = liveTailThreads();
    now.removeAll(before);
    return now;
  }

  static void awaitCondition(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting for " + what);
      }
      LockSupport.parkNanos(1_000_000L);
    }
  }

  /**
   * Records every signal, notices overlapping ones (rule 1.3) and onNext beyond requested demand
   * (rule 1.1, when the test counts requests in {@link #requested}).
   */
  static final class Recorder implements Flow.Subscriber<Event> {
    final List<String> signals = new CopyOnWriteArrayList<>();
    final List<Event> items = new CopyOnWriteArrayList<>();
    final List<Throwable> errors = new CopyOnWriteArrayList<>();
    final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger overlaps = new AtomicInteger();
    final AtomicInteger beyondDemand = new AtomicInteger();
    final AtomicLong requested = new AtomicLong();
    final Set<Thread> signallingThreads = ConcurrentHashMap.newKeySet();
    final AtomicReference<Flow.Subscription> subscription = new AtomicReference<>();
    private final long initialRequest;
    volatile BiConsumer<Flow.Subscription, Event> onNextHook;

    Recorder(long initialRequest) {
      this.initialRequest = initialRequest;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      enter("onSubscribe");
      try {
        subscription.set(s);
        if (initialRequest > 0) {
          requested.addAndGet(initialRequest);
          s.request(initialRequest);
        }
      } finally {
        inside.decrementAndGet();
      }
    }

    @Override
    public void onNext(Event item) {
      enter("onNext");
      try {
        signallingThreads.add(Thread.currentThread());
        items.add(item);
        if (items.size() > requested.get()) {
          beyondDemand.incrementAndGet();
        }
        BiConsumer<Flow.Subscription, Event> hook = onNextHook;
        if (hook != null) {
          hook.accept(subscription.get(), item);
        }
      } finally {
        inside.decrementAndGet();
      }
    }

    @Override
    public void onError(Throwable throwable) {
      enter("onError");
      try {
        signallingThreads.add(Thread.currentThread());
        errors.add(throwable);
      } finally {
        inside.decrementAndGet();
      }
    }

    @Override
    public void onComplete() {
      enter("onComplete");
      inside.decrementAndGet();
    }

    private void enter(String signal) {
      if (inside.incrementAndGet() != 1) {
        overlaps.incrementAndGet();
      }
      signals.add(signal);
    }

    /** Waits until every thread that signalled has ended, so no later signal can come. */
    void awaitSignallingThreadsEnd() throws InterruptedException {
      for (Thread t : signallingThreads) {
        if (t != Thread.currentThread()) {
          t.join(PATIENCE.toMillis());
          assertThat(t.isAlive()).as("%s still alive", t.getName()).isFalse();
        }
      }
    }
  }
}
