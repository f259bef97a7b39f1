package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * PostgreSQL commits read their expectations after their key locks, seeing every commit that held those locks before,
 * whatever isolation level the pool's connections default to: a commit's transaction runs at READ COMMITTED even on a
 * pool configured for REPEATABLE READ or SERIALIZABLE. At those levels the snapshot would be taken by the commit's
 * first statement, before its key locks are granted, so a commit that waited for a key's lock would check its
 * expectation on that key against the version before the lock holder's commit, and commit on it (every case below
 * did, before {@code InlineCommit} began its transactions at READ COMMITTED). Here the holder (plain SQL doing what a
 * commit on the watched key does: its key lock, then a new revision) commits while the commit under test waits for
 * that lock; the commit expects the watched key at its old revision, and must report the conflict instead of
 * committing. Every combination of level (READ COMMITTED too), the pool's auto-commit (on; or off, which Collab turns
 * on for the operation) and {@link Path} is run: the self-checked statement, which on a pool at READ COMMITTED is
 * PostgreSQL's implicit transaction (without BEGIN); the checked form, which expects the watched key without writing
 * it; and the general path. The checked and general cases at the stricter levels all committed before the fix, and
 * the 4 with auto-commit off also did with only the commit's own BEGIN fixed, before operations ran in auto-commit. The other tests: a pool that leaves a
 * transaction open on the connections it hands out, and a tailing read on a pool with auto-commit off.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class IsolationTest {
  private static final String PREFIX = "isolation_";
  private static final RecordKey WATCHED = new RecordKey("c", "watched");
  private static final RecordKey WRITTEN = new RecordKey("c", "written");
  private static final NewEvent EVENT = new NewEvent("e", "a", "t", "{}");

  /** Which way the commit under test goes. */
  enum Path {
    /**
     * It writes the watched record at the revision it expects: one statement, PostgreSQL's implicit transaction on a
     * pool at READ COMMITTED (on the others, refused once and then begun at READ COMMITTED).
     */
    SELF_CHECKED,
    /** It expects the watched record without writing it, and creates another expected absent: the checked form. */
    CHECKED,
    /** It expects the watched record and writes another without an expectation: the general path, two round trips. */
    GENERAL
  }

  /**
   * @param watchedAt the revision the commit expects the watched key at
   * @param path which way it goes
   */
  private static Commit watchingCommit(long watchedAt, Path path) {
    return switch (path) {
      case SELF_CHECKED -> Commit.of(List.of(Expectation.revision(WATCHED, watchedAt)),
          List.of(Write.put(WATCHED, "{\"v\":2}", "h2")), List.of(EVENT));
      case CHECKED -> Commit.of(List.of(Expectation.revision(WATCHED, watchedAt), Expectation.absent(WRITTEN)),
          List.of(Write.put(WRITTEN, "{\"v\":1}", "h1")), List.of(EVENT));
      case GENERAL -> Commit.of(List.of(Expectation.revision(WATCHED, watchedAt)),
          List.of(Write.put(WRITTEN, "{\"v\":1}", "h1")), List.of(EVENT));
    };
  }

  /** @return every isolation level a pool may default to, with auto-commit on and off, and every path */
  static Stream<Arguments> levelsAutoCommitAndPaths() {
    return Stream.of("TRANSACTION_READ_COMMITTED", "TRANSACTION_REPEATABLE_READ", "TRANSACTION_SERIALIZABLE")
        .flatMap(level -> Stream.of(true, false)
            .flatMap(autoCommit -> Stream.of(Path.values()).map(path -> Arguments.of(level, autoCommit, path))));
  }

  @ParameterizedTest(name = "{0}, auto-commit {1}, {2}")
  @MethodSource("levelsAutoCommitAndPaths")
  void aCommitWaitingForAKeysLockChecksItsExpectationAgainstTheHoldersCommit(String isolation, boolean autoCommit,
      Path path) throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 2, c -> {
          c.setTransactionIsolation(isolation);
          c.setAutoCommit(autoCommit);
        });
        JdbcStorage storage = db.builder().build();
        Connection holder = db.connect()) {
      CommitResult created = storage.commit(Commit.of(List.of(Expectation.absent(WATCHED)),
          List.of(Write.put(WATCHED, "{\"v\":0}", "h0")), List.of(EVENT)));
      long before = ((CommitResult.Committed) created).revisions().get(0);
      changeTheWatchedRecordHoldingItsLock(holder, Tables.of(PREFIX));
      CompletableFuture<CommitResult> commit =
          CompletableFuture.supplyAsync(() -> storage.commit(watchingCommit(before, path)));
      Await.until("the commit to wait for the watched key's lock", () -> db.advisoryLockWaits() > 0 || commit.isDone());
      holder.commit();
      long after = storage.read(WATCHED).orElseThrow().revision();
      assertThat(after).isGreaterThan(before);

      CommitResult result = commit.get(60, TimeUnit.SECONDS);

      assertThat(result).isInstanceOf(CommitResult.Conflict.class);
      CommitResult.Conflict conflict = (CommitResult.Conflict) result;
      assertThat(conflict.failed().key()).isEqualTo(WATCHED);
      assertThat(conflict.actualRevision()).isEqualTo(after);
      assertThat(storage.read(WRITTEN)).isEqualTo(Optional.empty());
      assertThat(storage.read(WATCHED).orElseThrow().revision()).isEqualTo(after);
      assertThat(storage.lastEventId()).isEqualTo(1);
      // and with the expectation brought up to date it commits, on the same pool
      assertThat(storage.commit(watchingCommit(after, path))).isInstanceOf(CommitResult.Committed.class);
    }
  }

  /**
   * A one-round-trip commit goes without BEGIN, as PostgreSQL's implicit transaction at the connection's default
   * level; its lock wait's bound refuses any level but READ COMMITTED before the statement locks, reads or writes
   * anything. On a pool at REPEATABLE READ or SERIALIZABLE the first such commit is refused so and runs again at once
   * with {@code BEGIN ISOLATION LEVEL READ COMMITTED}, and from then on every commit of the storage begins so; the
   * refused round trip leaves nothing behind.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"TRANSACTION_REPEATABLE_READ", "TRANSACTION_SERIALIZABLE"})
  void oneTripCommitsOnAPoolNotAtReadCommittedBeginTheirTransactionsOnceTheFirstIsRefused(String isolation) {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        HikariDataSource pool = db.newPool("isolation-implicit", 2, c -> c.setTransactionIsolation(isolation))) {
      FaultyDataSource recorded = new FaultyDataSource(pool);
      try (JdbcStorage storage = db.recordedStorage(recorded)) {
        for (int i = 0; i < 3; i++) {
          RecordKey key = new RecordKey("c", "k" + i);
          assertThat(storage.commit(Commit.of(List.of(Expectation.absent(key)), List.of(Write.put(key, "{}", "h")),
              List.of(EVENT)))).isInstanceOf(CommitResult.Committed.class);
        }

        List<String> commits = recorded.connections().stream().flatMap(c -> c.prepared().stream())
            .filter(CommitTrips::beginsCommit).toList();
        assertThat(commits).hasSize(4);
        assertThat(commits.get(0)).as("the first, refused").matches(CommitTrips::implicit, "an implicit transaction");
        assertThat(commits.subList(1, 4)).allMatch(CommitTrips::explicit, "BEGIN ... READ COMMITTED");
        assertThat(storage.readEvents(0, 10)).extracting(StoredEvent::target).containsOnly("t").hasSize(3);
        assertThat(storage.read(new RecordKey("c", "k0"))).isPresent();
      }
    }
  }

  /**
   * A pool that leaves a transaction open on the connections it hands out (auto-commit off, an init query that ran
   * in it) at REPEATABLE READ: commits still commit, at READ COMMITTED. Collab runs its PostgreSQL operations in
   * auto-commit, so the pool's open transaction is ended first (committed: it only read); setting the level inside it
   * would fail ("SET TRANSACTION ISOLATION LEVEL must be called before any query").
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"TRANSACTION_REPEATABLE_READ", "TRANSACTION_SERIALIZABLE"})
  void aPoolWhoseInitQueryLeftItsTransactionOpenStillCommits(String isolation) {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX);
        HikariDataSource fresh = db.newPool("isolation-init", 1, c -> {
          c.setTransactionIsolation(isolation);
          c.setAutoCommit(false);
          c.setConnectionInitSql("SELECT 1");
        });
        // the dialect given, so that the first commit is the first use of the pool's one connection
        JdbcStorage storage = JdbcStorage.builder(fresh).tablePrefix(db.prefix).dialect(JdbcDialect.POSTGRESQL)
            .listenNotify(false).build()) {
      for (int i = 0; i < 4; i++) {
        assertThat(storage.commit(Commit.of(List.of(Expectation.absent(new RecordKey("c", "k" + i))),
            List.of(Write.put(new RecordKey("c", "k" + i), "{}", "h")), List.of(EVENT))))
            .isInstanceOf(CommitResult.Committed.class);
      }
      assertThat(storage.readEvents(0, 10)).hasSize(4);
    }
  }

  /**
   * A tailing read on a pool at REPEATABLE READ with auto-commit off never skips an event. Ids 1 and 2 are taken,
   * 2 commits, 1 stays open; reader B finds the gap, marks it and returns nothing. Reader A finds the same gap; just
   * before A marks in turn, 1 commits and B reads again, which settles B's mark (everything up to 2). A's second look
   * must then see 1: a statement of its own, with a fresh snapshot. In one REPEATABLE READ transaction for the whole
   * read (as the pool would have it), its second look reused the first one's snapshot, in which 1 is missing, with
   * the newer settled bound, and returned only 2: event 1 skipped for good (it did before reads ran in auto-commit).
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"TRANSACTION_REPEATABLE_READ", "TRANSACTION_SERIALIZABLE"})
  void aReadThatWaitedForAGapNeverSkipsTheEventThatFillsIt(String isolation) throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, PREFIX, 3, c -> {
          c.setTransactionIsolation(isolation);
          c.setAutoCommit(false);
        });
        Connection first = db.connect(); Connection second = db.connect()) {
      Tables t = Tables.of(PREFIX);
      AtomicBoolean armed = new AtomicBoolean();
      List<Long> secondReadOfB = new ArrayList<>();
      AtomicReference<JdbcStorage> storage = new AtomicReference<>();
      // when armed, the close of the first statement reading events (a read's first look) lets 1 commit and B read
      DataSource hooked = hookAfterFirstLook(db.dataSource(), t, () -> {
        if (armed.getAndSet(false)) {
          first.commit(); // 1 is visible from now on
          storage.get().readEvents(0, 10).forEach(e -> secondReadOfB.add(e.id())); // settles B's mark
        }
      });
      storage.set(JdbcStorage.builder(hooked).tablePrefix(db.prefix).dialect(JdbcDialect.POSTGRESQL)
          .listenNotify(false).build());
      try (JdbcStorage closing = storage.get()) {
        String insert = "INSERT INTO " + t.events() + " (id, ts_micros, event_type, actor, target, details) VALUES"
            + " (nextval('" + t.eventSequence() + "'), 0, 'e', 'a', 't', '{}')";
        first.setAutoCommit(false);
        try (Statement s = first.createStatement()) {
          s.execute("SELECT pg_current_xact_id()");
          s.execute(insert); // id 1, open
        }
        try (Statement s = second.createStatement()) {
          s.execute(insert); // id 2, committed
        }
        assertThat(closing.readEvents(0, 10)).as("B, blocked at 1: it marks").isEmpty();
        armed.set(true);
        List<Long> read = closing.readEvents(0, 10).stream().map(StoredEvent::id).toList();
        assertThat(armed).as("the hook ran").isFalse();
        assertThat(secondReadOfB).containsExactly(1L, 2L);
        assertThat(read).as("A: the event that filled the gap, then the rest").containsExactly(1L, 2L);
      }
    }
  }

  /** What a hook runs; it may throw. */
  @FunctionalInterface
  private interface Hook {
    void run() throws Exception;
  }

  /**
   * @return {@code target}, with {@code hook} run when a statement reading the events table (its SQL names it) is
   *     closed, before the close
   */
  private static DataSource hookAfterFirstLook(DataSource target, Tables t, Hook hook) {
    return (DataSource) Proxy.newProxyInstance(IsolationTest.class.getClassLoader(), new Class<?>[] {DataSource.class},
        (proxy, method, args) -> {
          Object result = FaultyDataSource.call(target, method, args);
          if (!method.getName().equals("getConnection")) {
            return result;
          }
          Connection c = (Connection) result;
          return Proxy.newProxyInstance(IsolationTest.class.getClassLoader(), new Class<?>[] {Connection.class},
              (cp, cm, ca) -> {
                Object r = FaultyDataSource.call(c, cm, ca);
                if (!cm.getName().equals("prepareStatement") || !((String) ca[0]).contains("FROM " + t.events())) {
                  return r;
                }
                PreparedStatement ps = (PreparedStatement) r;
                return Proxy.newProxyInstance(IsolationTest.class.getClassLoader(),
                    new Class<?>[] {PreparedStatement.class}, (pp, pm, pa) -> {
                      if (pm.getName().equals("close")) {
                        hook.run();
                      }
                      return FaultyDataSource.call(ps, pm, pa);
                    });
              });
        });
  }

  /**
   * Does, in a transaction left open, what a commit changing the watched record does: takes the key's lock, then gives
   * the record a new revision from the sequence.
   */
  private static void changeTheWatchedRecordHoldingItsLock(Connection holder, Tables tables) throws SQLException {
    holder.setAutoCommit(false);
    try (Statement s = holder.createStatement()) {
      s.executeQuery("SELECT pg_advisory_xact_lock(" + InlineCommit.lockKey(PREFIX, WATCHED) + ")").close();
      assertThat(s.executeUpdate("UPDATE " + tables.records() + " SET revision = nextval('"
          + tables.revisionSequence() + "'), value_json = '{\"v\":2}' WHERE collection = 'c' AND id = 'watched'"))
          .isEqualTo(1);
    }
  }
}
