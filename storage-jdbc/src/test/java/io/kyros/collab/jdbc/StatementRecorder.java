package io.kyros.collab.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * Wraps a {@link DataSource} so that every prepared statement its connections execute is recorded with the
 * parameters it was executed with (each {@code addBatch} counts as one execution), for a test to look at the plans of
 * exactly what a storage ran. Only {@code PreparedStatement}s are recorded; nothing else is changed.
 *
 * <p>Thread-safe.
 */
final class StatementRecorder {
  /** One execution: the SQL text and its parameters by position (1-based), as set. */
  record Executed(String sql, Map<Integer, Object> parameters) {}

  private final DataSource real;
  private final List<Executed> executed = new ArrayList<>();

  StatementRecorder(DataSource real) {
    this.real = real;
  }

  /** @return the wrapping data source */
  DataSource dataSource() {
    return (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {DataSource.class},
        (proxy, method, args) -> {
          Object result = invoke(real, method, args);
          return method.getName().equals("getConnection") ? connection((Connection) result) : result;
        });
  }

  /** @return what was executed since the last call, in order; the record is emptied */
  synchronized List<Executed> take() {
    List<Executed> out = List.copyOf(executed);
    executed.clear();
    return out;
  }

  private synchronized void add(Executed e) {
    executed.add(e);
  }

  private Connection connection(Connection c) {
    return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class},
        (proxy, method, args) -> {
          Object result = invoke(c, method, args);
          if (method.getName().equals("prepareStatement") && result instanceof PreparedStatement ps) {
            return statement(ps, (String) args[0]);
          }
          return result;
        });
  }

  private PreparedStatement statement(PreparedStatement ps, String sql) {
    Map<Integer, Object> parameters = new TreeMap<>();
    return (PreparedStatement) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {PreparedStatement.class}, (proxy, method, args) -> {
          String name = method.getName();
          if (name.equals("setNull") && args[0] instanceof Integer index) {
            parameters.put(index, null);
          } else if (name.startsWith("set") && args != null && args.length >= 2 && args[0] instanceof Integer index) {
            parameters.put(index, args[1]);
          } else if (name.equals("clearParameters")) {
            parameters.clear();
          } else if ((name.equals("addBatch") || name.startsWith("execute")) && (args == null || args.length == 0)
              && !name.equals("executeBatch")) {
            add(new Executed(sql, Collections.unmodifiableMap(new TreeMap<>(parameters))));
          }
          return invoke(ps, method, args);
        });
  }

  private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
