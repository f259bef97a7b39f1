package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PostgreSQL LISTEN/NOTIFY: a waiter on one node, polling only once a minute, wakes within seconds when another
 * node (its own pool and storage) commits an event.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class NotificationTest {

  @Test
  void aCommitOnAnotherNodeWakesAWaiterLongBeforeItsNextPoll() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "notify_", 2, c -> {});
        HikariDataSource otherPool = db.newPool("notify_writer", 2, c -> {});
        JdbcStorage waiter = db.builder().pollInterval(Duration.ofMinutes(1)).build();
        JdbcStorage writer = JdbcStorage.builder(otherPool).tablePrefix(db.prefix).build()) {
      waiter.awaitEvents(0, Duration.ofMillis(1)); // the first wait starts the listener
      Await.until("the listener's LISTEN", () -> db.listening());
      CompletableFuture<Boolean> woke = new CompletableFuture<>();
      Thread thread = new Thread(() -> {
        try {
          woke.complete(waiter.awaitEvents(0, Duration.ofHours(1)));
        } catch (Throwable e) {
          woke.completeExceptionally(e);
        }
      }, "notified-waiter");
      thread.start();
      Await.until("the waiter to park", () -> thread.getState() == Thread.State.TIMED_WAITING);
      writer.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("ping", "writer", "t", "{}"))));
      // true means an event is readable (its own timeout, an hour, would return false); polling at most once a minute
      // (the longest the builder allows), a wake-up within 30 s of the commit is the NOTIFY's. This bound is the one
      // margin left: the listener has no hook a test can observe through JdbcStorage's public API.
      assertThat(woke.get(30, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void theListenerReturnsItsConnectionOnceNobodyWaitsAndListensAgainForTheNextWait() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "notify_", 2, c -> {});
        JdbcStorage waiter = db.builder().build()) {
      waiter.awaitEvents(0, Duration.ofMillis(10));
      Await.until("the listener to return its connection after the quiet period",
          () -> db.dataSource().getHikariPoolMXBean().getActiveConnections() == 0 && !db.listening());
      waiter.awaitEvents(0, Duration.ofMillis(10)); // the next wait starts it again
      Await.until("the listener's LISTEN again", () -> db.listening());
      Await.until("the connection returned again",
          () -> db.dataSource().getHikariPoolMXBean().getActiveConnections() == 0);
    }
  }
}
