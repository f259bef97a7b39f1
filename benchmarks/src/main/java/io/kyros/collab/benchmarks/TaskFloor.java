package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;

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
 * only combining the operations of several threads into one commit could go below it.
 *
 * <p>Thread-safe: each call borrows a connection of its own.
 */
final class TaskFloor {
  private static final String TASKS = "bench_floor_tasks";
  private static final String EVENTS = "bench_floor_task_events";
  private static final String CLAIM = "WITH t AS (SELECT id FROM " + TASKS + " WHERE status = 'queued' ORDER BY"
      + " priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED), c AS (UPDATE " + TASKS + " k SET status ="
      + " 'claimed', holder = ?, fence = k.fence + 1, expires_at = clock_timestamp() + make_interval(secs => ?) FROM t"
      + " WHERE k.id = t.id RETURNING k.id, k.holder, k.fence, k.expires_at), e AS (INSERT INTO " + EVENTS
      + " (ts, event_type, actor, target, details) SELECT clock_timestamp(), 'task_claimed', holder, 'tasks/' || id,"
      + " json_build_object('expiresAt', expires_at, 'fence', fence, 'holder', holder)::text FROM c)"
      + " SELECT id, fence FROM c";
  private static final String COMPLETE = "WITH c AS (UPDATE " + TASKS + " SET status = 'done', expires_at = NULL"
      + " WHERE id = ? AND status = 'claimed' AND fence = ? RETURNING id, holder, fence), e AS (INSERT INTO " + EVENTS
      + " (ts, event_type, actor, target, details) SELECT clock_timestamp(), 'task_completed', holder, 'tasks/' || id,"
      + " json_build_object('fence', fence, 'holder', holder, 'status', 'done')::text FROM c) SELECT count(*) FROM c";

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
