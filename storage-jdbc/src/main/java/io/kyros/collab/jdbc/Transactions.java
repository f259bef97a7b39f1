package io.kyros.collab.jdbc;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Backoff;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one operation as one short transaction on a connection borrowed from the {@link DataSource}, and always
 * returns the connection. Serialization failures, deadlocks, lock timeouts and busy databases (as the dialect
 * classifies them) roll back and run the whole operation again, with full-jitter backoff, until the retry
 * deadline; an interrupt ends the retrying. Every other {@link SQLException} becomes a {@link StorageException}
 * naming the operation and the SQLState, with the exception as its cause. A connection lost before COMMIT was sent
 * rolled the transaction back; one lost during COMMIT leaves the outcome unknown, and the message says which. A
 * COMMIT the database refused without ending the transaction (SQLite's BUSY) is rolled back and retried. A
 * connection whose rollback or auto-commit reset failed is aborted before it is closed, so that no pool hands out
 * a connection still inside a transaction.
 *
 * <p>{@link Mode#INLINE_WRITE} leaves an auto-commit connection in auto-commit: the work sends {@code BEGIN} as the
 * first statement of its first round trip ({@link Attempt#opening}) and {@code COMMIT} with its last, and the end
 * of the attempt sends {@code COMMIT} or {@code ROLLBACK} as a statement if the transaction is still open; or the
 * work sends one round trip without either, which the server runs as an implicit transaction
 * ({@link Attempt#implicitTransaction}). pgjdbc
 * sends the {@code BEGIN} of a connection not in auto-commit as a simple query ahead of the first statement, which
 * the server answers at once and separately: two responses, and two wake-ups of the waiting thread, per round trip
 * instead of one. Where commits run in parallel (PostgreSQL) every read and {@link Mode#INLINE_WRITE} runs in
 * auto-commit, whatever the pool's default: a connection handed out with auto-commit off has it turned on for the
 * attempt and back off after it (see {@link #once}); only a read-only one that writes keeps the driver's transaction.
 *
 * <p>Thread-safe.
 */
final class Transactions {
  private static final Logger LOG = LoggerFactory.getLogger(Transactions.class);
  private static final String UNKNOWN =
      "; the connection failed while committing, so whether the commit took effect is unknown";
  /** Retry pacing: full jitter from 1 ms, doubling, at most 100 ms. */
  private static final Backoff BACKOFF = new Backoff(Duration.ofMillis(1), Duration.ofMillis(100), Backoff.Jitter.FULL);

  /** Whether an operation only reads, or writes in a transaction of its own. */
  enum Mode {
    /**
     * Reads: auto-commit as the pool hands it out, a transaction already open committed at the end; always auto-commit
     * where commits run in parallel (PostgreSQL, see {@link #once}).
     */
    READ,
    /** Writes: auto-commit off, COMMIT at the end unless the work asked for a rollback. */
    WRITE,
    /**
     * Writes whose BEGIN travels with the work's first statements ({@link Attempt#opening}): auto-commit stays
     * on, and COMMIT (unless the work asked for a rollback) or ROLLBACK are statements, sent at the end only if the
     * work's own COMMIT has not ended the transaction. On a read-only connection, the same as {@link #WRITE} (pgjdbc's
     * {@code BEGIN READ ONLY}); a connection with auto-commit off is otherwise switched to auto-commit for the
     * attempt, where commits run in parallel (see {@link #once}).
     */
    INLINE_WRITE
  }

  /** Why a failure ends the operation instead of being retried; it decides what the message says about retries. */
  private enum Verdict {
    /** Not a failure running the transaction again could cure. */
    FINAL,
    /** Retryable, but the retry timeout has passed. */
    RETRIES_EXHAUSTED,
    /** A lock wait that timed out, retried until the retry timeout passed. */
    LOCK_TIMEOUT
  }

  /** The work of one attempt. */
  @FunctionalInterface
  interface Work<T> {
    T run(Attempt attempt) throws SQLException;
  }

  /** One attempt's connection, and whether it must roll back instead of committing. */
  static final class Attempt {
    final Connection connection;
    private boolean rollbackOnly;
    /** Set once COMMIT is sent: a failure from then on leaves the outcome unknown. */
    private boolean committing;
    /** Set when the connection may still be inside a transaction: it must not go back to the pool. */
    private boolean discard;
    /** Whether the work sends BEGIN itself: {@link Mode#INLINE_WRITE} on an auto-commit connection. */
    private boolean beginsInline;
    /** With {@link #beginsInline}: from the round trip carrying BEGIN until a COMMIT or ROLLBACK ended it. */
    private boolean open;
    /**
     * Without {@link #beginsInline}: no statement has been sent yet in the transaction the driver began (see
     * {@link #opening}).
     */
    private boolean driverTransactionFresh = true;
    private final long deadlineNanos;

    Attempt(Connection connection, long deadlineNanos) {
      this.connection = connection;
      this.deadlineNanos = deadlineNanos;
    }

    /**
     * @return how long a lock may be waited for in this attempt, in milliseconds: what is left of the retry
     *     timeout, at least 1
     */
    long lockWaitMillis() {
      // at most Integer.MAX_VALUE ms (24.8 days), the largest lock wait PostgreSQL and H2 accept; a longer wait is
      // a lock timeout, which is retried until the deadline
      long millis = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
      return Math.max(1L, Math.min(millis, Integer.MAX_VALUE));
    }

    /** Ends this attempt with a rollback instead of a commit (a failed expectation). */
    void rollbackOnly() {
      rollbackOnly = true;
    }

    /**
     * Marks that the work is about to send COMMIT itself, at the end of its last round trip: a failure of that
     * round trip leaves the outcome unknown (it is not retried). Afterwards the transaction is over, and the
     * driver's own commit at the end of the attempt is a no-op.
     */
    void committingInline() {
      committing = true;
    }

    /** Takes back {@link #committingInline()}: the server refused the work before its COMMIT ran. */
    void notCommitted() {
      committing = false;
    }

    /**
     * The statement the round trip about to be sent must start with, if any: {@code begin} once per transaction when
     * the work begins it itself ({@link Mode#INLINE_WRITE} on an auto-commit connection; from then on the transaction
     * counts as open, so the attempt ends it even if that round trip never reached the server: a ROLLBACK outside a
     * transaction only draws a warning); {@code setUp} before the first statement of a transaction the driver began
     * (again after a {@link #rollback}); otherwise none.
     *
     * @param begin the statement that begins a transaction, such as {@code BEGIN ISOLATION LEVEL READ COMMITTED}
     * @param setUp what must come first in a transaction the driver began, such as {@code SET TRANSACTION ISOLATION
     *     LEVEL READ COMMITTED}
     * @return the statement to put first in the next round trip, or empty
     */
    Optional<String> opening(String begin, String setUp) {
      if (beginsInline) {
        if (open) {
          return Optional.empty();
        }
        open = true;
        return Optional.of(begin);
      }
      if (!driverTransactionFresh) {
        return Optional.empty();
      }
      driverTransactionFresh = false;
      return Optional.of(setUp);
    }

    /**
     * Whether a round trip sent now, without BEGIN, may run as a transaction of its own: the work begins its
     * transactions itself ({@link Mode#INLINE_WRITE} on an auto-commit connection, not read-only) and none it began is
     * open. Necessary, not sufficient: the connection must also be outside any transaction on the server (one the pool
     * left open would take the round trip in), which the caller asks the driver ({@link DriverIdle}).
     * PostgreSQL runs the statements of one round trip of the extended protocol (up to its Sync) as one implicit
     * transaction, at the connection's default isolation level, which commits when they all succeeded and rolls back
     * at the first error; the transaction is not {@link #opening open} for the attempt, so its end sends nothing.
     *
     * @return whether the work may send its round trip without BEGIN and COMMIT
     */
    boolean implicitTransaction() {
      return beginsInline && !open;
    }

    /** The round trip carrying COMMIT returned: the transaction is over, nothing is left to end. */
    void endedInline() {
      open = false;
      driverTransactionFresh = true;
    }

    /**
     * Rolls the transaction back now: a {@code ROLLBACK} statement if the work began it (and it is open), else the
     * connection's rollback. The work may go on in a new transaction afterwards.
     *
     * @throws SQLException if the rollback fails
     */
    void rollback() throws SQLException {
      if (beginsInline) {
        endInline("ROLLBACK");
      } else {
        connection.rollback();
        driverTransactionFresh = true;
      }
    }

    /** Commits at the end of the work: a {@code COMMIT} statement if the work began it and it is open, else JDBC's. */
    private void commit() throws SQLException {
      if (beginsInline) {
        endInline("COMMIT");
      } else {
        connection.commit();
      }
    }

    /** Ends the transaction the work began, if it is open, with {@code COMMIT} or {@code ROLLBACK}. */
    private void endInline(String statement) throws SQLException {
      if (open) {
        try (Statement s = connection.createStatement()) {
          s.execute(statement);
        }
        open = false;
      }
    }
  }

  private final DataSource dataSource;
  private final Dialect dialect;
  private final long retryNanos;
  private final ConnectionDemand demand;

  Transactions(DataSource dataSource, Dialect dialect, Duration retryTimeout, ConnectionDemand demand) {
    this.dataSource = dataSource;
    this.dialect = dialect;
    // saturated: a timeout of centuries means "retry for ever" and must not wrap the deadlines computed from it
    long nanos;
    try {
      nanos = retryTimeout.toNanos();
    } catch (ArithmeticException e) {
      nanos = Long.MAX_VALUE;
    }
    this.retryNanos = Math.min(nanos, Long.MAX_VALUE / 4);
    this.demand = demand;
  }

  /** @return the retry timeout in nanoseconds, saturated (a timeout of centuries is at most a quarter of the range) */
  long retryNanos() {
    return retryNanos;
  }

  /**
   * Runs a read. With an auto-commit connection each round trip is a transaction of its own; otherwise the
   * transaction is committed at the end so no snapshot outlives the call. Where commits run in parallel (PostgreSQL)
   * reads always run in auto-commit ({@link #once}).
   */
  <T> T read(String operation, Work<T> work) {
    return run(operation, Mode.READ, work);
  }

  /** Runs a write transaction: auto-commit off, COMMIT at the end unless the work asked for a rollback. */
  <T> T write(String operation, Work<T> work) {
    return run(operation, Mode.WRITE, work);
  }

  /**
   * Runs an operation in its own attempt(s) on a borrowed connection.
   *
   * @param operation names the operation in failure messages
   * @param mode how the transaction is run
   * @param work the work of one attempt
   * @return the work's result
   */
  <T> T run(String operation, Mode mode, Work<T> work) {
    long start = System.nanoTime();
    for (int attempt = 1; ; attempt++) {
      Connection c = connect(operation);
      Attempt a = new Attempt(c, start + retryNanos);
      T result;
      try {
        result = once(a, mode, work);
      } catch (SQLException e) {
        release(a, e);
        boolean retryable = dialect.isRetryable(e) && !a.committing;
        long elapsed = System.nanoTime() - start;
        if (!retryable || elapsed >= retryNanos) {
          Verdict verdict = !retryable ? Verdict.FINAL
              : dialect.isLockTimeout(e) ? Verdict.LOCK_TIMEOUT : Verdict.RETRIES_EXHAUSTED;
          throw wrap(operation, e, mode, a, verdict);
        }
        LOG.debug("Retrying {} (attempt {}) after SQLState {} error {}: {}", operation, attempt, e.getSQLState(),
            e.getErrorCode(), e.getMessage());
        BACKOFF.pause(attempt, start + retryNanos);
        if (Thread.currentThread().isInterrupted()) {
          // parkNanos returns at once while the interrupt status is set: stop instead of spinning; keep the status
          throw new StorageException("JDBC " + operation + " interrupted while waiting to retry after SQLState "
              + e.getSQLState() + " (error " + e.getErrorCode() + "): " + e.getMessage()
              + outcome(mode, a), e);
        }
        continue;
      } catch (Throwable e) { // any: also a checked exception a caller's code threw undeclared (Kotlin, "sneaky")
        release(a, e);
        if (mode != Mode.READ && a.committing && !(e instanceof Error)) {
          // failed after COMMIT was sent: it may have taken effect
          throw new OutcomeUnknownException("JDBC " + operation + " failed: " + e + UNKNOWN, e);
        }
        throw e;
      }
      release(a, null);
      return result;
    }
  }

  /**
   * One attempt on one connection: the work, then COMMIT or ROLLBACK, and auto-commit (and, where commits are
   * serialized, a READ UNCOMMITTED level raised for the attempt) restored as it was. After a
   * failure, including one of COMMIT, the transaction is rolled back before auto-commit is restored, since
   * {@code setAutoCommit(true)} inside a transaction commits it; if either fails the connection is marked for
   * {@linkplain #release discarding}.
   */
  private <T> T once(Attempt a, Mode mode, Work<T> work) throws SQLException {
    Connection c = a.connection;
    boolean pooledAutoCommit = c.getAutoCommit();
    // where commits are serialized (MariaDB/MySQL, H2, SQLite), a pool at READ UNCOMMITTED would let a read see a
    // commit before it commits, its events and records, and a tailing reader move past event ids that a commit then
    // rolled back takes again (they come from the counter row): the attempt runs at READ COMMITTED and the level is
    // put back after it (PostgreSQL runs READ UNCOMMITTED as READ COMMITTED; the drivers know the level without a
    // round trip)
    boolean raiseIsolation = !dialect.parallelCommits()
        && c.getTransactionIsolation() == Connection.TRANSACTION_READ_UNCOMMITTED;
    if (raiseIsolation) {
      try {
        c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
      } catch (SQLException e) {
        a.discard = true;
        throw e;
      }
    }
    try {
      return onceAtLevel(a, mode, work, pooledAutoCommit);
    } finally {
      if (raiseIsolation && !a.discard && !restoreIsolation(c)) {
        a.discard = true;
      }
    }
  }

  private <T> T onceAtLevel(Attempt a, Mode mode, Work<T> work, boolean pooledAutoCommit) throws SQLException {
    Connection c = a.connection;
    boolean write = mode != Mode.READ;
    // where commits run in parallel (PostgreSQL), reads and inline writes run in auto-commit whatever the pool's
    // default: the writes then begin their own transaction at READ COMMITTED (InlineCommit), and each round trip of a
    // read is a transaction of its own, so a read's later statements never reuse an older snapshot at a stricter
    // level (EventHorizon); turning it on ends (commits) what the pool left open, such as its init query. A
    // read-only connection that writes keeps the driver's BEGIN READ ONLY; plain writes (createSchema) the driver's
    // transaction.
    boolean readOnly = mode == Mode.INLINE_WRITE && c.isReadOnly(); // asked only where it matters (some drivers query)
    boolean parallelWithoutAutoCommit = dialect.parallelCommits() && !pooledAutoCommit;
    boolean autoCommitForAttempt = parallelWithoutAutoCommit
        && (mode == Mode.READ || (mode == Mode.INLINE_WRITE && !readOnly));
    try {
      if (autoCommitForAttempt) {
        c.setAutoCommit(true);
      } else if (parallelWithoutAutoCommit && mode == Mode.INLINE_WRITE) {
        // a read-only connection that writes: the driver's transaction, which must not be one the pool left open
        // (InlineCommit's first statement sets its level, which must come before any query); nothing is sent if
        // none is open
        c.commit();
      }
    } catch (SQLException e) {
      a.discard = true; // whatever the pool left open may still be
      throw e;
    }
    boolean autoCommit = pooledAutoCommit || autoCommitForAttempt;
    boolean transaction = write || !autoCommit;
    // a read-only connection gets the driver's BEGIN, which pgjdbc makes BEGIN READ ONLY (readOnlyMode=transaction)
    a.beginsInline = mode == Mode.INLINE_WRITE && autoCommit && !readOnly;
    // whether auto-commit is turned off for the attempt, and so must be restored
    boolean driverBegins = write && autoCommit && !a.beginsInline;
    T result;
    try {
      if (driverBegins) {
        c.setAutoCommit(false);
      }
      result = work.run(a);
      if (transaction) {
        if (a.rollbackOnly) {
          a.rollback();
        } else {
          a.committing = true;
          a.commit();
        }
      }
    } catch (Throwable e) { // any: a checked exception thrown undeclared must not leave the transaction open either
      // also after a failed COMMIT: PostgreSQL and MariaDB ended the transaction already (the rollback is a
      // no-op), but SQLite's COMMIT refused with BUSY leaves it open, holding the write lock
      boolean clean = !transaction || rollback(a, e);
      if (a.committing && e instanceof SQLException s && dialect.commitRefused(s)) {
        a.committing = false; // COMMIT did not take effect, and the transaction is rolled back: nothing committed
      }
      if (!clean) {
        a.discard = true; // and no setAutoCommit(true): it would commit what the rollback could not undo
      } else if (driverBegins && !restoreAutoCommit(c, true, e)) {
        a.discard = true;
      } else if (autoCommitForAttempt && !restoreAutoCommit(c, false, e)) {
        a.discard = true;
      }
      throw e;
    }
    if ((driverBegins && !restoreAutoCommit(c, true, null))
        || (autoCommitForAttempt && !restoreAutoCommit(c, false, null))) {
      a.discard = true;
    }
    return result;
  }

  private Connection connect(String operation) {
    long ticket = demand.started();
    try {
      Connection c = dataSource.getConnection();
      if (c == null) {
        throw new StorageException("JDBC " + operation + ": the DataSource returned no connection");
      }
      return c;
    } catch (SQLException e) {
      throw new StorageException("JDBC " + operation + ": could not get a database connection from the DataSource"
          + " (SQLState " + e.getSQLState() + ", error " + e.getErrorCode() + "): " + e.getMessage()
          + "; nothing was done", e);
    } finally {
      demand.ended(ticket);
    }
  }

  /** @return what the failure message says about the transaction: nothing for reads, rolled back, or unknown */
  private static String outcome(Mode mode, Attempt a) {
    if (mode == Mode.READ) {
      return "";
    }
    return a.committing ? UNKNOWN : "; the transaction was rolled back, nothing was committed";
  }

  /**
   * @return the failure as callers see it: an {@link OutcomeUnknownException} if COMMIT was under way, a
   *     {@link RolledBackException} if a write failed finally before it, else a {@link StorageException}
   */
  private StorageException wrap(String operation, SQLException e, Mode mode, Attempt a, Verdict verdict) {
    String outcome = outcome(mode, a);
    String retries = switch (verdict) {
      case FINAL -> "";
      case RETRIES_EXHAUSTED -> " (still failing after retries until the retry timeout)";
      case LOCK_TIMEOUT -> ": a lock could not be obtained within the retry timeout of "
          + TimeUnit.NANOSECONDS.toMillis(retryNanos) + " ms (for a commit normally the writers' lock on the"
          + " counter row, or on PostgreSQL the lock of a key the commit expects or writes, held by another"
          + " transaction that has not ended)";
    };
    String message = "JDBC " + operation + " failed" + retries + " (SQLState " + e.getSQLState() + ", error "
        + e.getErrorCode() + "): " + e.getMessage() + outcome;
    if (mode != Mode.READ && a.committing) {
      return new OutcomeUnknownException(message, e);
    }
    return mode != Mode.READ && verdict == Verdict.FINAL ? new RolledBackException(message, e)
        : new StorageException(message, e);
  }

  /** @return true if the transaction is over: rolled back, or the connection is closed; a failure is added to primary */
  private static boolean rollback(Attempt a, Throwable primary) {
    try {
      if (!a.connection.isClosed()) {
        a.rollback();
      }
      return true;
    } catch (SQLException e) {
      primary.addSuppressed(e);
      return false;
    }
  }

  /** Puts a connection raised from READ UNCOMMITTED back to it; false (logged) if that failed. */
  private static boolean restoreIsolation(Connection c) {
    try {
      if (!c.isClosed()) {
        c.setTransactionIsolation(Connection.TRANSACTION_READ_UNCOMMITTED);
      }
      return true;
    } catch (SQLException e) {
      LOG.warn("Restoring READ UNCOMMITTED on a JDBC connection failed (SQLState {}); discarding the connection",
          e.getSQLState(), e);
      return false;
    }
  }

  /**
   * Restores auto-commit as the pool handed the connection out; a failure is added to {@code primary}, or logged
   * after success.
   *
   * @param on the pool's setting
   * @return false if it failed
   */
  private static boolean restoreAutoCommit(Connection c, boolean on, Throwable primary) {
    try {
      if (!c.isClosed()) {
        c.setAutoCommit(on);
      }
      return true;
    } catch (SQLException e) {
      if (primary != null) {
        primary.addSuppressed(e);
      } else {
        LOG.warn("Restoring auto-commit on a JDBC connection failed (SQLState {}); discarding the connection",
            e.getSQLState(), e);
      }
      return false;
    }
  }

  /**
   * Returns the connection to its pool, or, if it may still be inside a transaction, aborts it first so the pool
   * discards it instead of handing it out again. Failures are added to {@code primary}, or logged after success.
   */
  private static void release(Attempt a, Throwable primary) {
    Connection c = a.connection;
    if (a.discard) {
      try {
        c.abort(Runnable::run);
      } catch (SQLException | RuntimeException e) {
        if (primary != null) {
          primary.addSuppressed(e);
        } else {
          LOG.warn("Aborting a JDBC connection left in an unknown transaction state failed", e);
        }
      }
    }
    try {
      c.close();
    } catch (SQLException e) {
      if (primary != null) {
        primary.addSuppressed(e);
      } else {
        LOG.warn("Closing a JDBC connection after a successful operation failed (SQLState {})", e.getSQLState(), e);
      }
    }
  }
}
