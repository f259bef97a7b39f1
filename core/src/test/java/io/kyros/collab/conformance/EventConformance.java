package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventDraft;
import io.kyros.collab.EventFilter;
import io.kyros.collab.InvalidValueException;
import io.kyros.collab.Subscription;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** docs/design.md invariant 4: the append-only log, reading, long polling and push subscriptions. */
public abstract class EventConformance extends LeaseConformance {

  @Test
  void events_appendAndReadAfterAnExclusivePosition() {
    Event first = collab.events().append("note", "board/1", Map.of("text", "hello"));
    Event second = collab.events().append("note", "board/2", "{\"text\":\"world\"}");
    assertThat(second.id()).isGreaterThan(first.id());
    assertThat(first.actor()).isEqualTo("alice");
    assertThat(first.ts()).isBeforeOrEqualTo(storage.now());
    assertThat(first.details().get("text").asText()).isEqualTo("hello");
    assertThat(collab.events().read(0, 10)).containsExactly(first, second);
    assertThat(collab.events().read(first.id(), 10)).containsExactly(second);
    assertThat(collab.events().read(second.id(), 10)).isEmpty();
    assertThat(collab.events().read(0, 1)).containsExactly(first);
    assertThat(collab.events().lastId()).isEqualTo(second.id());
  }

  @Test
  void events_anAppendAnswersWithTheEventsAReadGives() {
    // numbers of every kind and members out of order: the answer holds what the stored text reads back as
    ObjectNode details = JsonNodeFactory.instance.objectNode();
    details.put("z", 1.0).put("a", 7L).put("m", 0.1f).put("d", new BigDecimal("2.50"))
        .put("big", new BigDecimal(BigInteger.ONE.shiftLeft(60))).put("e", 1e21).put("s", "line\n\u2028");
    details.putArray("list").add(3).add(-0.0).addObject().put("y", true).putNull("x");
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("b", 2);
    map.put("a", List.of(1.5, "x"));
    List<Event> appended = collab.events().appendAll(List.of(EventDraft.of("kinds", "t/1", details),
        EventDraft.of("map", "t/2", map), EventDraft.of("text", "t/3", "{\"q\":1.0,\"p\":[]}")));
    List<Event> read = collab.events().read(appended.get(0).id() - 1, 3);
    assertThat(appended).isEqualTo(read);
    for (int i = 0; i < 3; i++) {
      assertThat(appended.get(i).details().toString()).isEqualTo(read.get(i).details().toString());
    }
    assertThat(appended.get(0).details().get("z").isInt()).isTrue();
    assertThat(appended.get(0).details().get("big").isDouble()).isTrue();
    assertThat(appended.get(0).details().toString()).startsWith("{\"a\":7,\"big\":");
  }

  @Test
  void events_filterByTypeActorAndTarget() {
    Collab bob = newCollab("bob");
    collab.events().append("a", "x/1", Map.of());
    bob.events().append("b", "x/2", Map.of());
    collab.events().append("b", "y/1", Map.of());
    bob.events().append("a", "y/2", Map.of());
    assertThat(collab.events().read(0, EventFilter.all().types("a"), 10)).extracting(Event::target)
        .containsExactly("x/1", "y/2");
    assertThat(collab.events().read(0, EventFilter.all().actors("bob"), 10)).extracting(Event::target)
        .containsExactly("x/2", "y/2");
    assertThat(collab.events().read(0, EventFilter.all().targetPrefix("y/"), 10)).extracting(Event::target)
        .containsExactly("y/1", "y/2");
    assertThat(collab.events().read(0, EventFilter.all().types("b").actors("alice"), 10)).extracting(Event::target)
        .containsExactly("y/1");
    assertThat(collab.events().read(0, EventFilter.all().types("a"), 1)).extracting(Event::target)
        .containsExactly("x/1");
  }

  @Test
  void events_appendAllIsAtomicAndOrdered() {
    List<Event> events = collab.events().appendAll(List.of(EventDraft.of("one", "t", Map.of()),
        new EventDraft("two", "robot", "t", Map.of("n", 2))));
    assertThat(events).extracting(Event::type).containsExactly("one", "two");
    assertThat(events.get(1).actor()).isEqualTo("robot");
    assertStrictlyIncreasing(events);
    assertThatThrownBy(() -> collab.events().appendAll(List.of(EventDraft.of("ok", "t", Map.of()),
        EventDraft.of("Bad Type", "t", Map.of())))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("event type must match");
    assertThat(collab.events().read(0, 10)).hasSize(2);
  }

  @Test
  void events_badInputIsRejectedAndNothingIsAppended() {
    assertThatThrownBy(() -> collab.events().append("x", "t", List.of(1)))
        .isInstanceOf(InvalidValueException.class).hasMessageContaining("must be a JSON object");
    assertThatThrownBy(() -> collab.events().append("x", "", Map.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target");
    assertThatThrownBy(() -> collab.events().append("x", "t\n", Map.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("control characters");
    assertThatThrownBy(() -> collab.events().appendAll(List.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must not be empty");
    assertThatThrownBy(() -> collab.events().read(-1, 10))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("afterId must not be negative");
    assertThatThrownBy(() -> collab.events().read(0, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit must be positive");
    assertThat(collab.events().lastId()).isZero();
  }

  @Test
  void events_awaitAfterReturnsAtOnceTimesOutOrWakesOnAppend() throws Exception {
    Event first = collab.events().append("a", "t", Map.of());
    assertThat(collab.events().awaitAfter(0, EventFilter.all(), 10, patience())).containsExactly(first);
    assertThat(collab.events().awaitAfter(first.id(), EventFilter.all(), 10, Duration.ofMillis(30))).isEmpty();
    CompletableFuture<List<Event>> poll = new CompletableFuture<>();
    Thread poller = new Thread(() -> {
      try {
        poll.complete(collab.events().awaitAfter(first.id(), EventFilter.all().types("wanted"), 10, patience()));
      } catch (Throwable e) {
        poll.completeExceptionally(e);
      }
    }, "long-poll");
    poller.start();
    java.util.function.BooleanSupplier parked = () -> poller.getState() == Thread.State.TIMED_WAITING
        || poller.getState() == Thread.State.WAITING || poll.isDone();
    // the append must wake a parked poller, not be found by its first read
    awaitCondition("the poller to park", parked);
    assertThat(poll).isNotDone();
    Event unwanted = collab.events().append("unwanted", "t", Map.of());
    // an event the filter skips wakes the poller, which reads past it and parks again
    awaitCondition("the poller to park again past the unwanted event", () -> poll.isDone()
        || (parked.getAsBoolean() && collab.events().lastId() == unwanted.id()));
    assertThat(poll).isNotDone();
    Event wanted = newCollab("bob").events().append("wanted", "t", Map.of());
    assertThat(poll.get(patience().toSeconds(), TimeUnit.SECONDS)).containsExactly(wanted);
  }

  @Test
  void events_subscribersGetEveryMatchingEventOnceInOrderAndCanResume() {
    Event before = collab.events().append("a", "t", Map.of("n", 0));
    List<Event> seen = new CopyOnWriteArrayList<>();
    Subscription sub = collab.events().subscribe(before.id(), EventFilter.all().types("a"), seen::add);
    List<Event> appended = new ArrayList<>();
    for (int i = 1; i <= 20; i++) {
      appended.add(collab.events().append("a", "t", Map.of("n", i)));
      collab.events().append("b", "t", Map.of("n", i));
    }
    awaitCondition("20 events", () -> seen.size() >= 20);
    awaitCondition("position at the end", () -> sub.position() >= appended.get(19).id());
    sub.close();
    assertThat(sub.isClosed()).isTrue();
    assertThat(seen).containsExactlyElementsOf(appended);

    List<Event> resumed = new CopyOnWriteArrayList<>();
    Event later = collab.events().append("a", "t", Map.of("n", 21));
    try (Subscription again = collab.events().subscribe(sub.position(), EventFilter.all().types("a"), resumed::add)) {
      awaitCondition("resumed event", () -> !resumed.isEmpty());
      assertThat(resumed).containsExactly(later);
      assertThat(again.isClosed()).isFalse();
    }
  }

  @Test
  void events_listenerErrorClosesTheSubscriptionAtTheLastGoodPosition() {
    Event ok = collab.events().append("a", "t", Map.of());
    collab.events().append("boom", "t", Map.of());
    AtomicReference<Throwable> error = new AtomicReference<>();
    Subscription sub = collab.events().subscribe(0, EventFilter.all(), new io.kyros.collab.EventListener() {
      @Override
      public void onEvent(Event event) {
        if (event.type().equals("boom")) {
          throw new IllegalStateException("listener failed");
        }
      }

      @Override
      public void onError(Throwable e) {
        error.set(e);
      }
    });
    awaitCondition("listener error", () -> error.get() != null && sub.isClosed());
    assertThat(error.get()).hasMessage("listener failed");
    assertThat(sub.position()).isEqualTo(ok.id());
  }

  @Test
  void events_flowPublisherHonoursDemand() throws Exception {
    for (int i = 0; i < 5; i++) {
      collab.events().append("a", "t", Map.of("n", i));
    }
    List<Event> got = Collections.synchronizedList(new ArrayList<>());
    AtomicReference<Flow.Subscription> subscription = new AtomicReference<>();
    AtomicReference<Thread> deliveredOn = new AtomicReference<>();
    CompletableFuture<Throwable> errors = new CompletableFuture<>();
    collab.events().publisher(0, EventFilter.all()).subscribe(new Flow.Subscriber<>() {
      @Override
      public void onSubscribe(Flow.Subscription s) {
        subscription.set(s);
        s.request(2);
      }

      @Override
      public void onNext(Event item) {
        deliveredOn.set(Thread.currentThread());
        got.add(item);
      }

      @Override
      public void onError(Throwable throwable) {
        errors.complete(throwable);
      }

      @Override
      public void onComplete() {}
    });
    awaitCondition("2 events", () -> got.size() == 2);
    collab.events().append("a", "t", Map.of("n", 5));
    // demand is exhausted: the publisher's thread parks waiting for demand, with events 2 to 5 unread or held back,
    // and nothing more arrives until requested
    Thread signaller = deliveredOn.get();
    awaitCondition("the publisher to wait for demand", () -> (signaller.getState() == Thread.State.WAITING
        || signaller.getState() == Thread.State.TIMED_WAITING)
        && java.util.Arrays.stream(signaller.getStackTrace()).anyMatch(f -> f.getMethodName().equals("awaitDemand")));
    assertThat(got).hasSize(2);
    subscription.get().request(10);
    awaitCondition("6 events", () -> got.size() == 6);
    assertThat(got).extracting(e -> e.details().get("n").asInt()).containsExactly(0, 1, 2, 3, 4, 5);
    subscription.get().request(0);
    assertThat(errors.get(patience().toSeconds(), TimeUnit.SECONDS))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3.9");
  }

  @Test
  void events_closingTheCollabStopsSubscriptions() {
    Collab bob = newCollab("bob");
    Subscription sub = bob.events().subscribe(0, EventFilter.all(), e -> {});
    bob.close();
    awaitCondition("closed subscription", sub::isClosed);
    assertThatThrownBy(() -> bob.events().subscribe(0, EventFilter.all(), e -> {}))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void events_markdownRendererTellsTheStory() {
    collab.documents().create("orders", "42", Map.of("v", 1));
    collab.leases().tryAcquire("job", Duration.ofSeconds(30)).orElseThrow();
    collab.events().append("deploy", "svc/api", Map.of("version", "1.2"));
    String md = collab.events().renderMarkdown(0, 100);
    assertThat(md).contains("## 2026-01-01 (Z)")
        .contains("**alice** created document `orders/42`")
        .contains("acquired lease on `job` (fence 1, ttl PT30S)")
        .contains("`deploy` on `svc/api`: version=1.2")
        .contains("· #" + collab.events().lastId());
  }

  @Test
  void events_detailsAreImmutableCopies() {
    Event e = collab.events().append("a", "t", Map.of("n", 1));
    e.details().put("n", 2);
    assertThat(e.details().get("n").asInt()).isEqualTo(1);
    assertThat(collab.events().read(0, 1).get(0).details().get("n").asInt()).isEqualTo(1);
  }
}
