package io.kyros.collab.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;

/**
 * Wraps a {@link DataSource} so that its connections record every call and fail where a test injects a fault:
 * {@link java.lang.reflect.Proxy} connections over the real ones, nothing else changed. {@code unwrap} and
 * {@code isWrapperFor} reach the real connection, so a PostgreSQL driver connection stays reachable.
 */
final class FaultyDataSource {

  /** Decides, before each call on a connection, whether it throws instead of reaching the real connection. */
  @FunctionalInterface
  interface Fault {
    /**
     * @param connection the connection's record, this call already logged
     * @param method the method called
     * @param args its arguments, or null
     * @return what to throw instead of calling the real connection, or null to call it
     */
    Throwable before(Calls connection, Method method, Object[] args) throws Exception;
  }

  /** One borrowed connection: the calls made on it, in order, as {@code name} or {@code name(argument)}. */
  static final class Calls {
    final int number;
    final Connection real;
    private final List<String> log = new ArrayList<>();
    private final List<String> prepared = new ArrayList<>();

    Calls(int number, Connection real) {
      this.number = number;
      this.real = real;
    }

    private synchronized void add(String call) {
      log.add(call);
    }

    synchronized List<String> log() {
      return List.copyOf(log);
    }

    private synchronized void addPrepared(String sql) {
      prepared.add(sql);
    }

    /** @return the SQL text of every {@code prepareStatement} call, in order */
    synchronized List<String> prepared() {
      return List.copyOf(prepared);
    }

    /** @return the calls made after the first call named {@code call}, or empty if it was never made */
    synchronized List<String> after(String call) {
      int i = log.indexOf(call);
      return i < 0 ? List.of() : List.copyOf(log.subList(i + 1, log.size()));
    }
  }

  private final DataSource target;
  private final List<Calls> connections = new CopyOnWriteArrayList<>();
  private volatile Fault fault = (c, m, a) -> null;

  FaultyDataSource(DataSource target) {
    this.target = target;
  }

  /** @return faults over an H2 database in memory, kept while the JVM runs; a new physical connection each time */
  static FaultyDataSource h2(String name) {
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL("jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1");
    ds.setUser("sa");
    return new FaultyDataSource(ds);
  }

  /** Injects a fault for every connection from now on, replacing the previous one. */
  void inject(Fault fault) {
    this.fault = fault;
  }

  /** Stops injecting faults. */
  void heal() {
    inject((c, m, a) -> null);
  }

  /** @return every connection borrowed so far, in order */
  List<Calls> connections() {
    return List.copyOf(connections);
  }

  /** @return the data source whose connections are recorded and fail as injected */
  DataSource dataSource() {
    return (DataSource) Proxy.newProxyInstance(FaultyDataSource.class.getClassLoader(),
        new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
          Object result = call(target, method, args);
          if (method.getName().equals("getConnection")) {
            Calls calls = new Calls(connections.size() + 1, (Connection) result);
            connections.add(calls);
            return connection(calls);
          }
          return result;
        });
  }

  private Connection connection(Calls calls) {
    return (Connection) Proxy.newProxyInstance(FaultyDataSource.class.getClassLoader(),
        new Class<?>[] {Connection.class}, (proxy, method, args) -> {
          calls.add(args != null && args.length == 1 && args[0] instanceof Boolean b
              ? method.getName() + "(" + b + ")" : method.getName());
          if (method.getName().equals("prepareStatement") && args[0] instanceof String sql) {
            calls.addPrepared(sql);
          }
          Throwable injected = fault.before(calls, method, args);
          if (injected != null) {
            throw injected;
          }
          return call(calls.real, method, args);
        });
  }

  /** Calls {@code method} on {@code target}, throwing what it throws (not its reflective wrapper). */
  static Object call(Object target, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
