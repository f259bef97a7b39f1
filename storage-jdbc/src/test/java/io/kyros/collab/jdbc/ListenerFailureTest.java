package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The PostgreSQL LISTEN thread survives a {@link RuntimeException} from its connection: it logs it, returns (or,
 * when UNLISTEN fails too, aborts) the connection, listens again after its pause, and a NOTIFY from another node
 * then wakes the waiters; once nobody waits it returns its connection and ends, and the next wait starts it again.
 *
 * <p>The listener is driven directly, as {@link JdbcStorage#awaitEvents} drives it ({@code waitStarted},
 * {@code waitEnded}), with a wake-up that counts: the listener is the only caller of it, so a count going up after
 * a commit on the other node proves the NOTIFY woke the waiters, not a poll. Its pool's connections are proxies
 * whose {@code createStatement} throws {@link IllegalStateException} on the listener's connection (the one asked
 * {@code isWrapperFor(PGConnection)}) the first times: the LISTEN statement, and with two failures also the UNLISTEN
 * statement. The driver's {@code getNotifications} is reached through {@code unwrap}, on the real connection.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ListenerFailureTest {
  /** The shortest pause (500 ms) and quiet period (2 s) the listener allows. */
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  @Test
  void aRuntimeExceptionOnLISTENIsSurvivedAndANotifyFromAnotherNodeWakesTheNextWait() throws Exception {
    FaultyDataSource.Calls failed = listenerSurvives(1);
    assertThat(failed.log()).containsSubsequence("isWrapperFor", "createStatement", "createStatement", "close")
        .doesNotContain("abort"); // UNLISTEN worked: the connection went back to the pool
  }

  @Test
  void aListenerConnectionWhoseUnlistenFailsTooIsAbortedAndTheListenerRecovers() throws Exception {
    FaultyDataSource.Calls failed = listenerSurvives(2);
    // UNLISTEN failed: the connection may still be listening, so it is aborted, never returned to the pool as is
    assertThat(failed.log()).containsSubsequence("isWrapperFor", "createStatement", "createStatement", "abort",
        "close");
    assertThat(failed.real.isClosed()).isTrue();
  }

  /**
   * Fails the listener's first {@code failures} statements, then checks it recovers and returns its connection.
   *
   * @return the calls on the connection the listener failed on
   */
  private static FaultyDataSource.Calls listenerSurvives(int failures) throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "listenfail_", 2, c -> {});
        HikariDataSource otherPool = db.newPool("listenfail_writer", 2, c -> {});
        JdbcStorage writer = JdbcStorage.builder(otherPool).tablePrefix(db.prefix).build()) {
      FaultyDataSource faulty = new FaultyDataSource(db.dataSource());
      AtomicInteger failuresLeft = new AtomicInteger(failures);
      faulty.inject((c, m, args) -> m.getName().equals("createStatement") && c.log().contains("isWrapperFor")
          && failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0
          ? new IllegalStateException("injected: listener connection failure") : null);
      String channel = JdbcDialect.POSTGRESQL.sql().eventChannel(Tables.of(db.prefix));
      AtomicInteger wakes = new AtomicInteger();

      try (Notifications listener = new Notifications(faulty.dataSource(), new ConnectionDemand(), channel,
          wakes::incrementAndGet, POLL_NANOS)) {
        listener.waitStarted();
        // the first LISTEN fails before its wake-up; the one after the pause wakes the waiters once it listens
        Await.until("the listener to LISTEN again after the failure", () -> wakes.get() >= 1 && db.listening());
        assertThat(failuresLeft.get()).isZero();
        assertThat(faulty.connections()).hasSizeGreaterThanOrEqualTo(2);
        int beforeCommit = wakes.get();
        writer.commit(Commit.of(List.of(), List.of(), List.of(new NewEvent("ping", "writer", "t", "{}"))));
        Await.until("the NOTIFY of the other node's commit to wake the waiters", () -> wakes.get() > beforeCommit);
        listener.waitEnded();

        Await.until("the listener to return its connection after the quiet period",
            () -> db.dataSource().getHikariPoolMXBean().getActiveConnections() == 0 && !db.listening()
                && !listenerThreadAlive(channel));

        int beforeNextWait = wakes.get();
        listener.waitStarted(); // the listener ended: the next wait starts it again
        Await.until("the listener's LISTEN for the next wait", () -> wakes.get() > beforeNextWait && db.listening());
        listener.waitEnded();
        Await.until("the connection returned again",
            () -> db.dataSource().getHikariPoolMXBean().getActiveConnections() == 0 && !listenerThreadAlive(channel));
      }
      return faulty.connections().get(0);
    }
  }

  private static boolean listenerThreadAlive(String channel) {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().equals("collab-jdbc-listen-" + channel) && t.isAlive());
  }
}
