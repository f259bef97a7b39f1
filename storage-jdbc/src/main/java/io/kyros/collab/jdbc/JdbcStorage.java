package io.kyros.collab.jdbc;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collab's storage on a JDBC {@link DataSource}: PostgreSQL 13+, MariaDB 10.6+, MySQL 8, H2 2.x and SQLite.
 * Many JVMs on many machines may share one database; every invariant of the storage SPI holds across them.
 *
 * <h2>Tables</h2>
 * Three tables, named with an optional prefix: {@code collab_meta} (one row: the last revision and the last event
 * id handed out), {@code collab_records} (one row per record: collection, id, revision, content hash, JSON) and
 * {@code collab_events} (the log, by id). The DDL ships per database as a classpath resource
 * ({@link JdbcDialect#schemaResource()}) for migration tools; {@link #createSchema()} runs it. No DDL runs unless
 * asked.
 *
 * <h2>Why commits are correct</h2>
 * Every commit is one transaction whose first statement locks the counter row in {@code collab_meta}
 * ({@code SELECT ... FOR UPDATE}; on SQLite a write to it, which takes the database's write lock). The lock is held
 * until COMMIT or ROLLBACK, so committing transactions run one at a time, in the order they take the lock. Then:
 * <ul>
 *   <li><b>Expectations</b> are read after the lock is granted, so they see every earlier commit: the previous
 *       holder committed before releasing the lock (on PostgreSQL at READ COMMITTED each statement takes a fresh
 *       snapshot; on InnoDB the first plain read after the lock takes the snapshot; under stricter isolation a
 *       concurrent update of the counter row raises a serialization failure, which is retried). No later commit
 *       can change a record before this one ends, since it would need the lock first. The written keys are
 *       checked once more by the writes themselves: {@code UPDATE ... WHERE revision = ?} and
 *       {@code DELETE ... WHERE revision = ?} must change one row, create-only inserts must not meet an existing
 *       row; a mismatch rolls back and reports a conflict. {@code notAfter} is compared with the database's time
 *       read inside the transaction, after the lock.</li>
 *   <li><b>Revisions</b> are {@code last_revision + 1, + 2, ...} and the row is updated in the same transaction:
 *       a value is handed out once, deletes consume one, a rolled-back commit hands out nothing.</li>
 *   <li><b>Event ids</b> are {@code last_event_id + 1, ...}, so they increase in commit order. A transaction's rows
 *       become visible no later than its lock is released (PostgreSQL and InnoDB publish a commit before they
 *       release its row locks; SQLite and H2 release the database or row lock at commit), and the next commit
 *       writes its events only after taking the lock. So the visible log is always a prefix of the id sequence:
 *       a reader that saw id {@code n} can never later find an id below {@code n} appear, and reading
 *       {@code id > n} never skips an event. Event ids are dense.</li>
 *   <li><b>Atomicity</b>: state and events are one transaction; a lost connection rolls it back.</li>
 * </ul>
 * The cost is that commits do not run in parallel: throughput is bounded by one short transaction at a time
 * (a few round trips). Reads never take the lock.
 *
 * <h2>Time</h2>
 * By default {@link #now()}, lease expiry ({@code notAfter}) and event timestamps come from the database's clock
 * in UTC as epoch microseconds (SQLite: milliseconds), so nodes with skewed clocks agree and DST never applies.
 * {@link Builder#clock(Clock)} replaces it by a given clock, for tests and special cases.
 *
 * <h2>Failures</h2>
 * Serialization failures, deadlocks (SQLState 40001, 40P01, MySQL 1213), lock timeouts (PostgreSQL 55P03, MySQL
 * 1205, H2) and SQLite's busy errors, also SQLite's BUSY from COMMIT, roll back and run the operation again with
 * backoff until {@link Builder#retryTimeout(Duration)}; an interrupt stops the retrying. Every commit bounds its
 * lock waits by what is left of the retry timeout (PostgreSQL {@code lock_timeout}, MariaDB/MySQL
 * {@code innodb_lock_wait_timeout} in whole seconds, H2 {@code LOCK_TIMEOUT}; on SQLite the connection's busy
 * timeout applies), so a transaction that holds the writers' lock and never ends fails commits after about the
 * retry timeout instead of stopping them. Any other {@link SQLException}, and a connection that cannot be had,
 * becomes a {@link StorageException} that names the operation and SQLState, keeps the exception as its cause and
 * says whether a commit was rolled back or its outcome is unknown. Connections are always returned to the
 * {@link DataSource}, rolled back and with auto-commit restored; one that cannot be reset is aborted first.
 *
 * <p>H2 is meant for tests and embedded use: an H2 file database writes commits to disk with a delay
 * ({@code WRITE_DELAY}) by default, so it is not durable per commit unless configured so.
 *
 * <h2>Waiting for events</h2>
 * {@link #awaitEvents} wakes at once for commits made through this instance, on PostgreSQL also by
 * {@code LISTEN}/{@code NOTIFY} for commits from other nodes (this holds one connection of the pool while someone
 * waits, and returns it after a quiet period of twice the poll interval, at least two seconds, without waiters;
 * see {@link Builder#listenNotify(boolean)}), and otherwise polls every {@link Builder#pollInterval(Duration)}.
 *
 * <p>The {@link DataSource} stays the caller's: {@link #close()} does not close it. Thread-safe.
 */
public final class JdbcStorage implements Storage {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcStorage.class);
  private static final int READ_ALL_CHUNK = 100;

  private final DataSource dataSource;
  private final Dialect dialect;
  private final Tables tables;
  private final Clock clock;
  private final Transactions transactions;
  private final long pollNanos;
  private final Notifications notifications;
  private final Sql sql;

  /** Notified when this instance commits events, a notification arrives, or the storage closes. */
  private final Object wakeups = new Object();
  /** Counts wake-ups, so a waiter that read the log before one happened does not sleep through it. */
  private long wakeupCount;
  private volatile boolean closed;
  /** The database clock's last reading, by any query of this storage; null before the first. */
  private volatile ClockReading lastReading;
  /** The latest time {@link #now()} returned or the database clock read (epoch micros), so it never goes back. */
  private final AtomicLong lastNow = new AtomicLong(Long.MIN_VALUE);

  /** How long a reading of the database clock stands in for another query, advanced by the local monotonic clock. */
  static final long CLOCK_REUSE_NANOS = 1_000_000_000L;
  /** Subtracted from such an estimate, so it stays behind the database's clock even if the two clocks' rates differ. */
  static final long CLOCK_MARGIN_MICROS = 1_000L;

  /** A reading of the database clock, and the local monotonic time its answer arrived. */
  private record ClockReading(long micros, long nanos) {}

  private JdbcStorage(Builder b, Dialect dialect) {
    this.dataSource = b.dataSource;
    this.dialect = dialect;
    this.tables = Tables.of(b.tablePrefix);
    this.clock = b.clock;
    this.transactions = new Transactions(dataSource, dialect, b.retryTimeout);
    this.pollNanos = b.pollInterval.toNanos();
    this.sql = new Sql(tables, dialect);
    String channel = dialect.eventChannel(tables);
    this.notifications = b.listenNotify && channel != null
        ? new Notifications(dataSource, channel, this::wake, pollNanos) : null;
  }

  /**
   * Starts building a storage on a data source. Give it a pooled data source: every operation borrows a connection
   * for one short transaction.
   *
   * @param dataSource where connections come from; the caller keeps closing it
   * @return a builder
   * @throws NullPointerException if dataSource is null
   */
  public static Builder builder(DataSource dataSource) {
    return new Builder(Objects.requireNonNull(dataSource, "dataSource"));
  }

  /** @return the dialect in use, detected or configured */
  public JdbcDialect dialect() {
    return dialect.kind();
  }

  /** @return the table prefix, empty if none */
  public String tablePrefix() {
    return tables.prefix();
  }

  /**
   * Creates the tables and the counter row if they do not exist, by running the dialect's shipped script
   * ({@link JdbcDialect#schemaResource()}). Idempotent, also when several nodes run it at once (on PostgreSQL
   * in one transaction behind an advisory lock). Production setups may run the same script with their
   * migration tool instead.
   *
   * @throws StorageException if the DDL fails
   */
  public void createSchema() {
    checkOpen();
    List<String> statements = new ArrayList<>();
    String lock = dialect.schemaLock(tables);
    if (lock != null) {
      statements.add(lock);
    }
    statements.addAll(Schema.statements(dialect.kind(), tables));
    Transactions.Work<Void> script = a -> {
      try (Statement s = a.connection.createStatement()) {
        for (String statement : statements) {
          s.execute(statement);
        }
      }
      return null;
    };
    // PostgreSQL: one transaction behind an advisory lock, so concurrent runs do not race in the catalog
    if (lock != null) {
      transactions.write("createSchema", script);
    } else {
      transactions.read("createSchema", script);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The database's current time, or the configured clock's, truncated to microseconds. Every commit of this
   * storage reads the database clock; within {@value #CLOCK_REUSE_NANOS} ns of the last reading, {@code now()}
   * returns that reading advanced by the local monotonic clock, minus {@value #CLOCK_MARGIN_MICROS} µs, instead of
   * asking again (one round trip less per lease or claim). The estimate stays behind the database's clock (its
   * answer took time to arrive, and the margin covers a difference of the two clocks' rates), which is the safe
   * side: a lease computed from it ends no later than intended, a stale lease is seen as stale no earlier, and
   * every expiry that guards a write is still checked against the database's clock inside the commit. The
   * result never goes back in time.
   *
   * @throws StorageException if the database cannot be asked
   */
  @Override
  public Instant now() {
    if (clock != null) {
      return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
    checkOpen();
    ClockReading r = lastReading;
    long nanos = System.nanoTime();
    long micros;
    if (r != null && nanos - r.nanos() < CLOCK_REUSE_NANOS) {
      micros = r.micros() + (nanos - r.nanos()) / 1_000L - CLOCK_MARGIN_MICROS;
    } else {
      micros = micros(transactions.read("now", a -> databaseNow(a.connection)));
    }
    return instant(lastNow.accumulateAndGet(micros, Math::max));
  }

  /**
   * Records a reading of the database clock that just arrived. {@link #now()} never returns less than a reading
   * (so it is at least the timestamp of every commit this storage made), and is no later than the database's
   * clock since a reading is already in the past.
   */
  private Instant remember(long micros) {
    lastReading = new ClockReading(micros, System.nanoTime());
    lastNow.accumulateAndGet(micros, Math::max);
    return instant(micros);
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the database fails or the storage is closed
   */
  @Override
  public Optional<StoredRecord> read(RecordKey key) {
    Objects.requireNonNull(key, "key");
    checkOpen();
    return transactions.read("read", a -> {
      try (PreparedStatement ps = a.connection.prepareStatement(sql.readRecord)) {
        ps.setString(1, key.collection());
        ps.setString(2, key.id());
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(new StoredRecord(key, rs.getString(3), rs.getLong(1), rs.getString(2)))
              : Optional.<StoredRecord>empty();
        }
      }
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>One query per hundred keys.
   *
   * @throws StorageException if the database fails or the storage is closed
   */
  @Override
  public List<StoredRecord> readAll(Collection<RecordKey> keys) {
    Objects.requireNonNull(keys, "keys");
    List<RecordKey> distinct = new ArrayList<>(new LinkedHashSet<>(keys));
    if (distinct.isEmpty()) {
      return List.of();
    }
    checkOpen();
    return transactions.read("readAll", a -> {
      List<StoredRecord> out = new ArrayList<>(distinct.size());
      for (int from = 0; from < distinct.size(); from += READ_ALL_CHUNK) {
        List<RecordKey> chunk = distinct.subList(from, Math.min(distinct.size(), from + READ_ALL_CHUNK));
        selectRecords(a.connection, chunk, false, (k, rs) -> out.add(new StoredRecord(k, rs.getString(5),
            rs.getLong(3), rs.getString(4))));
      }
      return out;
    });
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if limit is not positive
   * @throws StorageException if the database fails or the storage is closed
   */
  @Override
  public List<StoredRecord> list(String collection, String afterId, int limit) {
    Objects.requireNonNull(collection, "collection");
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
    checkOpen();
    return transactions.read("list", a -> {
      try (PreparedStatement ps = a.connection.prepareStatement(sql.listRecords)) {
        ps.setString(1, collection);
        ps.setString(2, afterId == null ? "" : afterId);
        ps.setInt(3, limit);
        List<StoredRecord> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new StoredRecord(new RecordKey(collection, rs.getString(1)), rs.getString(4), rs.getLong(2),
                rs.getString(3)));
          }
        }
        return out;
      }
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>One transaction, serialized with every other commit on the database by the counter row's lock; see the
   * class description for why this is atomic and linearizable.
   *
   * @throws StorageException if the database fails (the message says whether the commit was rolled back or its
   *     outcome is unknown) or the storage is closed
   */
  @Override
  public CommitResult commit(Commit commit) {
    Objects.requireNonNull(commit, "commit");
    checkOpen();
    CommitResult result = transactions.write("commit", a -> apply(a, commit));
    if (result instanceof CommitResult.Committed c && !c.events().isEmpty()) {
      wake();
    }
    return result;
  }

  private CommitResult apply(Transactions.Attempt a, Commit commit) throws SQLException {
    Connection c = a.connection;
    boolean together = dialect.sendsStatementsTogether();
    List<RecordKey> expected = commit.expectations().stream().map(Expectation::key).distinct().toList();
    Map<RecordKey, Long> current = new HashMap<>();
    // the lock, the clock and the first chunk of expectations: one round trip where the driver allows it
    Locked locked = together ? lockTogether(a, expected, current) : lockApart(a);
    for (int from = together ? READ_ALL_CHUNK : 0; from < expected.size(); from += READ_ALL_CHUNK) {
      selectRecords(c, expected.subList(from, Math.min(expected.size(), from + READ_ALL_CHUNK)), true,
          (k, rs) -> current.put(k, rs.getLong(3)));
    }
    Instant now = locked.now;

    // expectations, read under the lock
    Map<RecordKey, Expectation> byKey = new HashMap<>();
    for (Expectation e : commit.expectations()) {
      long actual = current.getOrDefault(e.key(), Expectation.ABSENT);
      if (!e.isMetBy(actual, now)) {
        a.rollbackOnly();
        return new CommitResult.Conflict(e, actual);
      }
      byKey.putIfAbsent(e.key(), e);
    }

    // writes, each re-checking its own expectation by row count
    List<Write> writes = commit.writes();
    List<Long> revisions = new ArrayList<>(writes.size());
    List<WriteStatement> statements = new ArrayList<>(writes.size());
    for (int i = 0; i < writes.size(); i++) {
      Write w = writes.get(i);
      long revision = locked.lastRevision + 1 + i;
      revisions.add(revision);
      statements.add(writeStatement(w, revision, byKey.get(w.key())));
    }
    List<NewEvent> events = commit.eventsFor(revisions);
    List<StoredEvent> stored = new ArrayList<>(events.size());
    for (int i = 0; i < events.size(); i++) {
      stored.add(StoredEvent.of(events.get(i), locked.lastEventId + 1 + i, now));
    }
    boolean changes = !writes.isEmpty() || !events.isEmpty();
    long[] counters = {locked.lastRevision + writes.size(), locked.lastEventId + events.size()};
    WriteStatement failed = together ? applyTogether(a, statements, stored, changes, counters)
        : applyApart(c, statements, stored, changes, counters);
    if (failed != null) {
      a.rollbackOnly();
      return new CommitResult.Conflict(failed.expectation, currentRevision(c, failed.write.key()));
    }
    return new CommitResult.Committed(revisions, stored, now);
  }

  /** The counters read under the writers' lock, and the commit's time. */
  private record Locked(long lastRevision, long lastEventId, Instant now) {}

  /** Takes the writers' lock and reads the clock, one statement at a time. */
  private Locked lockApart(Transactions.Attempt a) throws SQLException {
    Connection c = a.connection;
    String[] lock = sql.lockCounters;
    String bound = dialect.boundLockWait(a.lockWaitMillis());
    long lastRevision;
    long lastEventId;
    try (Statement s = c.createStatement()) {
      if (bound != null) {
        s.execute(bound); // a stalled lock holder fails this commit after the retry timeout instead of hanging it
      }
      for (int i = 0; i < lock.length - 1; i++) {
        s.executeUpdate(lock[i]);
      }
      try (ResultSet rs = s.executeQuery(lock[lock.length - 1])) {
        if (!rs.next()) {
          throw missingCounters();
        }
        lastRevision = rs.getLong(1);
        lastEventId = rs.getLong(2);
      }
    }
    return new Locked(lastRevision, lastEventId, clock != null ? clockNow() : databaseNow(c));
  }

  /**
   * Bounds the lock wait, takes the writers' lock, reads the clock and the revisions of the first chunk of expected
   * keys in one round trip. The statements still run one after the other on the server, so the clock and the
   * revisions are read after the lock is granted, each statement with a fresh snapshot (READ COMMITTED).
   */
  private Locked lockTogether(Transactions.Attempt a, List<RecordKey> expected, Map<RecordKey, Long> current)
      throws SQLException {
    List<RecordKey> first = expected.subList(0, Math.min(expected.size(), READ_ALL_CHUNK));
    List<String> parts = new ArrayList<>();
    parts.add(dialect.boundLockWaitParameterized());
    parts.addAll(List.of(sql.lockCounters));
    if (clock == null) {
      parts.add(dialect.currentTimeMicros());
    }
    if (!first.isEmpty()) {
      parts.add(selectSql(first.size(), true));
    }
    try (PreparedStatement ps = a.connection.prepareStatement(String.join("; ", parts))) {
      ps.setLong(1, a.lockWaitMillis());
      bindKeys(ps, 2, first);
      boolean isQuery = ps.execute();
      // results: the bound, the lock's updates (if any), the counters, the clock, the revisions
      for (int i = 0; i < sql.lockCounters.length; i++) {
        isQuery = ps.getMoreResults();
      }
      long lastRevision;
      long lastEventId;
      try (ResultSet rs = resultSet(ps, isQuery)) {
        if (!rs.next()) {
          throw missingCounters();
        }
        lastRevision = rs.getLong(1);
        lastEventId = rs.getLong(2);
      }
      Instant now;
      if (clock == null) {
        try (ResultSet rs = resultSet(ps, ps.getMoreResults())) {
          rs.next();
          now = remember(rs.getLong(1));
        }
      } else {
        now = clockNow();
      }
      if (!first.isEmpty()) {
        try (ResultSet rs = resultSet(ps, ps.getMoreResults())) {
          while (rs.next()) {
            current.put(new RecordKey(rs.getString(1), rs.getString(2)), rs.getLong(3));
          }
        }
      }
      return new Locked(lastRevision, lastEventId, now);
    }
  }

  private static ResultSet resultSet(PreparedStatement ps, boolean isQuery) throws SQLException {
    if (!isQuery) {
      throw new SQLException("expected a result set from the commit's combined statements", "XX000");
    }
    return ps.getResultSet();
  }

  private SQLException missingCounters() {
    return new SQLException("the counter row of " + tables.meta() + " is missing; run createSchema()", "55000");
  }

  private Instant clockNow() {
    return clock.instant().truncatedTo(ChronoUnit.MICROS);
  }

  /**
   * Applies the writes, inserts the events and updates the counters (and notifies), one statement at a time.
   *
   * @return the first write whose expectation did not hold, or null
   */
  private WriteStatement applyApart(Connection c, List<WriteStatement> writes, List<StoredEvent> stored,
      boolean changes, long[] counters) throws SQLException {
    for (WriteStatement w : writes) {
      if (!w.apply(c)) {
        return w;
      }
    }
    if (!stored.isEmpty()) {
      try (PreparedStatement ps = c.prepareStatement(sql.insertEvent)) {
        for (StoredEvent s : stored) {
          bindEvent(ps, 1, s);
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
    if (changes) {
      try (PreparedStatement ps = c.prepareStatement(sql.updateCounters)) {
        ps.setLong(1, counters[0]);
        ps.setLong(2, counters[1]);
        checkCounters(ps.executeUpdate());
      }
    }
    if (!stored.isEmpty() && sql.notifyEvents != null) {
      try (Statement s = c.createStatement()) {
        s.execute(sql.notifyEvents);
      }
    }
    return null;
  }

  /** Marks the server-side check of a write's or the counters' row count; see {@link #checkedOnServer}. */
  private static final String ROW_COUNT_FAILED = "collab_row_count_failed";

  /**
   * Applies the writes, inserts the events (one multi-row insert), updates the counters, notifies and COMMITs in one
   * round trip. The row counts that must be 1 (a conditional write, the counters) are checked on the server (see
   * {@link #checkedOnServer}): a failed one raises an error, so the statements after it and the COMMIT do not run.
   * Under the writers' lock the expectations read in the first round trip cannot change, so that happens only if
   * the tables were changed outside Collab; the commit then reports the conflict and nothing is committed.
   *
   * @return the first write whose expectation did not hold, or null
   */
  private WriteStatement applyTogether(Transactions.Attempt a, List<WriteStatement> writes, List<StoredEvent> stored,
      boolean changes, long[] counters) throws SQLException {
    if (!changes) {
      return null;
    }
    Connection c = a.connection;
    List<String> parts = new ArrayList<>();
    writes.forEach(w -> parts.add(w.conditional ? checkedOnServer(w.sql) : w.sql));
    if (!stored.isEmpty()) {
      parts.add(sql.insertEvent + ", (?, ?, ?, ?, ?, ?)".repeat(stored.size() - 1));
    }
    parts.add(checkedOnServer(sql.updateCounters));
    if (!stored.isEmpty() && sql.notifyEvents != null) {
      parts.add(sql.notifyEvents);
    }
    parts.add("COMMIT");
    try (PreparedStatement ps = c.prepareStatement(String.join("; ", parts))) {
      int p = 1;
      for (WriteStatement w : writes) {
        p = w.bind(ps, p);
      }
      for (StoredEvent s : stored) {
        p = bindEvent(ps, p, s);
      }
      ps.setLong(p++, counters[0]);
      ps.setLong(p, counters[1]);
      a.committingInline();
      ps.execute();
      return null;
    } catch (SQLException e) {
      if (e.getMessage() == null || !e.getMessage().contains(ROW_COUNT_FAILED)) {
        if (reportedByServer(e)) {
          // the server answered with an error, so it skipped the rest of the round trip: COMMIT did not run (or
          // failed and rolled back); a retryable error is retried like any other
          a.notCommitted();
        }
        throw e; // else the connection failed: whether COMMIT ran is unknown
      }
      a.notCommitted();
      c.rollback();
      for (WriteStatement w : writes) {
        if (w.conditional && !w.expectation.isMetBy(currentRevision(c, w.write.key()), Instant.MIN)) {
          return w;
        }
      }
      throw new SQLException("a row count checked inside a commit did not hold: the counter row of " + tables.meta()
          + " vanished, or the tables were changed outside Collab; rolled back", "55000", e);
    }
  }

  /**
   * @return whether an error is the server's answer to a statement, rather than the connection failing (SQLState
   *     class 08, or none: an I/O error) or the server ending the session (class 57: shutdown, termination), after
   *     which whether a COMMIT already sent ran is unknown
   */
  private static boolean reportedByServer(SQLException e) {
    String state = e.getSQLState();
    return state != null && state.length() == 5 && !state.startsWith("08") && !state.startsWith("57");
  }

  /**
   * Wraps a data-changing statement so the server raises an error unless it changed exactly one row: a failed check
   * aborts the transaction before the statements after it, COMMIT included. (The cast of a text that is not a
   * number fails only when the count is not 1: it depends on the count, so the planner cannot fold it early.)
   */
  private static String checkedOnServer(String statement) {
    return "WITH changed AS (" + statement + " RETURNING 1) SELECT CASE WHEN count(*) = 1 THEN 0 ELSE CAST('"
        + ROW_COUNT_FAILED + ":' || count(*) AS INTEGER) END FROM changed";
  }

  private static int bindEvent(PreparedStatement ps, int p, StoredEvent s) throws SQLException {
    ps.setLong(p, s.id());
    ps.setLong(p + 1, micros(s.ts()));
    ps.setString(p + 2, s.type());
    ps.setString(p + 3, s.actor());
    ps.setString(p + 4, s.target());
    ps.setString(p + 5, s.detailsJson());
    return p + 6;
  }

  private void checkCounters(int updated) throws SQLException {
    if (updated != 1) {
      throw new SQLException("the counter row of " + tables.meta() + " vanished during a commit", "55000");
    }
  }

  /** One write's statement, and how its row count tells whether its key's expectation held. */
  private final class WriteStatement {
    final Write write;
    final Expectation expectation;
    final String sql;
    private final long revision;
    /** The statement changes a row only if the expectation holds, so it must change exactly one. */
    private final boolean conditional;
    private final boolean createOnly;

    WriteStatement(Write write, long revision, Expectation expectation, String sql, boolean conditional,
        boolean createOnly) {
      this.write = write;
      this.revision = revision;
      this.expectation = expectation;
      this.sql = sql;
      this.conditional = conditional;
      this.createOnly = createOnly;
    }

    /** Binds the statement's parameters from {@code p} on; returns the next parameter index. */
    int bind(PreparedStatement ps, int p) throws SQLException {
      RecordKey k = write.key();
      if (write.isDelete()) {
        ps.setString(p++, k.collection());
        ps.setString(p++, k.id());
      } else if (conditional && !createOnly) {
        ps.setLong(p++, revision);
        ps.setString(p++, write.hash());
        ps.setString(p++, write.json());
        ps.setString(p++, k.collection());
        ps.setString(p++, k.id());
      } else {
        ps.setString(p++, k.collection());
        ps.setString(p++, k.id());
        ps.setLong(p++, revision);
        ps.setString(p++, write.hash());
        ps.setString(p++, write.json());
        return p;
      }
      if (conditional) {
        ps.setLong(p++, expectation.revision());
      }
      return p;
    }

    boolean held(int updated) {
      return !conditional || updated == 1;
    }

    /** Runs the statement alone; false if the expectation did not hold. */
    boolean apply(Connection c) throws SQLException {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        bind(ps, 1);
        return held(ps.executeUpdate());
      } catch (SQLException ex) {
        if (createOnly && dialect.insertIfAbsentRaisesOnConflict() && dialect.isUniqueViolation(ex)) {
          return false;
        }
        throw ex;
      }
    }
  }

  /** The statement applying one write, conditionally on its key's expectation if it has one. */
  private WriteStatement writeStatement(Write w, long revision, Expectation e) {
    if (w.isDelete()) {
      boolean conditional = e != null && e.revision() != Expectation.ABSENT;
      return new WriteStatement(w, revision, e, conditional ? sql.deleteIfRevision : sql.delete, conditional, false);
    }
    if (e != null && e.revision() != Expectation.ABSENT) {
      return new WriteStatement(w, revision, e, sql.updateIfRevision, true, false);
    }
    boolean createOnly = e != null;
    return new WriteStatement(w, revision, e, createOnly ? sql.insertIfAbsent : sql.upsert, createOnly, createOnly);
  }

  private long currentRevision(Connection c, RecordKey key) throws SQLException {
    long[] revision = {Expectation.ABSENT};
    selectRecords(c, List.of(key), true, (k, rs) -> revision[0] = rs.getLong(3));
    return revision[0];
  }

  @FunctionalInterface
  private interface RowHandler {
    void accept(RecordKey key, ResultSet rs) throws SQLException;
  }

  /** Selects {@code collection, id, revision[, hash, value_json]} of up to a chunk of keys. */
  private void selectRecords(Connection c, List<RecordKey> keys, boolean revisionOnly, RowHandler handler)
      throws SQLException {
    if (keys.isEmpty()) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(selectSql(keys.size(), revisionOnly))) {
      bindKeys(ps, 1, keys);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          handler.accept(new RecordKey(rs.getString(1), rs.getString(2)), rs);
        }
      }
    }
  }

  /** The query selecting {@code collection, id, revision[, hash, value_json]} of {@code n} keys. */
  private String selectSql(int n, boolean revisionOnly) {
    StringBuilder q = new StringBuilder("SELECT collection, id, revision")
        .append(revisionOnly ? "" : ", hash, value_json").append(" FROM ").append(tables.records()).append(" WHERE ");
    for (int i = 0; i < n; i++) {
      q.append(i == 0 ? "" : " OR ").append("(collection = ? AND id = ?)");
    }
    return q.toString();
  }

  private static void bindKeys(PreparedStatement ps, int first, List<RecordKey> keys) throws SQLException {
    int p = first;
    for (RecordKey k : keys) {
      ps.setString(p++, k.collection());
      ps.setString(p++, k.id());
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if afterId is negative or limit not positive
   * @throws StorageException if the database fails or the storage is closed
   */
  @Override
  public List<StoredEvent> readEvents(long afterId, int limit) {
    if (afterId < 0) {
      throw new IllegalArgumentException("afterId must not be negative: " + afterId);
    }
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
    checkOpen();
    return transactions.read("readEvents", a -> {
      try (PreparedStatement ps = a.connection.prepareStatement(sql.readEvents)) {
        ps.setLong(1, afterId);
        ps.setInt(2, limit);
        List<StoredEvent> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new StoredEvent(rs.getLong(1), instant(rs.getLong(2)), rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getString(6)));
          }
        }
        return out;
      }
    });
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the database fails or the storage is closed
   */
  @Override
  public long lastEventId() {
    checkOpen();
    return transactions.read("lastEventId", a -> {
      try (Statement s = a.connection.createStatement(); ResultSet rs = s.executeQuery(sql.lastEventId)) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>Checks the log, then waits until a commit through this instance or a database notification wakes it, or
   * the poll interval passes, and checks again.
   *
   * @throws StorageException if the database fails or the storage is closed, also while waiting
   */
  @Override
  public boolean awaitEvents(long afterId, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    long timeoutNanos = timeout.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : timeout.toNanos();
    long start = System.nanoTime();
    if (notifications == null) {
      return awaitEvents(afterId, timeoutNanos, start);
    }
    notifications.waitStarted();
    try {
      return awaitEvents(afterId, timeoutNanos, start);
    } finally {
      notifications.waitEnded();
    }
  }

  private boolean awaitEvents(long afterId, long timeoutNanos, long start) throws InterruptedException {
    while (true) {
      long seen;
      synchronized (wakeups) {
        seen = wakeupCount;
      }
      if (lastEventId() > afterId) {
        return true;
      }
      long left = timeoutNanos - (System.nanoTime() - start);
      if (left <= 0) {
        return false;
      }
      synchronized (wakeups) {
        if (wakeupCount == seen) {
          checkOpen();
          TimeUnit.NANOSECONDS.timedWait(wakeups, Math.min(left, pollNanos));
        }
      }
    }
  }

  /**
   * Stops waiting threads (they throw {@link StorageException}) and the notification listener. Does not close the
   * {@link DataSource}. Idempotent.
   */
  @Override
  public void close() {
    closed = true;
    if (notifications != null) {
      notifications.close();
    }
    wake();
  }

  @Override
  public String toString() {
    return "JdbcStorage[" + dialect.kind() + ", tables " + tables.prefix() + "collab_*"
        + (clock != null ? ", clock " + clock : "") + "]";
  }

  private void wake() {
    synchronized (wakeups) {
      wakeupCount++;
      wakeups.notifyAll();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new StorageException("JdbcStorage is closed");
    }
  }

  private Instant databaseNow(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(dialect.currentTimeMicros())) {
      rs.next();
      return remember(rs.getLong(1));
    }
  }

  static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000L);
  }

  static Instant instant(long micros) {
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
  }

  /** The statements, built once per storage. */
  static final class Sql {
    final String[] lockCounters;
    final String readRecord;
    final String listRecords;
    final String upsert;
    final String insertIfAbsent;
    final String updateIfRevision;
    final String delete;
    final String deleteIfRevision;
    final String insertEvent;
    final String updateCounters;
    final String readEvents;
    final String lastEventId;
    final String notifyEvents;

    Sql(Tables t, Dialect d) {
      lockCounters = d.lockCounters(t);
      readRecord = "SELECT revision, hash, value_json FROM " + t.records() + " WHERE collection = ? AND id = ?";
      listRecords = "SELECT id, revision, hash, value_json FROM " + t.records()
          + " WHERE collection = ? AND id > ? ORDER BY id LIMIT ?";
      upsert = d.upsert(t);
      insertIfAbsent = d.insertIfAbsent(t);
      updateIfRevision = "UPDATE " + t.records() + " SET revision = ?, hash = ?, value_json = ?"
          + " WHERE collection = ? AND id = ? AND revision = ?";
      delete = "DELETE FROM " + t.records() + " WHERE collection = ? AND id = ?";
      deleteIfRevision = delete + " AND revision = ?";
      insertEvent = "INSERT INTO " + t.events() + " (id, ts_micros, event_type, actor, target, details)"
          + " VALUES (?, ?, ?, ?, ?, ?)";
      updateCounters = "UPDATE " + t.meta() + " SET last_revision = ?, last_event_id = ? WHERE id = 1";
      readEvents = "SELECT id, ts_micros, event_type, actor, target, details FROM " + t.events()
          + " WHERE id > ? ORDER BY id LIMIT ?";
      lastEventId = "SELECT COALESCE(MAX(id), 0) FROM " + t.events();
      notifyEvents = d.notifyEvents(t);
    }
  }

  /**
   * Builds a {@link JdbcStorage}. Each option may be set once.
   *
   * <p>Not thread-safe: build on one thread.
   */
  public static final class Builder {
    private final DataSource dataSource;
    private String tablePrefix = "";
    private boolean tablePrefixSet;
    private JdbcDialect dialect;
    private Clock clock;
    private Duration retryTimeout = Duration.ofSeconds(10);
    private boolean retryTimeoutSet;
    private Duration pollInterval = Duration.ofMillis(100);
    private boolean pollIntervalSet;
    private boolean listenNotify = true;
    private boolean listenNotifySet;

    private Builder(DataSource dataSource) {
      this.dataSource = dataSource;
    }

    /**
     * Prefixes the three table names, so several stores can share one schema, for example {@code app1_} gives
     * {@code app1_collab_meta}, {@code app1_collab_records} and {@code app1_collab_events}.
     *
     * @param prefix empty, or lower-case ASCII matching {@code [a-z][a-z0-9_]{0,29}}
     * @return this builder
     * @throws NullPointerException if prefix is null
     * @throws IllegalArgumentException if prefix does not match, or was set before
     */
    public Builder tablePrefix(String prefix) {
      once(tablePrefixSet, "tablePrefix");
      Tables.of(Objects.requireNonNull(prefix, "prefix"));
      tablePrefix = prefix;
      tablePrefixSet = true;
      return this;
    }

    /**
     * Uses this dialect instead of detecting it from the database's metadata.
     *
     * @param dialect the database
     * @return this builder
     * @throws NullPointerException if dialect is null
     * @throws IllegalArgumentException if set before
     */
    public Builder dialect(JdbcDialect dialect) {
      once(this.dialect != null, "dialect");
      this.dialect = Objects.requireNonNull(dialect, "dialect");
      return this;
    }

    /**
     * Uses this clock for {@link JdbcStorage#now()}, lease expiry checks and event timestamps instead of the
     * database's clock. For tests and special cases only: with several nodes, their clocks' skew then matters
     * again. The default, the database's clock, is what production setups want.
     *
     * @param clock the clock
     * @return this builder
     * @throws NullPointerException if clock is null
     * @throws IllegalArgumentException if set before
     */
    public Builder clock(Clock clock) {
      once(this.clock != null, "clock");
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * How long an operation is run again after serialization failures, deadlocks, lock timeouts or busy errors
     * before the failure is reported; also the bound on how long a commit waits for the writers' lock (at least
     * one second on MariaDB/MySQL). Default 10 seconds.
     *
     * @param timeout not negative; zero means no retries
     * @return this builder
     * @throws NullPointerException if timeout is null
     * @throws IllegalArgumentException if negative, or set before
     */
    public Builder retryTimeout(Duration timeout) {
      once(retryTimeoutSet, "retryTimeout");
      if (Objects.requireNonNull(timeout, "timeout").isNegative()) {
        throw new IllegalArgumentException("retryTimeout must not be negative: " + timeout);
      }
      retryTimeout = timeout;
      retryTimeoutSet = true;
      return this;
    }

    /**
     * How often {@link JdbcStorage#awaitEvents} checks the log for events committed by other nodes when no
     * notification wakes it. Default 100 ms.
     *
     * @param interval positive, at most one minute
     * @return this builder
     * @throws NullPointerException if interval is null
     * @throws IllegalArgumentException if out of range, or set before
     */
    public Builder pollInterval(Duration interval) {
      once(pollIntervalSet, "pollInterval");
      if (Objects.requireNonNull(interval, "interval").isNegative() || interval.isZero()
          || interval.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException("pollInterval must be positive and at most one minute: " + interval);
      }
      pollInterval = interval;
      pollIntervalSet = true;
      return this;
    }

    /**
     * On PostgreSQL, whether waiting for events uses {@code LISTEN}/{@code NOTIFY} (commits send a notification,
     * and one pooled connection listens while threads wait). Default true; other databases ignore it and poll.
     *
     * @param enabled false to rely on polling only
     * @return this builder
     * @throws IllegalArgumentException if set before
     */
    public Builder listenNotify(boolean enabled) {
      once(listenNotifySet, "listenNotify");
      listenNotify = enabled;
      listenNotifySet = true;
      return this;
    }

    /**
     * Builds the storage. Without a configured dialect, borrows one connection to detect it; the choice is logged
     * once at INFO. Runs no DDL: see {@link JdbcStorage#createSchema()}.
     *
     * @return the storage
     * @throws StorageException if the database cannot be reached to detect the dialect, or is not supported
     */
    public JdbcStorage build() {
      JdbcDialect chosen = dialect;
      String how = "configured";
      if (chosen == null) {
        how = "detected";
        try (Connection c = dataSource.getConnection()) {
          DatabaseMetaData md = c.getMetaData();
          chosen = JdbcDialect.detect(md.getDatabaseProductName(), md.getDatabaseProductVersion());
          if (chosen == null) {
            throw new StorageException("JdbcStorage does not support " + md.getDatabaseProductName() + " "
                + md.getDatabaseProductVersion() + "; set a dialect explicitly if it is compatible with one of "
                + java.util.Arrays.toString(JdbcDialect.values()));
          }
          how = "detected from " + md.getDatabaseProductName() + " " + md.getDatabaseProductVersion();
        } catch (SQLException e) {
          throw new StorageException("JdbcStorage: cannot detect the database dialect (SQLState " + e.getSQLState()
              + "): " + e.getMessage(), e);
        }
      }
      JdbcStorage storage = new JdbcStorage(this, chosen.sql());
      LOG.info("Collab JDBC storage: dialect {} ({}), tables {}collab_*, {} clock", chosen, how, tablePrefix,
          clock == null ? "database" : "configured");
      return storage;
    }

    private static void once(boolean set, String option) {
      if (set) {
        throw new IllegalArgumentException(option + " is already set");
      }
    }
  }
}
