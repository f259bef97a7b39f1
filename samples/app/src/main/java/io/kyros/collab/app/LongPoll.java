package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.Event;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A {@code GET /collab/events?wait=N} that found nothing yet: it waits, holding no thread, until a
 * matching event commits (answered at once with up to {@code limit} events) or the wait ends
 * (answered with an empty list). Either way the answer is {@code {data: [event], last_id}}.
 *
 * <p>Thread-safe: it answers once, guarded by {@link EventClient#markClosed()}.
 */
final class LongPoll extends EventClient {
  private final Exchange exchange;
  private final int limit;
  private final long after;
  private Scheduler.Task timeout;

  LongPoll(EventHub hub, Predicate<Event> filter, long after, int limit, Exchange exchange) {
    super(hub, filter, after);
    this.exchange = exchange;
    this.limit = limit;
    this.after = after;
  }

  void start(Duration wait) {
    exchange.detach();
    synchronized (this) {
      timeout = hub.scheduler().schedule(this::close, wait.toNanos(), TimeUnit.NANOSECONDS);
    }
    hub.register(this);
  }

  @Override
  void deliver(List<Event> events) {
    if (markClosed()) {
      cancelTimeout();
      answer(events.size() > limit ? events.subList(0, limit) : events);
    }
  }

  @Override
  void failed(Throwable error) {
    if (markClosed()) {
      cancelTimeout();
      ApiException e = Problems.of(error);
      exchange.response().setStatus(e.status());
      exchange.response().getHeaders().put("Content-Type", Problems.MEDIA_TYPE);
      exchange.response().write(true, java.nio.ByteBuffer.wrap(Json.write(Problems.body(e, exchange.path()))
          .getBytes(java.nio.charset.StandardCharsets.UTF_8)), exchange.callback());
    }
  }

  @Override
  void close() {
    if (markClosed()) {
      cancelTimeout();
      answer(List.of());
    }
  }

  private synchronized void cancelTimeout() {
    if (timeout != null) {
      timeout.cancel();
    }
  }

  private void answer(List<Event> events) {
    ObjectNode out = Json.object();
    ArrayNode data = out.putArray("data");
    events.forEach(e -> data.add(Json.event(e)));
    // nothing matched up to there (events found matching as the wait ended are not), so a poll may resume from there
    out.put("last_id", events.isEmpty() ? Math.max(after, seenThrough()) : events.get(events.size() - 1).id());
    byte[] body = Json.write(out).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    exchange.response().setStatus(200);
    exchange.response().getHeaders().put("Content-Type", "application/json; charset=utf-8");
    exchange.response().getHeaders().put("Content-Length", body.length);
    exchange.response().write(true, java.nio.ByteBuffer.wrap(body), exchange.callback());
  }
}
