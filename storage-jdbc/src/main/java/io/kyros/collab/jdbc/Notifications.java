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
 * PostgreSQL {@code LISTEN}: one daemon thread holds one connection of the pool, listens on the event channel and
 * wakes the storage's waiters on every notification. Started by the first wait, stopped by {@link #close()}. If
 * the connection fails it reconnects after a pause; waiters keep polling meanwhile, so a lost notification only
 * delays them by the poll interval. The driver's {@code PGConnection.getNotifications(int)} is called by
 * reflection, since the driver is the user's dependency, not this module's.
 *
 * <p>Thread-safe.
 */
final class Notifications implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Notifications.class);
  private static final int RECEIVE_TIMEOUT_MILLIS = 500;

  private final DataSource dataSource;
  private final String channel;
  private final Runnable wake;
  private final long pauseNanos;
  private final Object lifecycle = new Object();
  private Thread thread;
  private boolean closed;
  private volatile boolean unavailable;

  Notifications(DataSource dataSource, String channel, Runnable wake, long pauseNanos) {
    this.dataSource = dataSource;
    this.channel = channel;
    this.wake = wake;
    this.pauseNanos = Math.max(pauseNanos, TimeUnit.MILLISECONDS.toNanos(500));
  }

  /** Starts the listener thread unless it runs, was closed or cannot work with this driver. */
  void start() {
    if (unavailable) {
      return;
    }
    synchronized (lifecycle) {
      if (thread != null || closed) {
        return;
      }
      thread = new Thread(this::run, "collab-jdbc-listen-" + channel);
      thread.setDaemon(true);
      thread.start();
    }
  }

  private boolean isClosed() {
    synchronized (lifecycle) {
      return closed;
    }
  }

  private void run() {
    while (!isClosed()) {
      try (Connection c = dataSource.getConnection()) {
        Method receive = receiver(c);
        if (receive == null) {
          return;
        }
        Object pg = c.unwrap(receive.getDeclaringClass());
        if (!c.getAutoCommit()) {
          c.setAutoCommit(true);
        }
        try (Statement s = c.createStatement()) {
          s.execute("LISTEN " + channel);
        }
        wake.run(); // anything committed before LISTEN took effect is found by the waiters' next check
        while (!isClosed()) {
          Object[] received = (Object[]) receive.invoke(pg, RECEIVE_TIMEOUT_MILLIS);
          if (received != null && received.length > 0) {
            wake.run();
          }
        }
        try (Statement s = c.createStatement()) {
          s.execute("UNLISTEN " + channel);
        }
      } catch (SQLException e) {
        LOG.debug("LISTEN {} failed (SQLState {}); waiters poll until it reconnects", channel, e.getSQLState(), e);
        pause();
      } catch (InvocationTargetException e) {
        LOG.debug("LISTEN {} failed; waiters poll until it reconnects", channel, e.getCause());
        pause();
      } catch (IllegalAccessException e) {
        LOG.info("PostgreSQL notifications unavailable ({}); waiting for events polls", e.toString());
        unavailable = true;
        return;
      }
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
