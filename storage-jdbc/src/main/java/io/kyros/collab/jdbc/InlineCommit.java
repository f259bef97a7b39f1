package io.kyros.collab.jdbc;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL's commit protocol: commits run in parallel, and COMMIT travels with the writes. A commit whose events do
 * not depend on its revisions, or name them only as text ({@link EventTemplates}), and whose writes update records it
 * expects at a revision or create records it expects absent takes one round trip, one statement, or two with the
 * key locks' own ({@link #tryOneTrip}, {@link SingleStatement}); the one statement goes without BEGIN and COMMIT, as
 * PostgreSQL's implicit transaction ({@link Framing#IMPLICIT}); the others take two round trips:
 * <ol>
 *   <li>the lock wait's bound and an exclusive transaction-scoped advisory lock on every key the commit expects or
 *       writes, in one statement ({@link #lockKey}, taken in ascending order, so two commits never deadlock on them);
 *       the clock; the first expected revisions; and the writes' revisions from the revision sequence. The
 *       statements run one after the other, each with a fresh snapshot (READ COMMITTED), so the expectations are read
 *       after the locks and see every commit that held them before; no other commit can change these keys until this
 *       one ends;</li>
 *   <li>{@code pg_current_xact_id()} (the transaction has its xid before it takes an event id, which the readers'
 *       horizon relies on: {@link EventHorizon}), the writes, their index entries ({@link IndexWrites}), the events
 *       (multi-row inserts taking their ids from the event sequence, {@code RETURNING id}) and COMMIT; split
 *       into several round trips when they would carry more parameters than the driver allows, COMMIT in the
 *       last.</li>
 * </ol>
 * Commits on different keys therefore neither wait for each other nor share a lock; concurrent commits share WAL
 * flushes through PostgreSQL's own group commit. Revisions are handed out after the key's lock is held, so each
 * record's revisions grow with its versions; a value is never handed out twice (gaps are possible: a conflict or a
 * rollback consumes the values it took). Since COMMIT travels with the writes, the row counts that must be 1 are
 * checked on the server ({@link #checkedOnServer}); under the key locks they fail only when the tables are changed
 * outside Collab. An error in that round trip means COMMIT did not run, unless the connection failed (then the
 * outcome is unknown). The transaction's BEGIN travels as the first statement of the first round trip
 * ({@link Transactions.Mode#INLINE_WRITE}), so each round trip gets one response. It sets READ COMMITTED, as does
 * the first statement of a transaction the driver began ({@link #BEGIN}, {@link #SET_READ_COMMITTED}): the steps
 * above rely on each statement's fresh snapshot, whatever level the pool's connections default to
 * ({@code IsolationTest}). A one-statement commit's implicit transaction runs at the connection's default level
 * instead; the lock wait's bound that starts it refuses any other than READ COMMITTED ({@link #NOT_READ_COMMITTED}),
 * and the storage's commits then all begin their transactions. See docs/jdbc.md, "Parallel: PostgreSQL".
 *
 * <p>Thread-safe (between commits it keeps only whether its connections were found not to default to READ
 * COMMITTED, and the driver's method {@link DriverIdle} reads).
 */
final class InlineCommit extends CommitProtocol {
  /**
   * Begins a commit's transaction: at READ COMMITTED whatever the connection's default level, since the protocol
   * relies on each statement taking a fresh snapshot (the expectations are read after the key locks; at REPEATABLE
   * READ or SERIALIZABLE the first statement's snapshot, taken before the locks are granted, would serve them all).
   */
  static final String BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED";
  /**
   * The same level for a transaction the driver began: on a read-only connection (pgjdbc's {@code BEGIN READ ONLY});
   * other connections are in auto-commit for the operation ({@link Transactions}).
   */
  static final String SET_READ_COMMITTED = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";
  /**
   * Marks the failed cast by which the lock wait's bound refuses a transaction not at READ COMMITTED
   * ({@link #GUARDED_WAIT}): a one-round-trip commit sent without BEGIN runs at the connection's default level.
   */
  static final String NOT_READ_COMMITTED = "collab_not_read_committed";
  /**
   * The lock wait's bound in milliseconds (one BIGINT parameter) as {@code set_config}'s value, if the transaction
   * runs at READ COMMITTED (or READ UNCOMMITTED, which PostgreSQL runs as READ COMMITTED); otherwise a failed cast
   * naming the level the transaction runs at. The input of the cast is not a constant, so the planner never evaluates
   * that branch ahead of time.
   */
  private static final String GUARDED_WAIT = "CASE WHEN current_setting('transaction_isolation')"
      + " IN ('read committed', 'read uncommitted')"
      + " THEN CAST(? AS BIGINT) || 'ms' ELSE CAST('" + NOT_READ_COMMITTED + ":' || current_setting("
      + "'transaction_isolation') AS BIGINT) || 'ms' END";
  private static final Logger LOG = LoggerFactory.getLogger(InlineCommit.class);
  /** Marks the server-side check of a write's row count; see {@link #checkedOnServer}. */
  private static final String ROW_COUNT_FAILED = "collab_row_count_failed";
  /** The SQLState of the failed cast that reports it. */
  private static final String INVALID_TEXT_REPRESENTATION = "22P02";
  /** The most expectations a one-round-trip commit checks (its check statement grows with them). */
  static final int ONE_TRIP_EXPECTATIONS = 32;
  /** The parameters of one event row without its id: ts_micros, event_type, actor, target, details. */
  private static final int EVENT_PARAMETERS = 5;
  /** FNV-1a, 64 bits. */
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;
  /** The longest round-trip text kept ({@link #text}). */
  static final int MAX_TRIP_CHARS = 65_536;

  /** Bounds the lock wait by its one parameter, at READ COMMITTED only ({@link #GUARDED_WAIT}); takes no lock. */
  private final String bound;
  /** Bounds the lock wait by its first parameter, then locks the keys of its second (an array, ascending). */
  private final String boundAndLockKeys;
  /** {@link #boundAndLockKeys} for one key: the key a parameter, not an array to unnest. */
  private final String boundAndLockKey;
  private final String nextRevisions;
  /** The start of a multi-row event insert; the rows ({@link #eventRow}) follow. */
  private final String insertEvents;
  /** An event row with its time bound: ts_micros, event_type, actor, target, details. */
  private final String eventRow;
  /** The database clock in epoch microseconds, as an expression. */
  private final String clockMicros;
  /**
   * Whether one-round-trip commits go without BEGIN and COMMIT, each its own implicit transaction
   * ({@link Transactions.Attempt#implicitTransaction}): until a connection is found not to default to READ COMMITTED,
   * then never again for this storage (logged once), since the pool's connections likely all share its setting.
   */
  private final AtomicBoolean implicitCommits = new AtomicBoolean(true);
  /** Whether the driver reports a connection outside any transaction. */
  private final DriverIdle driverIdle = new DriverIdle();
  /** The one-round-trip commits' statement texts, by shape. */
  private final SingleStatement.Texts texts = new SingleStatement.Texts();
  /**
   * The texts of round trips of several statements, by their statements: at most {@link #MAX_TRIP_CHARS} each, and
   * {@link SingleStatement.Texts#MAX_CHARS} characters of texts and statements in all.
   */
  private final Cache<List<String>, String> trips = Caffeine.newBuilder().maximumWeight(SingleStatement.Texts.MAX_CHARS)
      .weigher((List<String> statements, String text) -> 2 * text.length()).executor(Runnable::run).build();

  InlineCommit(Dialect dialect, Tables tables, SqlText sql, Queries queries, DatabaseClock clock) {
    super(dialect, tables, sql, queries, clock);
    // the lock wait's bound and the locks in one statement: the lateral join evaluates the bound (set_config(...,
    // true) is SET LOCAL) before the first lock; the subquery's volatile output is never pruned, and unnest yields the
    // array's order, so the locks are taken ascending (boundAndLockKey below: the same for one key, without unnest)
    // the bound refuses a transaction not at READ COMMITTED (GUARDED_WAIT), before any lock, read or write
    // IS NOT NULL: a fixed-width result, which pgjdbc never flushes a round trip for (a text result it may, to avoid
    // a deadlock on full buffers, when parameters are sent untyped: stringtype=unspecified)
    bound = "SELECT set_config('lock_timeout', " + GUARDED_WAIT + ", true) IS NOT NULL";
    String boundFirst = "SELECT count(*) FROM (SELECT set_config('lock_timeout', " + GUARDED_WAIT + ", true)"
        + " AS bound) AS b CROSS JOIN LATERAL (SELECT ";
    boundAndLockKeys = boundFirst + "pg_advisory_xact_lock(k) FROM unnest(CAST(? AS BIGINT[])) AS k"
        + " WHERE b.bound IS NOT NULL) AS locked";
    // one key (a lease's acquire or release, a document's write): the same, without the array and its unnest (one
    // plan node and the array's parsing fewer; measured within the noise: benchmarks/experiments/pg-lease-cost)
    boundAndLockKey = boundFirst + "pg_advisory_xact_lock(CAST(? AS BIGINT)) WHERE b.bound IS NOT NULL) AS locked";
    nextRevisions = "SELECT nextval('" + tables.revisionSequence() + "') FROM generate_series(1, ?)";
    insertEvents = "INSERT INTO " + tables.events() + " (id, ts_micros, event_type, actor, target, details) VALUES ";
    eventRow = "(nextval('" + tables.eventSequence() + "'), ?, ?, ?, ?, ?)";
    clockMicros = "(" + dialect.currentTimeMicros() + ")";
  }

  /**
   * The advisory lock of a key: 64 bits of FNV-1a over the table prefix, the collection and the id. Two keys sharing
   * a lock (a collision, or an application's own advisory lock with the same number) only wait for each other.
   *
   * @param prefix the table prefix
   * @param key the key
   * @return the lock's number
   */
  static long lockKey(String prefix, RecordKey key) {
    long h = FNV_OFFSET;
    String text = prefix + '\u0000' + key.collection() + '\u0000' + key.id();
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      h = (h ^ (ch & 0xff)) * FNV_PRIME;
      h = (h ^ (ch >>> 8)) * FNV_PRIME;
    }
    return h;
  }

  /**
   * Bounds the lock wait, locks the commit's keys, reads the clock and the revisions of the first chunk of expected
   * keys, and takes the writes' revisions, in one round trip. The statements run one after the other on the server,
   * each with a fresh snapshot, so the clock, the revisions and the sequence values are read after the locks are
   * granted.
   */
  @Override
  Locked lock(Transactions.Attempt a, Commit commit, List<RecordKey> expected, Map<RecordKey, Long> current)
      throws SQLException {
    List<RecordKey> first = expected.subList(0, Math.min(expected.size(), Queries.KEY_CHUNK));
    Long[] locks = lockKeys(commit, expected);
    int writes = commit.writes().size();
    List<String> parts = new ArrayList<>();
    boolean begin = opens(a, parts);
    Part lock = lockPart(a, locks);
    parts.add(lock.sql());
    if (clock.isDatabase()) {
      parts.add(clock.query());
    }
    if (!first.isEmpty()) {
      parts.add(sql.selectRecords(first.size(), SqlText.Columns.REVISION));
    }
    if (writes > 0) {
      parts.add(nextRevisions);
    }
    Connection c = a.connection;
    try (PreparedStatement ps = c.prepareStatement(String.join("; ", parts))) {
      int p = lock.binder().bind(ps, 1);
      Queries.bindKeys(ps, p, first);
      p += 2 * first.size();
      if (writes > 0) {
        ps.setInt(p, writes);
      }
      boolean isQuery = ps.execute();
      if (begin) {
        isQuery = ps.getMoreResults();
      }
      // isQuery: the bound's result, with the locks if there are any
      Instant now;
      if (clock.isDatabase()) {
        try (ResultSet rs = resultSet(ps, ps.getMoreResults())) {
          rs.next();
          now = clock.remember(rs.getLong(1));
        }
      } else {
        now = clock.configuredNow();
      }
      if (!first.isEmpty()) {
        try (ResultSet rs = resultSet(ps, ps.getMoreResults())) {
          while (rs.next()) {
            current.put(new RecordKey(rs.getString(1), rs.getString(2)), rs.getLong(3));
          }
        }
      }
      List<Long> revisions = new ArrayList<>(writes);
      if (writes > 0) {
        try (ResultSet rs = resultSet(ps, ps.getMoreResults())) {
          while (rs.next()) {
            revisions.add(rs.getLong(1));
          }
        }
        Collections.sort(revisions); // ascending in the writes' order, whatever order the rows came in
      }
      if (!isQuery) {
        throw new SQLException("expected a result set from the commit's lock wait bound and key locks", "XX000");
      }
      return new Locked(revisions, -1, -1, now, first.size());
    }
  }

  /** @return {@link Transactions.Mode#INLINE_WRITE}: BEGIN is the first statement of the first round trip */
  @Override
  Transactions.Mode transactionMode() {
    return Transactions.Mode.INLINE_WRITE;
  }

  /**
   * Runs the commit in one round trip when it allows: the database clock is the commit's clock, its events do not
   * depend on the revisions ({@link Commit#fixedEvents}) or are templates ({@link EventTemplates}), each write is an
   * update of a record expected at a revision or a create of one expected absent, and it has at most
   * {@value #ONE_TRIP_EXPECTATIONS} expectations and fits in one round trip's parameters. The round trip (an
   * implicit transaction where it can be: {@link Framing}) carries one statement of data-modifying common table
   * expressions ({@link SingleStatement}): if the commit writes every record it expects, the self-checked form,
   * which takes the key locks itself and makes each expectation a condition of its record's write; otherwise, or
   * when that form cannot tell which expectation failed, the checked form, sent after the statement taking the key
   * locks, which reads the clock and every expectation after the locks, and writes, changes the index entries and
   * inserts the events only if all held. A failed expectation thus commits an empty transaction (no WAL flush, unless
   * the self-checked form read the record with a row lock to report it) and is reported from the statement's row,
   * not as a server error (except where the self-checked form falls back to the checked one).
   *
   * @return the result, or empty if the commit does not qualify (then nothing was sent) or a write changed no row
   *     although every expectation held (the tables were changed outside Collab; rolled back, for the general path
   *     to report)
   */
  @Override
  Optional<CommitResult> tryOneTrip(Transactions.Attempt a, Commit commit) throws SQLException {
    List<Expectation> expectations = commit.expectations();
    List<Write> writes = commit.writes();
    if (!clock.isDatabase() || expectations.size() > ONE_TRIP_EXPECTATIONS) {
      return Optional.empty();
    }
    Map<RecordKey, Expectation> byKey = new HashMap<>();
    expectations.forEach(e -> byKey.putIfAbsent(e.key(), e));
    for (Write w : writes) {
      if (w.isDelete() || !byKey.containsKey(w.key())) {
        return Optional.empty(); // only updates of records expected at a revision, and creates of ones expected absent
      }
    }
    Optional<List<NewEvent>> fixed = commit.fixedEvents();
    Optional<EventTemplates> templates = fixed.isPresent() ? Optional.empty() : EventTemplates.of(commit);
    if (fixed.isEmpty() && templates.isEmpty()) {
      return Optional.empty();
    }
    List<NewEvent> events = fixed.orElseGet(() -> templates.get().events());
    List<List<Integer>> markers = templates.map(EventTemplates::markers)
        .orElseGet(() -> Collections.nCopies(events.size(), List.of()));
    Long[] locks = lockKeys(commit, List.copyOf(byKey.keySet()));
    // a create under its key's lock, of a record checked absent, has no entries to clear (a delete removes them)
    IndexWrites index = IndexWrites.replacing(writes, w -> byKey.get(w.key()).revision() == Expectation.ABSENT);
    Optional<SingleStatement> single = SingleStatement.selfChecked(texts, tables, sql, boundAndLock(locks), clockMicros,
        expectations, writes, index, events, markers, a.lockWaitMillis(), locks);
    if (single.isPresent() && single.get().parameters() <= dialect.maxParameters()) {
      Optional<CommitResult> result = runStatement(a, commit, List.of(statement(single.get())), events, templates);
      if (result.isPresent()) {
        return result;
      }
      // a write did not change its row, so nothing was committed, and the statement could not tell why: the
      // checked form below reads every expectation after the locks and reports the conflict
    }
    Part lock = lockPart(a, locks);
    SingleStatement checked = SingleStatement.checked(texts, tables, sql, clockMicros, expectations, writes, index,
        events, markers);
    if (lock.parameters() + checked.parameters() > dialect.maxParameters()) {
      return Optional.empty();
    }
    // empty: every expectation held but a write changed no row (the tables were changed outside Collab, under the
    // locks); rolled back, for the general path to report
    return runStatement(a, commit, List.of(lock, statement(checked)), events, templates);
  }

  /**
   * @param statements a round trip's statements
   * @return its text: the one statement's own, or the statements joined; a join of at most {@link #MAX_TRIP_CHARS}
   *     characters is kept ({@link #trips}), so that a round trip of one shape (with the same statement texts,
   *     {@link SingleStatement.Texts}) sends the same string each time, and the driver finds its prepared statement
   *     without hashing a new one
   */
  private String text(List<String> statements) {
    if (statements.size() == 1) {
      return statements.get(0);
    }
    String text = trips.getIfPresent(statements);
    if (text == null) {
      text = String.join("; ", statements);
      if (text.length() <= MAX_TRIP_CHARS) {
        String raced = trips.asMap().putIfAbsent(List.copyOf(statements), text);
        text = raced == null ? text : raced;
      }
    }
    return text;
  }

  /** @return the part that sends a one-round-trip commit's statement */
  private static Part statement(SingleStatement s) {
    return new Part(s.sql(), s.parameters(), s.binder()::bind, Result.STATEMENT);
  }

  /**
   * Sends a one-round-trip commit's statement (after the key locks' statement, if it is the checked form) in one
   * round trip: the self-checked statement alone as an implicit transaction ({@link Framing#IMPLICIT}) on a
   * connection the driver reports idle, while this storage's connections are not known to default to another level
   * than READ COMMITTED (if one refuses, again at once with BEGIN and COMMIT, and so every later commit); otherwise
   * between BEGIN and COMMIT.
   *
   * @return the result, or empty if the statement reported that a write changed no row without telling which
   *     expectation failed: then nothing was committed, and the transaction is rolled back
   */
  private Optional<CommitResult> runStatement(Transactions.Attempt a, Commit commit, List<Part> trip,
      List<NewEvent> events, Optional<EventTemplates> templates) throws SQLException {
    Reads reads = new Reads();
    Framing framing = trip.size() == 1 && implicitCommits.get() && a.implicitTransaction()
        && driverIdle.test(a.connection) ? Framing.IMPLICIT : Framing.EXPLICIT;
    try {
      run(a, List.of(trip), reads, framing);
    } catch (SQLException e) {
      if (framing == Framing.IMPLICIT && failedCast(e, NOT_READ_COMMITTED)) {
        // rolled back (nothing was locked, read or written before the bound); from now on with BEGIN, which sets
        // the level for the transaction
        if (implicitCommits.getAndSet(false)) {
          LOG.info("PostgreSQL connections of this storage do not default to READ COMMITTED ({}): its one-round-trip"
              + " commits now begin their transactions with {}", e.getMessage(), BEGIN);
        }
        return runStatement(a, commit, trip, events, templates);
      }
      if (!SingleStatement.notHeld(e)) {
        throw e;
      }
      a.rollback();
      return Optional.empty();
    }
    if (reads.failed >= 0) {
      clock.remember(reads.commitMicros);
      return Optional.of(new CommitResult.Conflict(commit.expectations().get(reads.failed), reads.actual));
    }
    return Optional.of(committed(commit, reads, events, templates));
  }

  /** @return the result of a one-round-trip commit that committed, from what its round trip read */
  private CommitResult.Committed committed(Commit commit, Reads reads, List<NewEvent> events,
      Optional<EventTemplates> templates) {
    Instant now = clock.remember(reads.commitMicros);
    checkAscending("writes", "revisions", reads.revisions, commit.writes().size());
    checkAscending("events", "ids", reads.eventIds, events.size());
    List<NewEvent> appended = templates.isPresent() ? templates.get().complete(commit, reads.revisions) : events;
    List<StoredEvent> stored = new ArrayList<>(appended.size());
    for (int i = 0; i < appended.size(); i++) {
      stored.add(StoredEvent.of(appended.get(i), reads.eventIds.get(i), now));
    }
    return new CommitResult.Committed(List.copyOf(reads.revisions), stored, now);
  }

  /**
   * @return {@code t} in epoch microseconds, rounded down, and clamped to the range of a {@code long}: comparing
   *     whole microseconds with it decides "after {@code t}" as comparing instants does
   */
  static long flooredMicros(Instant t) {
    try {
      return DatabaseClock.micros(t);
    } catch (ArithmeticException e) {
      return t.getEpochSecond() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  /**
   * Puts the statement the attempt's next round trip must start with ({@link Transactions.Attempt#opening}: this
   * protocol's {@link #BEGIN} or {@link #SET_READ_COMMITTED}) first in {@code statements}, if there is one.
   *
   * @return whether it did: the round trip's first result is then that statement's, to be skipped
   */
  private static boolean opens(Transactions.Attempt a, List<String> statements) {
    Optional<String> opening = a.opening(BEGIN, SET_READ_COMMITTED);
    opening.ifPresent(statements::add);
    return opening.isPresent();
  }

  /**
   * @param locks the advisory locks to take (none: the array form, with an empty array)
   * @return the statement bounding the lock wait by its first parameter and taking {@code locks} in ascending order,
   *     bound by its second ({@link #bindLocks})
   */
  String boundAndLock(Long[] locks) {
    return locks.length == 1 ? boundAndLockKey : boundAndLockKeys;
  }

  /**
   * Binds the locks of {@link #boundAndLock}'s statement: one as a {@code BIGINT}, several as an array.
   *
   * @return the next parameter's position
   */
  static int bindLocks(PreparedStatement ps, int p, Long[] locks) throws SQLException {
    if (locks.length == 1) {
      ps.setLong(p, locks[0]);
    } else {
      ps.setArray(p, ps.getConnection().createArrayOf("bigint", locks));
    }
    return p + 1;
  }

  /**
   * @param locks the advisory locks to take, ascending (none: the bound alone)
   * @return the statement bounding the lock wait by what is left of the attempt's time and taking {@code locks}, as
   *     the first of a round trip that reads after them (the general path's lock trip, the checked form)
   */
  private Part lockPart(Transactions.Attempt a, Long[] locks) {
    if (locks.length == 0) {
      return new Part(bound, 1, (ps, p) -> {
        ps.setLong(p, a.lockWaitMillis());
        return p + 1;
      });
    }
    return new Part(boundAndLock(locks), 2, (ps, p) -> {
      ps.setLong(p, a.lockWaitMillis());
      return bindLocks(ps, p + 1, locks);
    });
  }

  /** @return the advisory locks of every key the commit expects or writes, distinct, ascending */
  private Long[] lockKeys(Commit commit, List<RecordKey> expected) {
    TreeSet<Long> locks = new TreeSet<>();
    for (RecordKey k : expected) {
      locks.add(lockKey(tables.prefix(), k));
    }
    for (Write w : commit.writes()) {
      locks.add(lockKey(tables.prefix(), w.key()));
    }
    return locks.toArray(new Long[0]);
  }

  private static ResultSet resultSet(PreparedStatement ps, boolean isQuery) throws SQLException {
    if (!isQuery) {
      throw new SQLException("expected a result set from the commit's combined statements", "XX000");
    }
    return ps.getResultSet();
  }

  /** How a commit's round trips delimit its transaction. */
  private enum Framing {
    /** BEGIN first, unless the attempt's transaction is open already ({@link #opens}); COMMIT at the end. */
    EXPLICIT,
    /**
     * Neither: one round trip of one statement, which PostgreSQL runs as a transaction of its own at the connection's
     * default level ({@link Transactions.Attempt#implicitTransaction}); the statement checks that level first
     * ({@link #NOT_READ_COMMITTED}). Only for one statement: pgjdbc may end a round trip of several with more than one
     * Sync (it does so when it fears both sides' buffers filling up), and a Sync ends an implicit transaction, so the
     * checked form's key locks would be released before its check ran. Only on a connection the driver reports idle
     * ({@link DriverIdle}): on one left inside a transaction, the statement would join that transaction and commit
     * nothing.
     */
    IMPLICIT
  }

  /** What a part's result holds that the commit reads. */
  private enum Result {
    /** Nothing read. */
    NONE,
    /** The ids of the events it inserted. */
    EVENT_IDS,
    /**
     * The rows of a one-round-trip commit's statement ({@link SingleStatement}): its time, the failed expectation's
     * position (-1 if none) and that record's revision; then the writes' revisions in order; then the events' ids in
     * the order the insert returned them. A small commit's statement ({@link SingleStatement#oneRow}) has them all in
     * its first row, after the number of writes.
     */
    STATEMENT
  }

  /** One statement of a round trip, how many parameters it has, how to bind them, and what its result holds. */
  private record Part(String sql, int parameters, Binder binder, Result result) {
    Part(String sql, int parameters, Binder binder) {
      this(sql, parameters, binder, Result.NONE);
    }
  }

  /** What the round trips of a commit read: the events' ids, in order, and the commit's time if read. */
  private static final class Reads {
    final List<Long> eventIds = new ArrayList<>();
    final List<Long> revisions = new ArrayList<>();
    long commitMicros = Long.MIN_VALUE;
    int failed = -1;
    long actual;
  }

  /** Binds a part's parameters from an index on; returns the next index. */
  @FunctionalInterface
  private interface Binder {
    int bind(PreparedStatement ps, int first) throws SQLException;
  }

  /**
   * Applies the writes, inserts the events (multi-row inserts) and COMMITs, in one round trip unless that
   * would carry more parameters than the driver allows ({@link Dialect#maxParameters()}): then in as few round trips
   * as fit, COMMIT in the last one. The row counts that must be 1 (a conditional write) are checked on the server (see
   * {@link #checkedOnServer}): a failed one raises an error, so the statements after it and the COMMIT do not run.
   * Under the key locks the expectations read in the first round trip cannot change, so that happens only if the
   * tables were changed outside Collab; the commit then reports the conflict and nothing is committed.
   */
  @Override
  Applied applyChanges(Transactions.Attempt a, Changes changes) throws SQLException {
    if (changes.isEmpty()) {
      return new Applied(Optional.empty(), List.of());
    }
    Connection c = a.connection;
    Reads reads = new Reads();
    try {
      run(a, roundTrips(parts(writeParts(changes.writes()), changes.index(), changes.events(),
          changes.locked().now()), dialect.maxParameters()), reads, Framing.EXPLICIT);
    } catch (SQLException e) {
      if (!rowCountFailed(e)) {
        throw e;
      }
      a.rollback();
      for (WriteStatement w : changes.writes()) {
        if (w.conditional() && !w.expectation().isMetBy(queries.currentRevision(c, w.write.key()), Instant.MIN)) {
          return Applied.conflict(w);
        }
      }
      throw new SQLException("a row count checked inside a commit did not hold: the tables were changed outside"
          + " Collab; rolled back", "55000", e);
    }
    checkAscending("events", "ids", reads.eventIds, changes.events().size());
    return new Applied(Optional.empty(), reads.eventIds);
  }

  /**
   * Sends round trips in order, COMMIT at the end of the last (or, {@link Framing#IMPLICIT}, one round trip that is
   * its own transaction), and collects what their results hold. A server error means COMMIT did not run: the attempt
   * is told so ({@link Transactions.Attempt#notCommitted}), and the error is thrown; a failed connection leaves the
   * outcome unknown once COMMIT was sent (or the implicit transaction's round trip). The driver reports a failure of
   * any statement of a round trip from {@code execute()}, so once the last one returned, COMMIT has run: a failure
   * reading its results leaves the outcome unknown too.
   *
   * @throws IllegalArgumentException if an implicit transaction is asked for more than one round trip
   */
  private void run(Transactions.Attempt a, List<List<Part>> roundTrips, Reads reads, Framing framing)
      throws SQLException {
    if (framing == Framing.IMPLICIT && roundTrips.size() != 1) {
      throw new IllegalArgumentException("an implicit transaction is one round trip, not " + roundTrips.size());
    }
    Connection c = a.connection;
    boolean committed = false;
    try {
      for (int i = 0; i < roundTrips.size(); i++) {
        boolean last = i == roundTrips.size() - 1;
        List<Part> trip = roundTrips.get(i);
        List<String> statements = new ArrayList<>();
        boolean begin = framing == Framing.EXPLICIT && opens(a, statements);
        trip.forEach(part -> statements.add(part.sql()));
        if (last && framing == Framing.EXPLICIT) {
          statements.add("COMMIT");
        }
        try (PreparedStatement ps = c.prepareStatement(text(statements))) {
          int p = 1;
          for (Part part : trip) {
            p = part.binder().bind(ps, p);
          }
          if (last) {
            a.committingInline();
          }
          boolean isQuery = ps.execute();
          committed = last;
          if (last) {
            a.endedInline();
          }
          if (begin) {
            isQuery = ps.getMoreResults();
          }
          for (int j = 0; j < trip.size(); j++) {
            if (j > 0) {
              isQuery = ps.getMoreResults();
            }
            Result result = trip.get(j).result();
            if (result == Result.EVENT_IDS) {
              try (ResultSet rs = resultSet(ps, isQuery)) {
                while (rs.next()) {
                  reads.eventIds.add(rs.getLong(1));
                }
              }
            } else if (result == Result.STATEMENT) {
              try (ResultSet rs = resultSet(ps, isQuery)) {
                if (!rs.next() || rs.getLong(1) != 0) {
                  throw new SQLException("expected the first row of the commit's statement", "XX000");
                }
                reads.commitMicros = rs.getLong(2);
                reads.failed = rs.getInt(3);
                reads.actual = rs.getLong(4);
                int columns = rs.getMetaData().getColumnCount();
                if (columns > 4 && reads.failed < 0) { // one row (SingleStatement.oneRow): all in it
                  int writes = rs.getInt(5);
                  for (int col = 6; col <= columns; col++) {
                    long value = rs.getLong(col);
                    if (rs.wasNull()) {
                      continue; // a write or event row missing (the tables changed outside Collab): the count check fails
                    }
                    if (col < 6 + writes) {
                      reads.revisions.add(value); // in the writes' order
                    } else {
                      reads.eventIds.add(value); // in the events' order, checked to ascend
                    }
                  }
                }
                while (rs.next()) { // a conflict took no revision and no event id: no more rows
                  if (rs.getLong(1) == 1) {
                    reads.revisions.add(rs.getLong(3)); // in the writes' order
                  } else {
                    reads.eventIds.add(rs.getLong(3)); // in the events' order, checked to ascend
                  }
                }
              }
            }
          }
        }
      }
    } catch (SQLException e) {
      if (!committed && reportedByServer(e)) {
        // the server answered with an error, so it skipped the rest of the round trip: COMMIT did not run (or
        // failed and rolled back); a retryable error is retried like any other
        a.notCommitted();
      }
      throw e; // else the connection failed: whether COMMIT ran is unknown (if it was sent)
    }
  }

  /**
   * The event ids come back in the rows' order, and a multi-row insert evaluates {@code nextval} row by row in that
   * order, so they ascend; so do the revisions of a one-round-trip commit's updates, run one after the other.
   * Checked, since the events' order in the log depends on it, and the revisions' order on the writes.
   *
   * @param what what got the values, such as "events"
   * @param values what the values are, such as "ids"
   * @param got the values, in order
   * @param expected how many there must be
   */
  private static void checkAscending(String what, String values, List<Long> got, int expected) {
    boolean ascending = got.size() == expected;
    for (int i = 1; ascending && i < got.size(); i++) {
      ascending = got.get(i) > got.get(i - 1);
    }
    if (!ascending) {
      throw new IllegalStateException("committed, but the " + expected + " " + what + " got " + values + " " + got
          + ", not one each in ascending order");
    }
  }


  /** @return whether the failure is a server-side row count check's ({@link #checkedOnServer}) failed cast */
  private static boolean rowCountFailed(SQLException e) {
    return failedCast(e, ROW_COUNT_FAILED);
  }

  /**
   * @param e a failure of a round trip
   * @param marker the text a statement casts to a number to raise an error on purpose
   * @return whether the failure is that cast's: the statement's own report, not a fault
   */
  static boolean failedCast(SQLException e, String marker) {
    return INVALID_TEXT_REPRESENTATION.equals(e.getSQLState()) && e.getMessage() != null
        && e.getMessage().contains(marker);
  }

  /**
   * The statements applying a commit's changes on the general path, in order, without COMMIT.
   *
   * @param ts the commit's time, bound into the events
   */
  private List<Part> parts(List<Part> writes, IndexWrites index, List<NewEvent> events, Instant ts) {
    List<Part> parts = new ArrayList<>();
    if (!events.isEmpty()) {
      // the xid exists before the first event id is taken (EventHorizon relies on it), even with no row written
      parts.add(new Part("SELECT pg_current_xact_id()", 0, (ps, p) -> p));
    }
    parts.addAll(writes);
    for (List<RecordKey> keys : index.deletes()) {
      parts.add(new Part(sql.deleteIndexEntries(keys.size()), keys.size() * IndexWrites.KEY_PARAMETERS,
          (ps, first) -> IndexWrites.bindKeys(ps, first, keys)));
    }
    int entriesPerInsert = Math.max(1, dialect.maxParameters() / IndexWrites.ROW_PARAMETERS);
    for (List<IndexWrites.Row> rows : IndexWrites.chunks(index.rows, entriesPerInsert)) {
      parts.add(new Part(sql.insertIndexEntries(rows.size()), rows.size() * IndexWrites.ROW_PARAMETERS,
          (ps, first) -> IndexWrites.bindRows(ps, first, rows)));
    }
    for (int from = 0, to; from < events.size(); from = to) {
      // as many events per insert as the driver's parameters allow; their ids ascend in the rows' order
      StringBuilder insert = new StringBuilder(insertEvents);
      int parameters = 0;
      for (to = from; to < events.size(); to++) {
        if (to > from && parameters + EVENT_PARAMETERS > dialect.maxParameters()) {
          break;
        }
        insert.append(to > from ? ", " : "").append(eventRow);
        parameters += EVENT_PARAMETERS;
      }
      insert.append(" RETURNING id");
      List<NewEvent> chunk = events.subList(from, to);
      parts.add(new Part(insert.toString(), parameters, (ps, p) -> {
        for (NewEvent e : chunk) {
          p = bindEvent(ps, p, e, ts);
        }
        return p;
      }, Result.EVENT_IDS));
    }
    return parts; // no NOTIFY: it would serialize the commits (CommitNotifier sends it after them)
  }

  /** @return the writes as statements, each conditional one checked on the server ({@link #checkedOnServer}) */
  private static List<Part> writeParts(List<WriteStatement> writes) {
    List<Part> parts = new ArrayList<>(writes.size());
    for (WriteStatement w : writes) {
      parts.add(new Part(w.conditional() ? checkedOnServer(w.sql) : w.sql, w.parameters(), w::bind));
    }
    return parts;
  }

  /** Packs parts into round trips of at most {@code maxParameters} parameters each, in order. */
  private static List<List<Part>> roundTrips(List<Part> parts, int maxParameters) {
    List<List<Part>> trips = new ArrayList<>();
    List<Part> current = new ArrayList<>();
    int parameters = 0;
    for (Part part : parts) {
      if (!current.isEmpty() && parameters + part.parameters() > maxParameters) {
        trips.add(current);
        current = new ArrayList<>();
        parameters = 0;
      }
      current.add(part);
      parameters += part.parameters();
    }
    trips.add(current);
    return trips;
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
        + ROW_COUNT_FAILED + ":' || count(*) AS BIGINT) END FROM changed";
  }
}
