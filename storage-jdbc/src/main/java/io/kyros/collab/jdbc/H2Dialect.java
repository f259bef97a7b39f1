package io.kyros.collab.jdbc;

import java.sql.SQLException;

/** H2 2.x: MERGE for upserts, a plain insert whose duplicate key leaves the transaction usable. */
final class H2Dialect implements Dialect {
  /** LOCK_TIMEOUT_1, DEADLOCK_1 and CONCURRENT_UPDATE_1 in org.h2.api.ErrorCode. */
  private static final int LOCK_TIMEOUT = 50200;
  private static final int DEADLOCK = 40001;
  private static final int CONCURRENT_UPDATE = 90131;

  @Override
  public JdbcDialect kind() {
    return JdbcDialect.H2;
  }

  @Override
  public String currentTimeMicros() {
    // EXTRACT(EPOCH ...) of a TIMESTAMP WITH TIME ZONE is zone-independent (DATEDIFF would use the local fields)
    return "SELECT CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP(6)) * 1000000 AS BIGINT)";
  }

  @Override
  public String upsert(Tables t) {
    return "MERGE INTO " + t.records() + " (collection, id, revision, hash, value_json) KEY (collection, id)"
        + " VALUES (?, ?, ?, ?, ?)";
  }

  @Override
  public boolean insertIfAbsentRaisesOnConflict() {
    // a plain insert: a duplicate key fails the statement only, and the transaction stays usable
    return true;
  }

  @Override
  public boolean isLockTimeout(SQLException e) {
    return e.getErrorCode() == LOCK_TIMEOUT;
  }

  @Override
  public String boundLockWait(long millis) {
    // a session setting in H2 2.x (it neither commits nor is rolled back): every commit sets it anew
    return "SET LOCK_TIMEOUT " + millis;
  }

  @Override
  public boolean isRetryable(SQLException e) {
    int code = e.getErrorCode();
    return code == LOCK_TIMEOUT || code == DEADLOCK || code == CONCURRENT_UPDATE || Dialect.super.isRetryable(e);
  }

  @Override
  public IndexPageStart indexPageStart() {
    return IndexPageStart.TWO_RANGES;
  }

  @Override
  public IndexScansTogether indexScansTogether() {
    return IndexScansTogether.ONE_BY_ONE;
  }

  @Override
  public boolean pagesOrderedByWholeKey() {
    return true;
  }

  @Override
  public EntryDeletes entryDeletes() {
    return EntryDeletes.ONE_RECORD_PER_STATEMENT;
  }
}
