package io.kyros.collab.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the PostgreSQL driver (pgjdbc) reports a connection outside any transaction: the state the server gave in
 * its last ReadyForQuery, {@code org.postgresql.core.BaseConnection.getTransactionState()} = {@code IDLE}, read by
 * reflection since the driver is not a compile-time dependency. A one-round-trip commit goes without {@code BEGIN}
 * only on such a connection ({@code InlineCommit.Framing}): on one left inside a transaction it would run in that
 * transaction and commit nothing. A connection of another driver, or one the method cannot be reached on, counts as
 * not known to be idle (logged once at DEBUG).
 *
 * <p>Thread-safe.
 */
final class DriverIdle {
  private static final Logger LOG = LoggerFactory.getLogger(DriverIdle.class);
  private static final String BASE_CONNECTION = "org.postgresql.core.BaseConnection";

  /** {@code getTransactionState()} of the driver's connection interface, once found. */
  private volatile Method state;
  /** Set when the driver's interface or its method is not there: never looked for again. */
  private volatile boolean absent;
  private final AtomicBoolean unavailableLogged = new AtomicBoolean();

  /**
   * @param c a connection, possibly a pool's proxy of the driver's
   * @return true only if the driver reports it outside any transaction
   */
  boolean test(Connection c) {
    if (absent) {
      return false;
    }
    try {
      Method m = state;
      if (m == null) {
        try {
          m = Class.forName(BASE_CONNECTION, false, c.getClass().getClassLoader()).getMethod("getTransactionState");
        } catch (ClassNotFoundException | NoSuchMethodException e) {
          absent = true;
          return unavailable(e.toString());
        }
        state = m;
      }
      Class<?> base = m.getDeclaringClass();
      if (!c.isWrapperFor(base)) {
        return unavailable("the connection does not wrap " + base.getName());
      }
      Object value = m.invoke(c.unwrap(base));
      return value instanceof Enum<?> e && e.name().equals("IDLE");
    } catch (IllegalAccessException | SQLException | RuntimeException e) {
      return unavailable(e.toString());
    } catch (InvocationTargetException e) {
      return unavailable(e.getCause().toString());
    }
  }

  private boolean unavailable(String why) {
    if (unavailableLogged.compareAndSet(false, true)) {
      LOG.debug("The driver's transaction state is unavailable ({}): PostgreSQL commits begin their transactions"
          + " with BEGIN", why);
    }
    return false;
  }
}
