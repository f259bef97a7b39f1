package io.kyros.collab.jdbc;

import java.sql.SQLException;

/**
 * SQLite through the xerial driver: one writer at a time by the database lock, taken by a write as the
 * transaction's first statement (a deferred transaction that reads first could not upgrade to writing once
 * another connection has written, SQLITE_BUSY_SNAPSHOT); millisecond clock.
 */
final class SqliteDialect implements Dialect {
  private static final int BUSY = 5;
  private static final int LOCKED = 6;
  private static final int CONSTRAINT = 19;

  @Override
  public JdbcDialect kind() {
    return JdbcDialect.SQLITE;
  }

  @Override
  public String currentTimeMicros() {
    // julianday('now') is UTC with millisecond precision
    return "SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) * 1000";
  }

  @Override
  public String[] lockCounters(Tables t) {
    return new String[] {
        "UPDATE " + t.meta() + " SET last_revision = last_revision WHERE id = 1",
        "SELECT last_revision, last_event_id FROM " + t.meta() + " WHERE id = 1"};
  }

  @Override
  public boolean isUniqueViolation(SQLException e) {
    return (e.getErrorCode() & 0xff) == CONSTRAINT;
  }

  @Override
  public boolean isRetryable(SQLException e) {
    int primary = e.getErrorCode() & 0xff;
    return primary == BUSY || primary == LOCKED;
  }

  @Override
  public boolean commitRefused(SQLException e) {
    // a COMMIT that cannot get the EXCLUSIVE lock (a reader holds SHARED, rollback-journal mode) fails with BUSY and
    // leaves the transaction open: it committed nothing, and the caller rolls it back
    return isRetryable(e);
  }

  @Override
  public IndexPageStart indexPageStart() {
    return IndexPageStart.ROW_VALUE;
  }

  @Override
  public IndexScansTogether indexScansTogether() {
    return IndexScansTogether.ONE_BY_ONE;
  }

  @Override
  public String indexTableForRecordEntries(Tables t) {
    // the unique key (collection, record_id, index_name), the second constraint of the table (V3__collab_index.sql):
    // SQLite names a constraint's index sqlite_autoindex_<table>_<its position among the table's constraints>
    return t.index() + " INDEXED BY sqlite_autoindex_" + t.index() + "_2";
  }
}
