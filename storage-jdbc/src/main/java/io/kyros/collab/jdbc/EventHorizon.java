package io.kyros.collab.jdbc;

import io.kyros.collab.spi.StoredEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Reading PostgreSQL's log while commits run in parallel ({@link InlineCommit}): event ids come from a sequence, so a
 * commit may make id 11 visible while id 10 is still in flight, or never (a rollback, a crash, a sequence's values
 * logged ahead). A reader must not pass 10 before it knows which. It returns events in id order and never steps over a
 * missing id unless that id is <em>settled</em>: known never to become visible later.
 *
 * <p>Why it is correct (docs/jdbc.md, "Tailing while commits run in parallel", has the long form):
 * <ol>
 *   <li>Writers: a commit has its transaction id (xid) before it takes an event id ({@code pg_current_xact_id()}
 *       ahead of the insert, or a write that changed a row), and the event sequence has {@code CACHE 1}, so its
 *       {@code last_value} is the largest id handed out to anyone.</li>
 *   <li>A visible run without holes is safe: if every id in {@code after+1 .. k} is visible, they are all committed,
 *       and no id below {@code k} can appear later. That is the fast path, and needs nothing else.</li>
 *   <li>To settle ids, a reader <em>marks</em>: it reads {@code last_value} = {@code L}, and then, in a later
 *       statement, takes an xid of its own, {@code X}. Every id up to {@code L} was taken before L was read, by a
 *       transaction whose xid was assigned before that, hence smaller than X (xids are handed out in increasing
 *       order). Once a later snapshot has {@code xmin > X}, every transaction with an xid up to X has ended: each id
 *       up to L is then visible to that snapshot and every later one, or never will be. The mark is <em>pending</em>
 *       until some read's snapshot shows that; then everything up to L is settled. (The snapshot's {@code xmax} and
 *       {@code xip} are not enough: a transaction that took its xid before the snapshot but after the newest
 *       completed one is running, yet neither in {@code xip} nor below {@code xmax}.)</li>
 *   <li>The settled bound only grows, and a read uses the bound known before its own snapshot was taken (the
 *       horizon is read in the statement before the events, each statement with a fresh snapshot at READ
 *       COMMITTED, or at a stricter level the same one, the two statements being one round trip and so one
 *       transaction (with pgjdbc's {@code preferQueryMode=simple}, two: then a newer one): either way not older).
 *       A later round trip of the same read must be a transaction of its own (a newer snapshot), which
 *       {@link Transactions} ensures by running PostgreSQL's reads in auto-commit: in one transaction at a stricter
 *       level, a second look would pair the first look's snapshot with a bound another reader had advanced
 *       meanwhile, and skip an event.</li>
 * </ol>
 * A run settles too: a look of {@link #last} that walked from the bound {@code s0} and found every id in
 * {@code s0+1 .. k} visible raises the bound to {@code k}: as in 2, each id up to {@code k} is visible to every later
 * snapshot, or settled already, so no mark or xmin is needed. The next look walks only what was appended since, not
 * the whole log since the bound last moved (in a log without gaps nothing else would move it). A look walks at most
 * {@link #WALK} ids before it settles them, marks (when none is pending) and looks again, which in a quiet database
 * settles everything handed out so far in one jump; after {@link #SHORT_WALKS} such looks (a long transaction in the
 * cluster holding the mark back) it walks to the run's end in one statement.
 *
 * <p>A read blocked at a missing id that is not settled returns what comes before it; when no mark is pending it marks
 * (one round trip and one xid) and looks once more, so in a quiet database a permanent gap costs one extra look. The
 * price: settling waits for every transaction of the cluster that had an xid when the mark was made, so a long
 * transaction anywhere in the cluster delays readers past a permanent gap (not past in-flight commits, which become
 * visible by themselves), like a logical replication slot. A sequence that went back (reset outside Collab) clears
 * the settled bound.
 *
 * <p>Thread-safe: the settled bound and the pending mark are atomics shared by the storage's readers.
 */
final class EventHorizon {
  /** A mark: every id up to {@code upTo} is settled once a snapshot's xmin passes {@code xid}. */
  private record Pending(long upTo, long xid) {}

  /** The most ids one look of {@link #last} walks from the settled bound before it settles them and looks again. */
  static final int WALK = 1024;
  /** Looks of {@link #last} with a walk that stops at {@link #WALK} ids; the next one walks to the run's end. */
  static final int SHORT_WALKS = 8;
  /** What the walk of {@link #last} returns when the run goes on past its end. */
  private static final long RUN_GOES_ON = -1;

  private final AtomicLong settled = new AtomicLong();
  private final AtomicReference<Pending> pending = new AtomicReference<>();
  private volatile boolean bootstrapped;
  private final String horizon;
  private final String readEvents;
  private final String last;
  private final String mark;

  EventHorizon(Tables t) {
    String lastValue = "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END";
    horizon = lastValue + ", CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT) FROM "
        + t.eventSequence();
    readEvents = horizon + "; SELECT id, ts_micros, event_type, actor, target, details FROM " + t.events()
        + " WHERE id > ? ORDER BY id LIMIT ?";
    String ev = t.events();
    // the largest visible id, and the end of the visible run from the settled bound on (the largest visible id not
    // above the bound if the run is empty), or -1 if the run goes on past the walk's end (the third parameter): the
    // walk visits at most the ids from the bound to that end
    last = horizon + "; SELECT (SELECT MAX(id) FROM " + ev + "), CASE WHEN EXISTS (SELECT 1 FROM " + ev
        + " WHERE id = ?) THEN COALESCE((SELECT e.id FROM " + ev + " e WHERE e.id > ? AND e.id <= ? AND NOT EXISTS"
        + " (SELECT 1 FROM " + ev + " f WHERE f.id = e.id + 1) ORDER BY e.id LIMIT 1), " + RUN_GOES_ON
        + ") ELSE (SELECT MAX(id) FROM " + ev + " WHERE id <= ?) END";
    mark = lastValue + " FROM " + t.eventSequence() + "; SELECT CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)";
  }

  /**
   * Reads events after a position, in id order, stopping before the first missing id that is not settled.
   *
   * @param c a connection in auto-commit (as {@link Transactions} runs PostgreSQL's reads): each round trip must be a
   *     transaction of its own, see the class description
   * @param after the exclusive position
   * @param limit the most events
   * @return the events
   * @throws SQLException if the database fails
   */
  List<StoredEvent> read(Connection c, long after, int limit) throws SQLException {
    for (int round = 0; ; round++) {
      long s0 = settled.get();
      Pending p0 = pending.get();
      List<StoredEvent> rows = new ArrayList<>();
      long s;
      try (PreparedStatement ps = c.prepareStatement(readEvents)) {
        ps.setLong(1, after);
        ps.setInt(2, limit);
        s = advance(ps, s0, p0);
        try (ResultSet rs = nextResult(ps)) {
          while (rs.next()) {
            rows.add(new StoredEvent(rs.getLong(1), DatabaseClock.instant(rs.getLong(2)), rs.getString(3),
                rs.getString(4), rs.getString(5), rs.getString(6)));
          }
        }
      }
      List<StoredEvent> out = new ArrayList<>(rows.size());
      long prev = after;
      boolean blocked = false;
      for (StoredEvent e : rows) {
        if (e.id() != prev + 1 && e.id() - 1 > s) {
          blocked = true; // a missing id below e that may still appear
          break;
        }
        out.add(e);
        prev = e.id();
      }
      if (!blocked || !out.isEmpty() || round > 0 || !mark(c)) {
        return out;
      }
    }
  }

  /**
   * Finds the end of the readable run, walking from the settled bound, and settles the run it walked: the next call
   * walks only what was appended since (at most {@link #WALK} ids a look; see the class description).
   *
   * @param c a connection in auto-commit, as for {@link #read}
   * @return the id of the last event {@link #read} can return now: the end of the readable run, 0 if none
   * @throws SQLException if the database fails
   */
  long last(Connection c) throws SQLException {
    if (!bootstrapped) {
      // a new storage settles what exists before scanning for holes from 0 (in a quiet database this settles all)
      bootstrapped = true;
      if (mark(c)) {
        try (PreparedStatement ps = c.prepareStatement(horizon)) {
          advance(ps, settled.get(), pending.get());
        }
      }
    }
    int round = 0;
    for (int look = 0; ; look++) {
      long s0 = settled.get();
      Pending p0 = pending.get();
      long end = look < SHORT_WALKS && s0 < Long.MAX_VALUE - WALK ? s0 + WALK : Long.MAX_VALUE;
      long max;
      long readable;
      long s;
      try (PreparedStatement ps = c.prepareStatement(last)) {
        ps.setLong(1, s0 + 1);
        ps.setLong(2, s0);
        ps.setLong(3, end);
        ps.setLong(4, s0);
        s = advance(ps, s0, p0);
        try (ResultSet rs = nextResult(ps)) {
          rs.next();
          max = rs.getLong(1);
          readable = rs.getLong(2); // 0 if null: no event at all up to the bound
        }
      }
      if (readable == RUN_GOES_ON) {
        // s0+1 .. end+1 are all visible (each id up to end has its successor): settle them, and when no bound came
        // with this look, mark, so that a later look can settle everything handed out so far at once
        settleRun(s0, s, end + 1);
        if (s == s0) {
          mark(c);
        }
        continue;
      }
      if (readable > s0) {
        settleRun(s0, s, readable);
      }
      if (readable >= max || round > 1) {
        return readable >= max ? max : readable;
      }
      if (s == s0 && !mark(c)) {
        return readable;
      }
      round++;
    }
  }

  /**
   * Settles a run a look found: with the bound {@code s0} it read before its statements, that statement's snapshot
   * showed every id in {@code s0+1 .. k}, so every id up to {@code k} is visible to every later snapshot (committed;
   * events are never deleted) or, up to {@code s0}, settled. A read that takes the bound after this takes its snapshot
   * after that one.
   *
   * @param s0 the bound the look walked from
   * @param s the bound the look's horizon gave: below {@code s0} if the sequence went back, and then nothing is
   *     settled
   * @param k the end of the run
   */
  private void settleRun(long s0, long s, long k) {
    if (s >= s0) {
      // unless a look saw the sequence go back meanwhile (the bound fell below s0): then s0 itself no longer holds
      settled.getAndUpdate(now -> now >= s0 ? Math.max(now, k) : now);
    }
  }

  /**
   * Runs the statement (the horizon first), reads the horizon, and settles the pending mark if this snapshot shows it
   * can be.
   *
   * @return the settled bound this read may use
   */
  private long advance(PreparedStatement ps, long s0, Pending p0) throws SQLException {
    long lastValue;
    long xmin;
    if (!ps.execute()) {
      throw new SQLException("expected the read horizon as a result set", "XX000");
    }
    try (ResultSet rs = ps.getResultSet()) {
      rs.next();
      lastValue = rs.getLong(1);
      xmin = rs.getLong(2);
    }
    if (lastValue < s0 || (p0 != null && lastValue < p0.upTo())) {
      // the sequence went back (reset outside Collab): nothing known holds any more
      settled.set(0);
      pending.set(null);
      return 0;
    }
    if (p0 != null && xmin > p0.xid()) {
      settled.accumulateAndGet(p0.upTo(), Math::max);
      pending.compareAndSet(p0, null);
      return Math.max(s0, p0.upTo());
    }
    return s0;
  }

  /**
   * Marks, unless a mark is pending: reads the sequence's last value, then takes an xid (committed with the round
   * trip's implicit transaction).
   *
   * @return true if this call made the pending mark
   */
  private boolean mark(Connection c) throws SQLException {
    if (pending.get() != null) {
      return false;
    }
    try (PreparedStatement ps = c.prepareStatement(mark)) {
      if (!ps.execute()) {
        throw new SQLException("expected the event sequence's last value as a result set", "XX000");
      }
      long upTo;
      try (ResultSet rs = ps.getResultSet()) {
        rs.next();
        upTo = rs.getLong(1);
      }
      long xid;
      try (ResultSet rs = nextResult(ps)) {
        rs.next();
        xid = rs.getLong(1);
      }
      return pending.compareAndSet(null, new Pending(upTo, xid));
    }
  }

  private static ResultSet nextResult(PreparedStatement ps) throws SQLException {
    if (!ps.getMoreResults()) {
      throw new SQLException("expected a result set after the read horizon", "XX000");
    }
    return ps.getResultSet();
  }
}
