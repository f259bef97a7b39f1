package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
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

  /**
   * The notifying statement is a NOTIFY on the channel LISTEN uses, and it turns {@code synchronous_commit} off for
   * its own transaction only (that commit then waits for no WAL flush; see {@link CommitNotifier}): the connection it
   * ran on is back to its own setting afterwards, so no
   * commit of Collab's (or of the application sharing the pool) loses its durability.
   */
  @Test
  void theNotifyingStatementReachesAListenerAndLeavesTheConnectionsCommitDurabilityAsItWas() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "notify_", 2, c -> {});
        Connection listener = db.connect();
        Connection notifier = db.connect()) {
      Tables tables = Tables.of(db.prefix);
      Dialect dialect = new PostgresDialect();
      try (Statement s = listener.createStatement()) {
        s.execute("LISTEN " + dialect.eventChannel(tables));
      }
      String before = setting(notifier);
      try (PreparedStatement ps = notifier.prepareStatement(dialect.notifyEvents(tables));
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getString(1)).as("synchronous_commit in the notifying transaction").isEqualTo("off");
      }
      assertThat(setting(notifier)).isEqualTo(before);
      PGConnection pg = listener.unwrap(PGConnection.class);
      PGNotification[] received = pg.getNotifications(30_000);
      assertThat(received).extracting(PGNotification::getName).containsExactly(dialect.eventChannel(tables));
    }
  }

  private static String setting(Connection c) throws Exception {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW synchronous_commit")) {
      rs.next();
      return rs.getString(1);
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
