package io.kyros.collab.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the PostgreSQL driver (pgjdbc) reports a connection outside any transaction: the state the server gave in
 * its last ReadyForQuery, {@code org.postgresql.core.BaseConnection.getTransactionState()} = {@code IDLE}, read by
 * reflection since the driver is not a compile-time dependency (the interface is looked for with the connection's
 * class loader, then this class's, then the thread's context loader). A one-statement commit goes without
 * {@code BEGIN} only on such a connection ({@code InlineCommit.Framing}): on one left inside a transaction it would
 * run in that transaction and commit nothing. A connection of another driver, or one the state cannot be read on,
 * counts as not known to be idle, so its commits begin their transactions (logged once, at INFO).
 *
 * <p>Thread-safe.
 */
final class DriverIdle {
  private static final Logger LOG = LoggerFactory.getLogger(DriverIdle.class);
  private static final String BASE_CONNECTION = "org.postgresql.core.BaseConnection";

  /** {@code getTransactionState()} of the driver's connection interface, once found. */
  private volatile Method state;
  /** Set when no loader has the driver's interface or its method: never looked for again. */
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
        m = find(c);
        if (m == null) {
          absent = true;
          return false;
        }
        state = m;
      }
      Class<?> base = m.getDeclaringClass();
      if (!c.isWrapperFor(base)) {
        return unavailable("the connection does not wrap " + base.getName());
      }
      Object value = m.invoke(c.unwrap(base));
      if (value instanceof Enum<?> e) {
        return e.name().equals("IDLE");
      }
      return unavailable("getTransactionState() returned " + value);
    } catch (IllegalAccessException | SQLException | RuntimeException | LinkageError e) {
      return unavailable(e.toString());
    } catch (InvocationTargetException e) {
      return unavailable(String.valueOf(e.getCause()));
    }
  }

  /** @return the driver's {@code getTransactionState()}, or null (logged) if no loader has it */
  private Method find(Connection c) {
    List<ClassLoader> loaders = new ArrayList<>();
    loaders.add(c.getClass().getClassLoader());
    loaders.add(DriverIdle.class.getClassLoader());
    loaders.add(Thread.currentThread().getContextClassLoader());
    String failure = "no class loader";
    for (ClassLoader loader : loaders) {
      if (loader == null) {
        continue;
      }
      try {
        return Class.forName(BASE_CONNECTION, false, loader).getMethod("getTransactionState");
      } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
        failure = e.toString();
      }
    }
    unavailable(failure);
    return null;
  }

  private boolean unavailable(String why) {
    if (unavailableLogged.compareAndSet(false, true)) {
      LOG.info("The PostgreSQL driver's transaction state is unavailable ({}): every commit begins its transaction"
          + " with BEGIN", why);
    }
    return false;
  }
}
