package io.kyros.collab.jdbc;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collab's storage on a JDBC {@link DataSource}: PostgreSQL 13+, MariaDB 10.6+, MySQL 8, H2 2.x and SQLite.
 * Many JVMs on many machines may share one database; every invariant of the storage SPI holds across them.
 *
 * <h2>Tables</h2>
 * Four tables, named with an optional prefix: {@code collab_meta} (one row: the last revision and the last event
 * id handed out, where commits are serialized), {@code collab_records} (one row per record: collection, id, revision,
 * content hash, JSON), {@code collab_events} (the log, by id) and {@code collab_index} (the records'
 * secondary-index entries, written in the same transaction as the records); on PostgreSQL also two sequences,
 * {@code collab_revision_seq} and {@code collab_event_seq}. The DDL ships per database as versioned classpath resources
 * ({@link JdbcDialect#schemaResources()}) for migration tools; {@link #createSchema()} runs them. No DDL runs unless
 * asked.
 *
 * <h2>Why commits are correct</h2>
 * On MariaDB/MySQL, H2 and SQLite every commit is one transaction whose first statement locks the counter row in
 * {@code collab_meta} ({@code SELECT ... FOR UPDATE}; on SQLite a write to it, which takes the database's write lock).
 * The lock is held until COMMIT or ROLLBACK, so committing transactions run one at a time. Expectations are read after
 * the lock, so they see every earlier commit, and nothing else can change a record before the commit ends (the
 * writes re-check their own expectation by row count). Revisions and event ids are the counter row's next values,
 * written back in the same transaction, so they are handed out once and event ids become visible in order: the
 * visible log is always a prefix of the ids, and reading {@code id > n} never skips an event. Since this instance's
 * commits would wait for each other at that lock anyway, the ones made while one of them runs share the next
 * transaction (group commit, {@code CommitGroups}): each still gets the result it would have got alone, and the
 * transaction is the same kind of commit (docs/jdbc.md, "Group commit").
 *
 * <p>On PostgreSQL commits run in parallel: each takes an exclusive advisory lock on every key it expects or writes
 * (ascending, one statement), reads the expectations after that, and takes revisions and event ids from sequences; so
 * a commit waits only for commits on the same keys, and each record's revisions grow with its versions. Event ids may
 * then become visible out of order; {@link #readEvents} never steps over a missing id until it is settled (every
 * transaction that could still commit it has ended), judged from transaction ids and snapshots: see
 * {@code EventHorizon} and docs/jdbc.md, "Tailing while commits run in parallel".
 *
 * <p>Atomicity: state and events are one transaction; a lost connection rolls it back. Reads never take a lock.
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
 * timeout applies), so a transaction that holds a lock commits need (the writers' lock; on PostgreSQL a key's) and
 * never ends fails them after about the retry timeout instead of stopping them. Any other {@link SQLException}, and a connection that cannot be had,
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

  private final Dialect dialect;
  private final Tables tables;
  private final DatabaseClock clock;
  private final Transactions transactions;
  private final Queries queries;
  /** Runs a commit: in its own transaction (PostgreSQL), or with others of this instance ({@link CommitGroups}). */
  private final Function<Commit, CommitResult> commits;
  private final EventWaiters waiters;
  /** NOTIFY after commits with events, where the database has it ({@link CommitNotifier}). */
  private final Optional<CommitNotifier> notifier;
  private volatile boolean closed;

  private JdbcStorage(Builder b, Dialect dialect) {
    this.dialect = dialect;
    this.tables = Tables.of(b.tablePrefix);
    this.clock = new DatabaseClock(Optional.ofNullable(b.clock), dialect);
    ConnectionDemand demand = new ConnectionDemand();
    this.transactions = new Transactions(b.dataSource, dialect, b.retryTimeout, demand);
    SqlText sql = new SqlText(tables, dialect);
    this.queries = new Queries(transactions, sql,
        dialect.parallelCommits() ? Optional.of(new EventHorizon(tables)) : Optional.empty());
    CommitProtocol protocol = CommitProtocol.of(dialect, tables, sql, queries, clock);
    Transactions.Mode mode = protocol.transactionMode();
    Function<Commit, CommitResult> single = c -> transactions.run("commit", mode, a -> protocol.apply(a, c));
    // where commits are serialized on the database, this process's commits wait for each other there anyway: let
    // them share one transaction; on PostgreSQL commits on different keys run in parallel instead
    this.commits = dialect.parallelCommits() ? single : new CommitGroups(single, 1, transactions.retryNanos())::commit;
    long pollNanos = b.pollInterval.toNanos();
    Optional<Function<Runnable, Notifications>> listener = b.listenNotify && dialect.supportsNotify()
        ? Optional.of(wake -> new Notifications(b.dataSource, demand, dialect.eventChannel(tables), wake, pollNanos))
        : Optional.empty();
    this.waiters = new EventWaiters(pollNanos, listener);
    this.notifier = dialect.supportsNotify() ? Optional.of(new CommitNotifier(transactions,
        dialect.notifyEvents(tables), "collab-notify-" + tables.prefix() + "collab")) : Optional.empty();
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
   * Creates the tables and the counter row if they do not exist, by running the dialect's shipped scripts in order
   * ({@link JdbcDialect#schemaResources()}); on a store created by an older version this adds what the newer
   * scripts create. Idempotent, also when several nodes run it at once (on PostgreSQL
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
   * storage reads the database clock; within a second of the last reading, {@code now()} returns that reading
   * advanced by the local monotonic clock, minus one millisecond, instead of asking again (one round trip less per
   * lease or claim). The estimate stays behind the database's clock (its answer took time to arrive, and the margin
   * covers a difference of the two clocks' rates), which is the safe side: a lease computed from it ends no later
   * than intended, a stale lease is seen as stale no earlier, and every expiry that guards a write is still checked
   * against the database's clock inside the commit. The result never goes back in time.
   *
   * @throws StorageException if the database cannot be asked
   */
  @Override
  public Instant now() {
    if (clock.isDatabase()) {
      checkOpen();
    }
    return clock.now(transactions);
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
    return queries.read(key);
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
    return queries.readAll(distinct);
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
    return queries.list(collection, afterId == null ? "" : afterId, limit);
  }

  /**
   * {@inheritDoc}
   *
   * <p>True on every database: entries live in {@code collab_index} (schema version 3, {@link #createSchema()}).
   */
  @Override
  public boolean indexes() {
    return true;
  }

  /**
   * {@inheritDoc}
   *
   * <p>One query: index range scans of {@code collab_index} in (key, record id) order from the start position (one
   * range, or on H2 two), joined with the records by primary key, so a page costs the same however many entries the
   * index holds and wherever it starts (docs/jdbc.md, "Indexes").
   *
   * @throws StorageException if the database fails or the storage is closed
   */
  @Override
  public List<IndexHit> scanIndex(IndexQuery query) {
    Objects.requireNonNull(query, "query");
    checkOpen();
    return queries.scanIndex(query);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One statement and one round trip for all the queries: each a derived table with its own order and limit,
   * their {@code UNION ALL} ordered by (query, key, record id).
   *
   * @throws StorageException if the database fails or the storage is closed
   */
  @Override
  public List<List<IndexHit>> scanIndexes(List<IndexQuery> queries) {
    Objects.requireNonNull(queries, "queries");
    queries.forEach(q -> Objects.requireNonNull(q, "query"));
    checkOpen();
    return queries.isEmpty() ? List.of() : this.queries.scanIndexes(queries);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One transaction, serialized with every other commit on the database by the counter row's lock, or on
   * PostgreSQL with the commits on the same keys by their locks; see the class description for why this is atomic
   * and linearizable.
   *
   * @throws StorageException if the database fails (the message says whether the commit was rolled back or its
   *     outcome is unknown) or the storage is closed
   */
  @Override
  public CommitResult commit(Commit commit) {
    Objects.requireNonNull(commit, "commit");
    checkOpen();
    CommitResult result = commits.apply(commit);
    if (result instanceof CommitResult.Committed c && !c.events().isEmpty()) {
      waiters.wake();
      notifier.ifPresent(CommitNotifier::committed);
    }
    return result;
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
    return queries.readEvents(afterId, limit);
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the database fails or the storage is closed
   */
  @Override
  public long lastEventId() {
    checkOpen();
    return queries.lastEventId();
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
    return waiters.await(afterId, timeout, id -> {
      checkOpen();
      return !queries.readEvents(id, 1).isEmpty();
    });
  }

  /**
   * Stops waiting threads (they throw {@link StorageException}) and the notification listener. Does not close the
   * {@link DataSource}. Idempotent.
   */
  @Override
  public void close() {
    closed = true;
    waiters.close();
    notifier.ifPresent(CommitNotifier::close);
  }

  @Override
  public String toString() {
    return "JdbcStorage[" + dialect.kind() + ", tables " + tables.prefix() + "collab_*"
        + (clock.isDatabase() ? "" : ", " + clock) + "]";
  }

  private void checkOpen() {
    if (closed) {
      throw new StorageException("JdbcStorage is closed");
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
     * @throws IllegalArgumentException if prefix does not match
     * @throws IllegalStateException if set before
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
     * @throws IllegalStateException if set before
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
     * @throws IllegalStateException if set before
     */
    public Builder clock(Clock clock) {
      once(this.clock != null, "clock");
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * How long an operation is run again after serialization failures, deadlocks, lock timeouts or busy errors
     * before the failure is reported; also the bound on how long a commit waits for a lock (at least
     * one second on MariaDB/MySQL). Default 10 seconds.
     *
     * @param timeout not negative; zero means no retries
     * @return this builder
     * @throws NullPointerException if timeout is null
     * @throws IllegalArgumentException if negative
     * @throws IllegalStateException if set before
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
     * @throws IllegalArgumentException if out of range
     * @throws IllegalStateException if set before
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
     * On PostgreSQL, whether this storage's waiting for events uses {@code LISTEN} (one pooled connection listens
     * while threads wait). Default true; other databases ignore it and poll. Commits send notifications either way,
     * for the other nodes that listen.
     *
     * @param enabled false for this storage's waiters to rely on polling only
     * @return this builder
     * @throws IllegalStateException if set before
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
                + Arrays.toString(JdbcDialect.values()));
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
        throw new IllegalStateException(option + " is already set");
      }
    }
  }
}
