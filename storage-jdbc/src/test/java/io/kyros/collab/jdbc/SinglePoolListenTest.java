package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PostgreSQL with a pool of one connection: a thread tailing the log with {@code awaitAfter} must not starve the
 * writers (nor itself) by keeping the only connection in {@code LISTEN}; every write commits and the tail sees
 * every event.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SinglePoolListenTest {
  private static final int EVENTS = 20;

  @Test
  void anAwaitingTailAndWritesShareAPoolOfOneConnection() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "onepool_", 1,
            c -> c.setConnectionTimeout(3_000));
        JdbcStorage storage = db.builder().build();
        Collab collab = Collab.builder().storage(storage).build()) {
      CompletableFuture<List<Event>> tail = new CompletableFuture<>();
      Thread tailer = new Thread(() -> {
        try {
          List<Event> seen = new ArrayList<>();
          long position = 0;
          while (seen.size() < EVENTS) {
            List<Event> page = collab.events().awaitAfter(position, EventFilter.all(), 100, Duration.ofMinutes(1));
            seen.addAll(page);
            position = page.isEmpty() ? position : page.get(page.size() - 1).id();
          }
          tail.complete(seen);
        } catch (Throwable e) {
          tail.completeExceptionally(e);
        }
      }, "one-pool-tail");
      tailer.setDaemon(true);
      tailer.start();
      Await.until("the tail to wait", () -> tailer.getState() == Thread.State.TIMED_WAITING);

      for (int i = 0; i < EVENTS; i++) {
        collab.events().append("ping", "t" + i, Map.of("i", i)); // fails after the pool timeout if starved
      }

      assertThat(tail.get(2, TimeUnit.MINUTES)).extracting(Event::target)
          .containsExactlyElementsOf(java.util.stream.IntStream.range(0, EVENTS).mapToObj(i -> "t" + i).toList());
    }
  }
}
