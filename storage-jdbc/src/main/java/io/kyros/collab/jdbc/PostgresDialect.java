package io.kyros.collab.jdbc;

import java.sql.SQLException;

/** PostgreSQL 13+: epoch microseconds from clock_timestamp(), ON CONFLICT, statements sent together, LISTEN/NOTIFY. */
final class PostgresDialect implements Dialect {
  /** lock_not_available, raised when lock_timeout expires. */
  private static final String LOCK_NOT_AVAILABLE = "55P03";

  @Override
  public JdbcDialect kind() {
    return JdbcDialect.POSTGRESQL;
  }

  @Override
  public String currentTimeMicros() {
    // clock_timestamp() is the wall clock at the call (now() would be the transaction's start), as timestamptz: UTC
    return "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";
  }

  @Override
  public boolean isRetryable(SQLException e) {
    return isLockTimeout(e) || Dialect.super.isRetryable(e);
  }

  @Override
  public boolean isLockTimeout(SQLException e) {
    return LOCK_NOT_AVAILABLE.equals(e.getSQLState());
  }

  @Override
  public String boundLockWait(long millis) {
    // SET LOCAL: for this transaction only, so the pooled connection keeps its own setting
    return "SET LOCAL lock_timeout = '" + millis + "ms'";
  }

  @Override
  public boolean sendsStatementsTogether() {
    return true;
  }

  @Override
  public boolean parallelCommits() {
    return true;
  }

  @Override
  public int maxParameters() {
    // the driver sends the count as an unsigned 16-bit number, and refuses more
    return 65_535;
  }

  @Override
  public IndexPageStart indexPageStart() {
    return IndexPageStart.ROW_VALUE;
  }

  @Override
  public boolean lateralIndexPages() {
    return true;
  }

  @Override
  public String schemaLock(Tables t) {
    // concurrent CREATE TABLE IF NOT EXISTS races in the catalog (23505 on pg_type, 42P07): one script at a time
    return "SELECT pg_advisory_xact_lock(" + ("collab-schema:" + t.prefix()).hashCode() + ")";
  }

  @Override
  public boolean supportsNotify() {
    return true;
  }

  /**
   * {@inheritDoc}
   *
   * <p>{@code pg_notify} with {@code synchronous_commit} off for its own transaction: a NOTIFY gets a transaction id
   * and a commit record, and without this its commit would wait for a WAL flush of its own (see
   * {@link CommitNotifier}). The channel is the lower-case identifier {@code LISTEN} folds to.
   */
  @Override
  public String notifyEvents(Tables t) {
    return "SELECT set_config('synchronous_commit', 'off', true), pg_notify('" + eventChannel(t) + "', '')";
  }

  @Override
  public String eventChannel(Tables t) {
    return t.prefix() + "collab_events";
  }
}
