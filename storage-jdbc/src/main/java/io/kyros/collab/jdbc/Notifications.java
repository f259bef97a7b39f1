package io.kyros.collab.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL {@code LISTEN}: while threads wait for events, one daemon thread holds one connection of the pool,
 * listens on the event channel and wakes the storage's waiters on every notification. Started by the first wait;
 * once no thread has waited for a quiet period (twice the poll interval, at least two seconds) it runs
 * {@code UNLISTEN}, returns the connection and ends, and the next wait starts it again; {@link #close()} stops it.
 * If the connection fails it reconnects after a pause; waiters keep polling meanwhile, so a lost notification only
 * delays them by the poll interval. The listener never starves the pool: when a thread of the same storage has
 * waited more than {@value #YIELD_AFTER_MILLIS} ms for a connection (the pool has none to spare, for example a pool
 * of one whose connection the listener holds), it gives its connection back at once and waiters poll for
 * {@value #YIELD_BACKOFF_SECONDS} seconds before it listens again; the first time is logged at INFO. A connection
 * whose {@code UNLISTEN} failed is aborted, never returned still listening. The driver's {@code PGConnection.getNotifications(int)} is called by reflection, since the driver is
 * the user's dependency, not this module's.
 *
 * <p>Thread-safe.
 */
final class Notifications implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Notifications.class);
  /** How long one receive blocks: also how soon the listener notices that others wait for a connection. */
  private static final int RECEIVE_TIMEOUT_MILLIS = 100;
  private static final long MIN_QUIET_NANOS = TimeUnit.SECONDS.toNanos(2);
  /** A connection wait longer than this, by a thread of the same storage, makes the listener give its back. */
  static final long YIELD_AFTER_MILLIS = 100;
  /** How long the listener stays off after giving its connection back; waiters poll meanwhile. */
  static final long YIELD_BACKOFF_SECONDS = 30;

  private final DataSource dataSource;
  private final ConnectionDemand demand;
  private final String channel;
  private final Runnable wake;
  private final long pauseNanos;
  private final long quietNanos;
  private final Object lifecycle = new Object();
  private Thread thread;
  private boolean closed;
  private int waiters;
  private long lastWaitEnded;
  /** While System.nanoTime() is before this, the listener stays off: it gave its connection to a starved pool. */
  private long yieldedUntil;
  private boolean yieldedBefore;
  private volatile boolean unavailable;

  /**
   * @param dataSource where the listener borrows its connection
   * @param demand the storage's threads waiting for connections, which the listener gives way to
   * @param channel the channel to listen on
   * @param wake wakes the storage's waiters
   * @param pollNanos the storage's poll interval
   */
  Notifications(DataSource dataSource, ConnectionDemand demand, String channel, Runnable wake, long pollNanos) {
    this.dataSource = dataSource;
    this.demand = demand;
    this.channel = channel;
    this.wake = wake;
    this.pauseNanos = Math.max(pollNanos, TimeUnit.MILLISECONDS.toNanos(500));
    this.quietNanos = Math.max(MIN_QUIET_NANOS, 2 * Math.min(pollNanos, TimeUnit.MINUTES.toNanos(1)));
  }

  /** A thread starts waiting: starts the listener unless it runs, was closed or cannot work with this driver. */
  void waitStarted() {
    synchronized (lifecycle) {
      waiters++;
      if (thread != null || closed || unavailable || yielding()) {
        return;
      }
      thread = new Thread(this::run, "collab-jdbc-listen-" + channel);
      thread.setDaemon(true);
      thread.start();
    }
  }

  /** A thread stopped waiting; the listener stops after the quiet period if no other thread waits. */
  void waitEnded() {
    synchronized (lifecycle) {
      waiters--;
      lastWaitEnded = System.nanoTime();
    }
  }

  /** @return true while the listener should hold its connection: not closed, and someone waits or waited lately */
  private boolean wanted() {
    synchronized (lifecycle) {
      return !closed && !unavailable && !yielding()
          && (waiters > 0 || System.nanoTime() - lastWaitEnded < quietNanos);
    }
  }

  /** @return true while the listener stays off after giving its connection to a starved pool; under the lock */
  private boolean yielding() {
    return yieldedBefore && System.nanoTime() - yieldedUntil < 0;
  }

  /**
   * Gives way if a thread of the storage has waited too long for a connection: the listener then stops, and stays
   * off for the back-off.
   *
   * @return true if the listener is to give its connection back
   */
  private boolean givesWay() {
    if (!demand.waitingLongerThan(TimeUnit.MILLISECONDS.toNanos(YIELD_AFTER_MILLIS))) {
      return false;
    }
    boolean first;
    synchronized (lifecycle) {
      first = !yieldedBefore;
      yieldedBefore = true;
      yieldedUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(YIELD_BACKOFF_SECONDS);
    }
    if (first) {
      LOG.info("LISTEN {}: gave the connection back, since an operation waited more than {} ms for one (the pool has"
          + " none to spare); waiting for events polls for {} s before listening again", channel,
          YIELD_AFTER_MILLIS, YIELD_BACKOFF_SECONDS);
    } else {
      LOG.debug("LISTEN {}: gave the connection back to a starved pool", channel);
    }
    return true;
  }

  private void run() {
    try {
      while (true) {
        synchronized (lifecycle) {
          if (!wanted()) {
            thread = null; // decided under the lock: a wait starting from now on starts a new listener
            return;
          }
        }
        if (!listen()) {
          pause();
        }
      }
    } finally {
      synchronized (lifecycle) {
        if (thread == Thread.currentThread()) {
          thread = null;
        }
      }
    }
  }

  /**
   * Borrows a connection, listens until the listener is no longer wanted, unlistens and returns it.
   *
   * @return false after a failure (logged), to pause before reconnecting
   */
  private boolean listen() {
    Connection c;
    try {
      c = dataSource.getConnection();
    } catch (SQLException e) {
      LOG.debug("LISTEN {}: no connection (SQLState {}); waiters poll until it reconnects", channel,
          e.getSQLState(), e);
      return false;
    }
    boolean listening = false;
    boolean autoCommitTurnedOn = false;
    Throwable failure = null;
    try {
      Method receive = receiver(c);
      if (receive == null) {
        return true;
      }
      Object pg = c.unwrap(receive.getDeclaringClass());
      if (!c.getAutoCommit()) {
        c.setAutoCommit(true);
        autoCommitTurnedOn = true; // turned off again when the connection goes back
      }
      listening = true; // from here on, the connection may be listening until UNLISTEN succeeds
      try (Statement s = c.createStatement()) {
        s.execute("LISTEN " + channel);
      }
      wake.run(); // anything committed before LISTEN took effect is found by the waiters' next check
      while (wanted() && !givesWay()) {
        Object[] received = (Object[]) receive.invoke(pg, RECEIVE_TIMEOUT_MILLIS);
        if (received != null && received.length > 0) {
          wake.run();
        }
      }
      return true;
    } catch (SQLException e) {
      failure = e;
      LOG.debug("LISTEN {} failed (SQLState {}); waiters poll until it reconnects", channel, e.getSQLState(), e);
      return false;
    } catch (InvocationTargetException e) {
      failure = e;
      LOG.debug("LISTEN {} failed; waiters poll until it reconnects", channel, e.getCause());
      return false;
    } catch (IllegalAccessException e) {
      failure = e;
      LOG.info("PostgreSQL notifications unavailable ({}); waiting for events polls", e.toString());
      unavailable = true;
      return true;
    } catch (RuntimeException e) {
      failure = e;
      LOG.warn("LISTEN {} failed unexpectedly; waiters poll until it reconnects", channel, e);
      return false;
    } finally {
      release(c, listening, autoCommitTurnedOn, failure);
    }
  }

  /**
   * Runs UNLISTEN if needed, turns auto-commit off again if it was turned on, and returns the connection; aborts it
   * first if it may still be listening or could not be given back as it came.
   */
  private void release(Connection c, boolean listening, boolean autoCommitTurnedOn, Throwable failure) {
    try {
      if (listening) {
        try (Statement s = c.createStatement()) {
          s.execute("UNLISTEN " + channel);
        }
      }
      if (autoCommitTurnedOn) {
        c.setAutoCommit(false);
      }
    } catch (SQLException | RuntimeException e) {
      LOG.debug("Releasing the LISTEN connection of {} failed (after {}); aborting it so the pool discards it",
          channel, failure == null ? "stopping" : failure.toString(), e);
      try {
        c.abort(Runnable::run);
      } catch (SQLException | RuntimeException abortFailure) {
        LOG.warn("Aborting the LISTEN connection of {} failed", channel, abortFailure);
      }
    }
    try {
      c.close();
    } catch (SQLException | RuntimeException e) {
      LOG.debug("Returning the LISTEN connection of {} failed", channel, e);
    }
  }

  /** @return PGConnection.getNotifications(int), or null (logged) if the driver does not offer it */
  private Method receiver(Connection c) throws SQLException {
    try {
      Class<?> pgConnection = Class.forName("org.postgresql.PGConnection", false, c.getClass().getClassLoader());
      if (!c.isWrapperFor(pgConnection)) {
        throw new ClassNotFoundException("connection does not wrap " + pgConnection.getName());
      }
      return pgConnection.getMethod("getNotifications", int.class);
    } catch (ClassNotFoundException | NoSuchMethodException e) {
      LOG.info("PostgreSQL notifications unavailable ({}); waiting for events polls", e.toString());
      unavailable = true;
      return null;
    }
  }

  private void pause() {
    synchronized (lifecycle) {
      if (!closed) {
        try {
          TimeUnit.NANOSECONDS.timedWait(lifecycle, pauseNanos);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          closed = true;
        }
      }
    }
  }

  @Override
  public void close() {
    Thread t;
    synchronized (lifecycle) {
      closed = true;
      lifecycle.notifyAll();
      t = thread;
    }
    if (t != null) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
