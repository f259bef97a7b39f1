package io.kyros.collab.jdbc;

import io.kyros.collab.StorageException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one operation as one short transaction on a connection borrowed from the {@link DataSource}, and always
 * returns the connection. Serialization failures, deadlocks, lock timeouts and busy databases (as the dialect
 * classifies them) roll back and run the whole operation again, with full-jitter backoff, until the retry
 * deadline. Every other {@link SQLException} becomes a {@link StorageException} naming the operation and the
 * SQLState, with the exception as its cause. A connection lost before COMMIT was sent rolled the transaction back;
 * one lost during COMMIT leaves the outcome unknown, and the message says which.
 *
 * <p>Thread-safe.
 */
final class Transactions {
  private static final Logger LOG = LoggerFactory.getLogger(Transactions.class);
  private static final long MIN_BACKOFF_NANOS = 1_000_000L;
  private static final long MAX_BACKOFF_NANOS = 100_000_000L;

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

    Attempt(Connection connection) {
      this.connection = connection;
    }

    /** Ends this attempt with a rollback instead of a commit (a failed expectation). */
    void rollbackOnly() {
      rollbackOnly = true;
    }
  }

  private final DataSource dataSource;
  private final Dialect dialect;
  private final long retryNanos;

  Transactions(DataSource dataSource, Dialect dialect, Duration retryTimeout) {
    this.dataSource = dataSource;
    this.dialect = dialect;
    this.retryNanos = retryTimeout.toNanos();
  }

  /**
   * Runs a read. With an auto-commit connection each statement reads the latest committed state; otherwise the
   * transaction is committed at the end so no snapshot outlives the call.
   */
  <T> T read(String operation, Work<T> work) {
    return run(operation, false, work);
  }

  /** Runs a write transaction: auto-commit off, COMMIT at the end unless the work asked for a rollback. */
  <T> T write(String operation, Work<T> work) {
    return run(operation, true, work);
  }

  private <T> T run(String operation, boolean write, Work<T> work) {
    long start = System.nanoTime();
    for (int attempt = 1; ; attempt++) {
      Connection c = connect(operation);
      Attempt a = new Attempt(c);
      T result;
      try {
        result = once(a, write, work);
      } catch (SQLException e) {
        close(c, e);
        boolean retryable = dialect.isRetryable(e) && (!a.committing || "40001".equals(e.getSQLState()));
        long elapsed = System.nanoTime() - start;
        if (!retryable || elapsed >= retryNanos) {
          throw wrap(operation, e, write, a.committing, retryable);
        }
        long bound = Math.min(MAX_BACKOFF_NANOS, MIN_BACKOFF_NANOS << Math.min(attempt, 16));
        long backoff = ThreadLocalRandom.current().nextLong(MIN_BACKOFF_NANOS, bound + 1);
        LOG.debug("Retrying {} (attempt {}) after SQLState {} error {}: {}", operation, attempt, e.getSQLState(),
            e.getErrorCode(), e.getMessage());
        LockSupport.parkNanos(Math.min(backoff, retryNanos - elapsed));
        continue;
      } catch (RuntimeException | Error e) {
        close(c, e);
        throw e;
      }
      close(c, null);
      return result;
    }
  }

  /** One attempt on one connection: the work, then COMMIT or ROLLBACK, and auto-commit restored as it was. */
  private static <T> T once(Attempt a, boolean write, Work<T> work) throws SQLException {
    Connection c = a.connection;
    boolean autoCommit = c.getAutoCommit();
    boolean transaction = write || !autoCommit;
    T result;
    try {
      if (write && autoCommit) {
        c.setAutoCommit(false);
      }
      result = work.run(a);
      if (transaction) {
        if (a.rollbackOnly) {
          c.rollback();
        } else {
          a.committing = true;
          c.commit();
        }
      }
    } catch (SQLException | RuntimeException | Error e) {
      if (transaction && !a.committing) {
        rollback(c, e);
      }
      if (write && autoCommit) {
        restoreAutoCommit(c, e);
      }
      throw e;
    }
    if (write && autoCommit) {
      restoreAutoCommit(c, null);
    }
    return result;
  }

  private Connection connect(String operation) {
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
    }
  }

  private static StorageException wrap(String operation, SQLException e, boolean write, boolean committing,
      boolean retryable) {
    String outcome;
    if (!write) {
      outcome = "";
    } else if (committing) {
      outcome = "; the connection failed while committing, so whether the commit took effect is unknown";
    } else {
      outcome = "; the transaction was rolled back, nothing was committed";
    }
    String retries = retryable ? " (still failing after retries until the retry timeout)" : "";
    return new StorageException("JDBC " + operation + " failed" + retries + " (SQLState " + e.getSQLState()
        + ", error " + e.getErrorCode() + "): " + e.getMessage() + outcome, e);
  }

  private static void rollback(Connection c, Throwable primary) {
    try {
      if (!c.isClosed()) {
        c.rollback();
      }
    } catch (SQLException e) {
      primary.addSuppressed(e);
    }
  }

  /** Restores auto-commit; a failure is added to {@code primary}, or logged after success (the pool evicts the connection). */
  private static void restoreAutoCommit(Connection c, Throwable primary) {
    try {
      if (!c.isClosed()) {
        c.setAutoCommit(true);
      }
    } catch (SQLException e) {
      if (primary != null) {
        primary.addSuppressed(e);
      } else {
        LOG.warn("Restoring auto-commit on a JDBC connection failed (SQLState {})", e.getSQLState(), e);
      }
    }
  }

  /** Returns the connection to its pool; a failure to do so is added to {@code primary}, or logged after success. */
  private static void close(Connection c, Throwable primary) {
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
