package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The floor of a task claim + complete on PostgreSQL when each operation commits on its own: the least SQL that keeps
 * what Collab's claim and completion guarantee (the best queued task by priority, then age, then id; a fencing token
 * and an expiry on the database's clock; a completion refused to a stale fence; each change recorded by an event in
 * the same commit). Each operation is <em>one</em> statement in one auto-commit transaction:
 * <pre>
 * claim:    WITH t AS (SELECT id ... WHERE status = 'queued' ORDER BY priority DESC, created_at, id LIMIT 1
 *                      FOR UPDATE SKIP LOCKED),
 *                c AS (UPDATE ... SET status = 'claimed', holder, fence = fence + 1, expires_at FROM t ...),
 *                e AS (INSERT INTO events ... SELECT ... FROM c)
 *           SELECT id, fence FROM c
 * complete: WITH c AS (UPDATE ... SET status = 'done' WHERE id = ? AND status = 'claimed' AND fence = ?),
 *                e AS (INSERT INTO events ... SELECT ... FROM c)
 *           SELECT count(*) FROM c
 * </pre>
 * The lease is a column of the task row (Collab keeps it as a record of its own), and dependencies, labels and
 * {@code notBefore} are left out. So it bounds any design that commits each claim and each completion separately;
 * only combining operations into one commit could go below it.
 *
 * <p>Two more floors combine them, as far as each operation keeps a result of its own:
 * <ul>
 *   <li>{@link #claimBatch}: the claim statement above with {@code LIMIT ?}, so one commit claims up to that many
 *       tasks, each with its event (the commit shape of db-scheduler's lock-and-fetch, which picks many executions
 *       per statement and deletes each finished one in a commit of its own);</li>
 *   <li>{@link #completeAll}: the completion statement above once per claim, sent together (a JDBC batch, one round
 *       trip) in one transaction, then COMMIT: one commit completes them all, each with its event; a claim whose fence
 *       is stale changes nothing and is reported, the others still complete (what a group commit keeping a result per
 *       operation does).</li>
 * </ul>
 *
 * <p>Thread-safe: each call borrows a connection of its own.
 */
final class TaskFloor {
  private static final String TASKS = "bench_floor_tasks";
  private static final String EVENTS = "bench_floor_task_events";
  /** The claim of the best queued task; its parameters: holder, ttl in seconds. */
  private static final String CLAIM = claim("1");
  /** The claim of up to as many of the best queued tasks as its first parameter says; then holder, ttl. */
  private static final String CLAIM_BATCH = claim("?");
  /** A completion's change of the task row; its parameters: id, fence. */
  private static final String COMPLETE_CHANGE = "UPDATE " + TASKS + " SET status = 'done', expires_at = NULL WHERE"
      + " id = ? AND status = 'claimed' AND fence = ? RETURNING id, holder, fence";
  /** A completion's event, for the row {@code c} returns. */
  private static final String COMPLETE_EVENT = "INSERT INTO " + EVENTS + " (ts, event_type, actor, target, details)"
      + " SELECT clock_timestamp(), 'task_completed', holder, 'tasks/' || id, json_build_object('fence', fence,"
      + " 'holder', holder, 'status', 'done')::text FROM c";
  private static final String COMPLETE = "WITH c AS (" + COMPLETE_CHANGE + "), e AS (" + COMPLETE_EVENT
      + ") SELECT count(*) FROM c";
  /** The completion of one claim of several in one transaction: the number of rows it changes is 1 if it completed. */
  private static final String COMPLETE_IN_GROUP = "WITH c AS (" + COMPLETE_CHANGE + ") " + COMPLETE_EVENT;

  private static String claim(String limit) {
    return "WITH t AS (SELECT id FROM " + TASKS + " WHERE status = 'queued' ORDER BY priority DESC, created_at, id"
        + " LIMIT " + limit + " FOR UPDATE SKIP LOCKED), c AS (UPDATE " + TASKS + " k SET status = 'claimed', holder ="
        + " ?, fence = k.fence + 1, expires_at = clock_timestamp() + make_interval(secs => ?) FROM t WHERE k.id = t.id"
        + " RETURNING k.id, k.holder, k.fence, k.expires_at), e AS (INSERT INTO " + EVENTS + " (ts, event_type, actor,"
        + " target, details) SELECT clock_timestamp(), 'task_claimed', holder, 'tasks/' || id, json_build_object("
        + "'expiresAt', expires_at, 'fence', fence, 'holder', holder)::text FROM c) SELECT id, fence FROM c";
  }

  /** A claimed task: its id and fencing token. */
  record Claim(String id, long fence) {}

  private final HikariDataSource pool;
  private final String holder;
  private final Duration ttl;

  /**
   * Creates the floor's tables anew.
   *
   * @param pool the benchmark's pool on PostgreSQL
   * @param holder who claims the tasks
   * @param ttl the claims' time to live
   */
  TaskFloor(HikariDataSource pool, String holder, Duration ttl) {
    this.pool = pool;
    this.holder = holder;
    this.ttl = ttl;
    BenchDatabase.POSTGRESQL.execute(pool, "DROP TABLE IF EXISTS " + TASKS + ", " + EVENTS,
        "CREATE TABLE " + TASKS + " (id VARCHAR(128) PRIMARY KEY, title TEXT NOT NULL, status VARCHAR(16) NOT NULL,"
            + " priority INT NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL, holder TEXT, fence BIGINT NOT"
            + " NULL, expires_at TIMESTAMP WITH TIME ZONE)",
        "CREATE INDEX " + TASKS + "_queued ON " + TASKS + " (priority DESC, created_at, id) WHERE status = 'queued'",
        "CREATE TABLE " + EVENTS + " (id BIGSERIAL PRIMARY KEY, ts TIMESTAMP WITH TIME ZONE NOT NULL,"
            + " event_type TEXT NOT NULL, actor TEXT NOT NULL, target TEXT NOT NULL, details TEXT NOT NULL)");
  }

  /**
   * Removes what the previous backlog left and queues a new one, each task with its creation event, in one
   * statement.
   *
   * @param round the backlog's number, part of the ids
   * @param tasks how many tasks
   */
  void backlog(int round, int tasks) {
    BenchDatabase.POSTGRESQL.execute(pool, "DELETE FROM " + TASKS, "DELETE FROM " + EVENTS,
        "WITH n AS (INSERT INTO " + TASKS + " (id, title, status, priority, created_at, fence) SELECT 'r" + round
            + "-' || i, 'no-op ' || i, 'queued', 0, clock_timestamp(), 0 FROM generate_series(0, " + (tasks - 1)
            + ") AS i RETURNING id) INSERT INTO " + EVENTS + " (ts, event_type, actor, target, details) SELECT"
            + " clock_timestamp(), 'task_created', 'bench', 'tasks/' || id, '{}' FROM n");
  }

  /**
   * Claims the best queued task.
   *
   * @return the claim, or empty if no queued task is left that another claim does not hold locked
   * @throws SQLException if the database fails
   */
  Optional<Claim> claimNext() throws SQLException {
    try (Connection c = pool.getConnection(); PreparedStatement ps = c.prepareStatement(CLAIM)) {
      ps.setString(1, holder);
      ps.setLong(2, ttl.toSeconds());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new Claim(rs.getString(1), rs.getLong(2))) : Optional.empty();
      }
    }
  }

  /**
   * Claims up to {@code max} of the best queued tasks in one statement (one commit), each with its event.
   *
   * @param max the most tasks to claim, positive
   * @return the claims, in no particular order; empty if no queued task is left that another claim does not hold
   *     locked
   * @throws SQLException if the database fails
   */
  List<Claim> claimBatch(int max) throws SQLException {
    List<Claim> out = new ArrayList<>(max);
    try (Connection c = pool.getConnection(); PreparedStatement ps = c.prepareStatement(CLAIM_BATCH)) {
      ps.setInt(1, max);
      ps.setString(2, holder);
      ps.setLong(3, ttl.toSeconds());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new Claim(rs.getString(1), rs.getLong(2)));
        }
      }
    }
    return out;
  }

  /**
   * Completes claimed tasks in one transaction (one round trip for the statements, one for COMMIT), each with its
   * event; a claim whose task is no longer claimed with its fence is left out, the others complete.
   *
   * @param claims the claims
   * @return the ids of the tasks completed
   * @throws SQLException if the database fails
   */
  Set<String> completeAll(List<Claim> claims) throws SQLException {
    Set<String> done = new HashSet<>();
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false); // Hikari restores auto-commit when the connection goes back to the pool
      try (PreparedStatement ps = c.prepareStatement(COMPLETE_IN_GROUP)) {
        for (Claim claim : claims) {
          ps.setString(1, claim.id());
          ps.setLong(2, claim.fence());
          ps.addBatch();
        }
        int[] counts = ps.executeBatch();
        c.commit();
        for (int i = 0; i < counts.length; i++) {
          if (counts[i] > 0) { // the event's insert: 1 if the fenced update changed the task, else 0
            done.add(claims.get(i).id());
          }
        }
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
        } catch (SQLException rollbackFailed) {
          e.addSuppressed(rollbackFailed);
        }
        throw e;
      }
    }
    return done;
  }

  /**
   * Completes a claimed task.
   *
   * @param claim the claim
   * @throws SQLException if the database fails
   * @throws IllegalStateException if the task was not claimed with that fence
   */
  void complete(Claim claim) throws SQLException {
    try (Connection c = pool.getConnection(); PreparedStatement ps = c.prepareStatement(COMPLETE)) {
      ps.setString(1, claim.id());
      ps.setLong(2, claim.fence());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next() || rs.getLong(1) != 1) {
          throw new IllegalStateException("the floor did not complete " + claim);
        }
      }
    }
  }
}
