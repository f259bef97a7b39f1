package io.kyros.collab.jdbc;

import java.sql.SQLException;

/**
 * MariaDB 10.6+ and MySQL 8: epoch microseconds by datetime arithmetic on UTC_TIMESTAMP(6) (no session time
 * zone involved), ON DUPLICATE KEY UPDATE, a plain insert whose duplicate key leaves the transaction usable.
 */
final class MariaDbDialect implements Dialect {
  /** ER_LOCK_DEADLOCK and ER_LOCK_WAIT_TIMEOUT. */
  private static final int DEADLOCK = 1213;
  private static final int LOCK_WAIT_TIMEOUT = 1205;
  private static final int DUPLICATE_KEY = 1062;

  private final JdbcDialect kind;

  MariaDbDialect(JdbcDialect kind) {
    this.kind = kind;
  }

  @Override
  public JdbcDialect kind() {
    return kind;
  }

  @Override
  public String currentTimeMicros() {
    return "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))";
  }

  @Override
  public String upsert(Tables t) {
    return Dialect.insertRecord(t)
        + " ON DUPLICATE KEY UPDATE revision = VALUES(revision), hash = VALUES(hash), value_json = VALUES(value_json)";
  }

  @Override
  public boolean entryPagesFirst() {
    return true;
  }

  @Override
  public IndexScansTogether indexScansTogether() {
    return IndexScansTogether.RECORDS_JOINED_TO_UNITED_PAGES;
  }

  @Override
  public boolean insertIfAbsentRaisesOnConflict() {
    // a plain insert: a duplicate key fails the statement only, and the transaction stays usable
    return true;
  }

  @Override
  public boolean isUniqueViolation(SQLException e) {
    return e.getErrorCode() == DUPLICATE_KEY;
  }

  @Override
  public boolean isRetryable(SQLException e) {
    return "40001".equals(e.getSQLState()) || e.getErrorCode() == DEADLOCK || e.getErrorCode() == LOCK_WAIT_TIMEOUT;
  }

  @Override
  public boolean isLockTimeout(SQLException e) {
    return e.getErrorCode() == LOCK_WAIT_TIMEOUT;
  }

  @Override
  public String boundLockWait(long millis) {
    // whole seconds, at least 1; a session setting, so every commit sets it anew on the pooled connection
    return "SET SESSION innodb_lock_wait_timeout = " + Math.max(1L, (millis + 999L) / 1000L);
  }
}
