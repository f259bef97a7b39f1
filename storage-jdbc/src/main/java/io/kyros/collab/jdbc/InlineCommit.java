package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * PostgreSQL's commit protocol: commits run in parallel, and COMMIT travels with the writes. A commit whose events do
 * not depend on its revisions, or name them only as text ({@link EventTemplates}), and whose writes update records it
 * expects at a revision or create records it expects absent takes one round trip ({@link #tryOneTrip}); the others
 * take two:
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
 * ({@code IsolationTest}). See docs/jdbc.md, "Parallel: PostgreSQL".
 *
 * <p>Thread-safe (stateless between commits).
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
  /** Marks the server-side check of a write's row count; see {@link #checkedOnServer}. */
  private static final String ROW_COUNT_FAILED = "collab_row_count_failed";
  /** The SQLState of the failed cast that reports it. */
  private static final String INVALID_TEXT_REPRESENTATION = "22P02";
  /**
   * The transaction-local setting a one-round-trip commit's check ({@link #check}) leaves: the commit's time in epoch
   * microseconds if every expectation held, else empty.
   */
  private static final String COMMIT_MICROS = "collab.commit_micros";
  /** The condition every change of a one-round-trip commit is made under: its expectations held. */
  private static final String HELD = "current_setting('" + COMMIT_MICROS + "') <> ''";
  /** The most expectations a one-round-trip commit checks (its check statement grows with them). */
  static final int ONE_TRIP_EXPECTATIONS = 32;
  /** The parameters of one event row without its id: ts_micros, event_type, actor, target, details. */
  private static final int EVENT_PARAMETERS = 5;
  /** FNV-1a, 64 bits. */
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  /** Bounds the lock wait by its first parameter, then locks the keys of its second (an array, ascending). */
  private final String boundAndLockKeys;
  private final String nextRevisions;
  /** The start of a multi-row event insert; the rows follow ({@link #eventRow} or {@link #eventRowAtCommitTime}). */
  private final String insertEvents;
  /** The start of a one-round-trip commit's event insert, made only if its check held; rows and the filter follow. */
  private final String insertEventsAtCommitTime;
  /** An event row with its time bound: ts_micros, event_type, actor, target, details. */
  private final String eventRow;
  /** An event row at the commit's time, up to its details: event_type, actor, target; the details' expression next. */
  private final String eventRowAtCommitTimeStart;
  private final String currentRevision;
  private final String updateWithNextRevision;
  private final String insertWithNextRevision;
  /** The decimal text of a record's revision as this transaction sees it: what an event template's marker becomes. */
  private final String revisionText;
  /** The database clock in epoch microseconds, as an expression. */
  private final String clockMicros;

  InlineCommit(Dialect dialect, Tables tables, SqlText sql, Queries queries, DatabaseClock clock) {
    super(dialect, tables, sql, queries, clock);
    // the lock wait's bound and the locks in one statement: the lateral join evaluates the bound (set_config(...,
    // true) is SET LOCAL) before the first lock; the subquery's volatile output is never pruned, and unnest yields the
    // array's order, so the locks are taken ascending
    boundAndLockKeys = "SELECT count(*) FROM (SELECT set_config('lock_timeout', CAST(? AS BIGINT) || 'ms', true)"
        + " AS bound) AS b CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(? AS BIGINT[])) AS k"
        + " WHERE b.bound IS NOT NULL) AS locked";
    nextRevisions = "SELECT nextval('" + tables.revisionSequence() + "') FROM generate_series(1, ?)";
    String eventColumns = "INSERT INTO " + tables.events() + " (id, ts_micros, event_type, actor, target, details) ";
    insertEvents = eventColumns + "VALUES ";
    eventRow = "(nextval('" + tables.eventSequence() + "'), ?, ?, ?, ?, ?)";
    // the VALUES run only if HELD (a one-time filter), so nothing, not even an id, is taken after a failed check
    insertEventsAtCommitTime = eventColumns + "SELECT * FROM (VALUES ";
    eventRowAtCommitTimeStart = "(nextval('" + tables.eventSequence() + "'), CAST(current_setting('" + COMMIT_MICROS
        + "') AS BIGINT), ?, ?, ?, ";
    currentRevision = "COALESCE((SELECT r.revision FROM " + tables.records()
        + " r WHERE r.collection = ? AND r.id = ?), 0)";
    String takenRevision = " RETURNING revision) SELECT CASE WHEN count(*) = 1 THEN max(revision) WHEN NOT (" + HELD
        + ") THEN 0 ELSE CAST('" + ROW_COUNT_FAILED + ":' || count(*) AS BIGINT) END FROM changed";
    updateWithNextRevision = "WITH changed AS (UPDATE " + tables.records() + " SET revision = nextval('"
        + tables.revisionSequence() + "'), hash = ?, value_json = ? WHERE collection = ? AND id = ? AND revision = ?"
        + " AND " + HELD + takenRevision;
    // a one-time filter, as for the events: no revision is taken unless the check held; an existing row (only
    // possible if the tables were changed outside Collab, under the key's lock) inserts nothing: a failed row count
    insertWithNextRevision = "WITH changed AS (INSERT INTO " + tables.records()
        + " (collection, id, revision, hash, value_json) SELECT ?, ?, nextval('" + tables.revisionSequence()
        + "'), ?, ? WHERE " + HELD + " ON CONFLICT (collection, id) DO NOTHING" + takenRevision;
    revisionText = "CAST((SELECT r.revision FROM " + tables.records()
        + " r WHERE r.collection = ? AND r.id = ?) AS TEXT)";
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
    parts.add(locks.length > 0 ? boundAndLockKeys : dialect.boundLockWaitParameterized());
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
      int p = 1;
      ps.setLong(p++, a.lockWaitMillis());
      if (locks.length > 0) {
        ps.setArray(p++, c.createArrayOf("bigint", locks));
      }
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
   * {@value #ONE_TRIP_EXPECTATIONS} expectations and fits in one round trip's parameters. The round trip carries the
   * lock wait's bound, the key locks, the expectation check ({@link #check}: it reads the clock, finds the first
   * expectation that does not hold, and leaves the time in {@link #COMMIT_MICROS} only if none), then, each made only
   * if the check left the time ({@link #HELD}): the xid (only for events without writes: a write's changed row gives
   * it), the updates and creates taking their revisions from the sequence ({@code nextval}, under the locks, as the
   * general path does), their index entries (the updated records' cleared first; a create's record has none), the
   * events (templates completed with the revisions just taken); and COMMIT. A failed expectation thus commits an empty transaction (no
   * xid, no WAL flush) and is reported from the check's row, not as a server error.
   *
   * @return the result, or empty if the commit does not qualify (then nothing was sent) or a row count did not hold
   *     (the tables were changed outside Collab; rolled back, for the general path to report)
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
    List<Part> changes = new ArrayList<>(writes.size());
    for (Write w : writes) {
      Expectation e = byKey.get(w.key());
      if (w.isDelete() || e == null) {
        return Optional.empty(); // only updates of records expected at a revision, and creates of ones expected absent
      }
      changes.add(e.revision() == Expectation.ABSENT ? new Part(insertWithNextRevision, 4, (ps, p) -> {
        ps.setString(p, w.key().collection());
        ps.setString(p + 1, w.key().id());
        ps.setString(p + 2, w.hash());
        ps.setString(p + 3, w.json());
        return p + 4;
      }, Result.REVISION) : new Part(updateWithNextRevision, 5, (ps, p) -> {
        ps.setString(p, w.hash());
        ps.setString(p + 1, w.json());
        ps.setString(p + 2, w.key().collection());
        ps.setString(p + 3, w.key().id());
        ps.setLong(p + 4, e.revision());
        return p + 5;
      }, Result.REVISION));
    }
    Optional<List<NewEvent>> fixed = commit.fixedEvents();
    Optional<EventTemplates> templates = fixed.isPresent() ? Optional.empty() : EventTemplates.of(commit);
    if (fixed.isEmpty() && templates.isEmpty()) {
      return Optional.empty();
    }
    List<NewEvent> events = fixed.orElseGet(() -> templates.get().events());
    Connection c = a.connection;
    Long[] locks = lockKeys(commit, List.copyOf(byKey.keySet()));
    // a create under its key's lock, of a record checked absent, has no entries to clear (a delete removes them)
    IndexWrites index = IndexWrites.replacing(writes, w -> byKey.get(w.key()).revision() == Expectation.ABSENT);
    Optional<SingleStatement> single = SingleStatement.of(tables, sql, boundAndLockKeys, clockMicros, expectations,
        writes, index, events, templates.map(EventTemplates::markers)
            .orElseGet(() -> Collections.nCopies(events.size(), List.of())), a.lockWaitMillis(), locks, c);
    if (single.isPresent() && single.get().parameters() <= dialect.maxParameters()) {
      SingleStatement s = single.get();
      Reads reads = new Reads();
      try {
        run(a, List.of(List.of(new Part(s.sql(), s.parameters(), s.binder()::bind, Result.STATEMENT))), reads);
        if (reads.failed >= 0) {
          clock.remember(reads.commitMicros);
          return Optional.of(new CommitResult.Conflict(expectations.get(reads.failed), reads.actual));
        }
        return Optional.of(committed(commit, reads, events, templates));
      } catch (SQLException e) {
        if (!SingleStatement.notHeld(e)) {
          throw e;
        }
        // a write did not change its row, so nothing was committed: the statement-per-step form below reports which
        // expectation failed (or, if the tables were changed outside Collab, hands the commit to the general path)
        a.rollback();
      }
    }
    List<Part> trip = new ArrayList<>();
    if (locks.length > 0) {
      trip.add(new Part(boundAndLockKeys, 2, (ps, p) -> {
        ps.setLong(p, a.lockWaitMillis());
        ps.setArray(p + 1, c.createArrayOf("bigint", locks));
        return p + 2;
      }));
    } else {
      trip.add(new Part(dialect.boundLockWaitParameterized(), 1, (ps, p) -> {
        ps.setLong(p, a.lockWaitMillis());
        return p + 1;
      }));
    }
    trip.add(check(expectations));
    trip.addAll(parts(changes, index, events, Optional.empty(), templates, writes));
    if (trip.stream().mapToInt(Part::parameters).sum() > dialect.maxParameters()) {
      return Optional.empty();
    }
    Reads reads = new Reads();
    try {
      run(a, List.of(trip), reads);
    } catch (SQLException e) {
      if (!rowCountFailed(e)) {
        throw e;
      }
      a.rollback(); // a row count under the locks: the tables were changed outside Collab; the general path reports
      return Optional.empty();
    }
    if (reads.failed >= 0) {
      clock.remember(reads.commitMicros);
      return Optional.of(new CommitResult.Conflict(expectations.get(reads.failed), reads.actual));
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
   * The expectation check of a one-round-trip commit, a statement of its own after the key locks (so its snapshot
   * sees every commit that held them before). It reads the database clock once and each expected key's revision (0
   * if absent), and returns the time, the position of the first expectation in the commit's order that does not
   * hold (-1 if none) and that key's revision (0 if none); it leaves the time in the transaction-local setting
   * {@link #COMMIT_MICROS} if every expectation held, else an empty text. Every column is of fixed width (pgjdbc may
   * split a round trip before a statement with a text result when parameters are sent untyped).
   */
  private Part check(List<Expectation> expectations) {
    int n = expectations.size();
    StringBuilder text = new StringBuilder("WITH t(n) AS MATERIALIZED (").append(dialect.currentTimeMicros())
        .append("), c AS MATERIALIZED (SELECT t.n");
    for (int i = 0; i < n; i++) {
      text.append(", ").append(currentRevision).append(" AS r").append(i);
    }
    text.append(" FROM t), f AS MATERIALIZED (SELECT c.n, ");
    if (n == 0) {
      text.append("-1 AS failed, 0 AS actual");
    } else {
      // a bound bound as NULL (none) makes "c.n > ?" NULL, which never fails the expectation
      text.append("CASE");
      for (int i = 0; i < n; i++) {
        text.append(" WHEN c.r").append(i).append(" <> ? OR c.n > ? THEN ").append(i);
      }
      text.append(" ELSE -1 END AS failed, ARRAY[");
      for (int i = 0; i < n; i++) {
        text.append(i > 0 ? ", " : "").append("c.r").append(i);
      }
      text.append("] AS r");
    }
    text.append(" FROM c) SELECT f.n, f.failed, ")
        .append(n == 0 ? "f.actual" : "CASE WHEN f.failed >= 0 THEN f.r[f.failed + 1] ELSE 0 END")
        .append(", set_config('").append(COMMIT_MICROS)
        .append("', CASE WHEN f.failed < 0 THEN CAST(f.n AS TEXT) ELSE '' END, true) IS NOT NULL FROM f");
    return new Part(text.toString(), 4 * n, (ps, first) -> {
      int p = first;
      for (Expectation e : expectations) {
        ps.setString(p++, e.key().collection());
        ps.setString(p++, e.key().id());
      }
      for (Expectation e : expectations) {
        ps.setLong(p++, e.revision());
        if (e.notAfter() == null) {
          ps.setNull(p++, Types.BIGINT);
        } else {
          ps.setLong(p++, flooredMicros(e.notAfter())); // now > notAfter, in whole microseconds
        }
      }
      return p;
    }, Result.CHECK);
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

  /** What a part's result holds that the commit reads. */
  private enum Result {
    /** Nothing read. */
    NONE,
    /** The ids of the events it inserted. */
    EVENT_IDS,
    /** The revision a write took. */
    REVISION,
    /** The row of a one-round-trip commit's expectation check ({@link #check}). */
    CHECK,
    /** The row of a commit made as one statement ({@link SingleStatement}): time, 0, revisions, event ids. */
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
          Optional.of(changes.locked().now()), Optional.empty(), List.of()), dialect.maxParameters()), reads);
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
   * Sends round trips in order, COMMIT at the end of the last, and collects what their results hold. A server error
   * means COMMIT did not run: the attempt is told so ({@link Transactions.Attempt#notCommitted}), and the error is
   * thrown; a failed connection leaves the outcome unknown once COMMIT was sent. The driver reports a failure of any
   * statement of a round trip from {@code execute()}, so once the last one returned, COMMIT has run: a failure
   * reading its results leaves the outcome unknown too.
   */
  private void run(Transactions.Attempt a, List<List<Part>> roundTrips, Reads reads) throws SQLException {
    Connection c = a.connection;
    boolean committed = false;
    try {
      for (int i = 0; i < roundTrips.size(); i++) {
        boolean last = i == roundTrips.size() - 1;
        List<Part> trip = roundTrips.get(i);
        List<String> statements = new ArrayList<>();
        boolean begin = opens(a, statements);
        trip.forEach(part -> statements.add(part.sql()));
        if (last) {
          statements.add("COMMIT");
        }
        try (PreparedStatement ps = c.prepareStatement(String.join("; ", statements))) {
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
            } else if (result == Result.REVISION) {
              try (ResultSet rs = resultSet(ps, isQuery)) {
                if (!rs.next()) {
                  throw new SQLException("expected the revision a write took", "XX000");
                }
                reads.revisions.add(rs.getLong(1));
              }
            } else if (result == Result.STATEMENT) {
              try (ResultSet rs = resultSet(ps, isQuery)) {
                if (!rs.next()) {
                  throw new SQLException("expected the row of the commit's statement", "XX000");
                }
                reads.commitMicros = rs.getLong(1);
                reads.failed = rs.getInt(2);
                reads.actual = rs.getLong(3);
                if (reads.failed < 0) { // a conflict took no revision and no event id
                  reads.revisions.addAll(longs(rs.getArray(4)));
                  reads.eventIds.addAll(longs(rs.getArray(5)));
                }
              }
            } else if (result == Result.CHECK) {
              try (ResultSet rs = resultSet(ps, isQuery)) {
                if (!rs.next()) {
                  throw new SQLException("expected the row of the commit's expectation check", "XX000");
                }
                reads.commitMicros = rs.getLong(1);
                reads.failed = rs.getInt(2);
                reads.actual = rs.getLong(3);
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

  /** @return the elements of a {@code BIGINT[]} result, in order */
  private static List<Long> longs(Array array) throws SQLException {
    try {
      Object[] values = (Object[]) array.getArray();
      List<Long> out = new ArrayList<>(values.length);
      for (Object v : values) {
        if (!(v instanceof Long l)) {
          throw new SQLException("expected BIGINT values, got " + Arrays.toString(values), "XX000");
        }
        out.add(l);
      }
      return out;
    } finally {
      array.free();
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
    return INVALID_TEXT_REPRESENTATION.equals(e.getSQLState()) && e.getMessage() != null
        && e.getMessage().contains(ROW_COUNT_FAILED);
  }

  /**
   * The statements applying a commit's changes, in order, without COMMIT.
   *
   * @param ts the commit's time, bound into the events; empty for a one-round-trip commit: then the time comes from
   *     the setting its check left, and the xid, the index changes and the events are made only if that check held
   *     ({@link #HELD}; the writes given carry that condition themselves)
   * @param templates for a one-round-trip commit, the templates {@code events} are: each marker in an event's details
   *     becomes the decimal text of the revision its write took, read back from the record the trip changed before
   * @param written the commit's writes, whose keys the templates' markers name by position
   */
  private List<Part> parts(List<Part> writes, IndexWrites index, List<NewEvent> events, Optional<Instant> ts,
      Optional<EventTemplates> templates, List<Write> written) {
    boolean guarded = ts.isEmpty();
    List<Part> parts = new ArrayList<>();
    if (!events.isEmpty() && (!guarded || writes.isEmpty())) {
      // the xid exists before the first event id is taken (EventHorizon relies on it), even with no row written; a
      // one-round-trip commit's writes each change one row before its events (or it fails), which assigns the xid
      parts.add(new Part(guarded ? "SELECT CASE WHEN " + HELD + " THEN pg_current_xact_id() END"
          : "SELECT pg_current_xact_id()", 0, (ps, p) -> p));
    }
    parts.addAll(writes);
    for (List<RecordKey> keys : index.deletes()) {
      parts.add(new Part(guarded ? sql.deleteIndexEntriesIf(keys.size(), HELD) : sql.deleteIndexEntries(keys.size()),
          keys.size() * IndexWrites.KEY_PARAMETERS, (ps, first) -> IndexWrites.bindKeys(ps, first, keys)));
    }
    int entriesPerInsert = Math.max(1, dialect.maxParameters() / IndexWrites.ROW_PARAMETERS);
    for (List<IndexWrites.Row> rows : IndexWrites.chunks(index.rows, entriesPerInsert)) {
      parts.add(new Part(guarded ? sql.insertIndexEntriesIf(rows.size(), HELD) : sql.insertIndexEntries(rows.size()),
          rows.size() * IndexWrites.ROW_PARAMETERS, (ps, first) -> IndexWrites.bindRows(ps, first, rows)));
    }
    List<List<Integer>> markers = templates.map(EventTemplates::markers)
        .orElseGet(() -> Collections.nCopies(events.size(), List.of()));
    for (int from = 0, to; from < events.size(); from = to) {
      // as many events per insert as the driver's parameters allow; their ids ascend in the rows' order
      StringBuilder insert = new StringBuilder(guarded ? insertEventsAtCommitTime : insertEvents);
      int parameters = 0;
      for (to = from; to < events.size(); to++) {
        List<Integer> named = markers.get(to);
        int row = (guarded ? EVENT_PARAMETERS - 1 : EVENT_PARAMETERS) + 2 * named.size();
        if (to > from && parameters + row > dialect.maxParameters()) {
          break;
        }
        insert.append(to > from ? ", " : "")
            .append(guarded ? eventRowAtCommitTimeStart + details(named) + ")" : eventRow);
        parameters += row;
      }
      insert.append(guarded ? ") AS v WHERE " + HELD : "").append(" RETURNING id");
      List<NewEvent> chunk = events.subList(from, to);
      int first = from;
      parts.add(new Part(insert.toString(), parameters, (ps, p) -> {
        for (int e = 0; e < chunk.size(); e++) {
          if (!guarded) {
            p = bindEvent(ps, p, chunk.get(e), ts.get());
            continue;
          }
          p = bindEventAtCommitTime(ps, p, chunk.get(e));
          for (int i : markers.get(first + e)) {
            ps.setString(p++, written.get(i).key().collection());
            ps.setString(p++, written.get(i).key().id());
          }
        }
        return p;
      }, Result.EVENT_IDS));
    }
    return parts; // no NOTIFY: it would serialize the commits (CommitNotifier sends it after them)
  }

  /**
   * @param markers the writes whose revisions an event's details name ({@link EventTemplates}), or none
   * @return the expression of the details: the bound text, each marker replaced by the decimal text of the revision its
   *     write took, read back from the record the trip changed before
   */
  private String details(List<Integer> markers) {
    if (markers.isEmpty()) {
      return "?";
    }
    String details = "CAST(? AS TEXT)";
    for (int i : markers) {
      details = "replace(" + details + ", chr(1) || '" + i + "' || chr(2), " + revisionText + ")";
    }
    return details;
  }

  /** @return the writes as statements, each conditional one checked on the server ({@link #checkedOnServer}) */
  private static List<Part> writeParts(List<WriteStatement> writes) {
    List<Part> parts = new ArrayList<>(writes.size());
    for (WriteStatement w : writes) {
      parts.add(new Part(w.conditional() ? checkedOnServer(w.sql) : w.sql, w.parameters(), w::bind));
    }
    return parts;
  }

  /**
   * Binds one event's columns after its id and time: event_type, actor, target, details.
   *
   * @return the next parameter's index
   */
  private static int bindEventAtCommitTime(PreparedStatement ps, int p, NewEvent e) throws SQLException {
    ps.setString(p, e.type());
    ps.setString(p + 1, e.actor());
    ps.setString(p + 2, e.target());
    ps.setString(p + 3, e.detailsJson());
    return p + 4;
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
