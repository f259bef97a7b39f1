package io.kyros.collab.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Consumer;
import org.opentest4j.TestAbortedException;

/**
 * One test class's database: a pool on PostgreSQL, MariaDB, H2 or SQLite and its own table prefix, so classes never
 * see each other's rows. PostgreSQL and MariaDB come from environment variables ({@code COLLAB_PG_URL},
 * {@code COLLAB_PG_USER}, {@code COLLAB_PG_PASSWORD}, {@code COLLAB_MARIADB_URL}, {@code COLLAB_MARIADB_USER},
 * {@code COLLAB_MARIADB_PASSWORD}), defaulting to the local servers. An unreachable server skips the class with a
 * message, unless {@code COLLAB_REQUIRE_DATABASES=1}, which makes it a failure (CI sets it).
 */
final class TestDatabase implements AutoCloseable {
  private static final String PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final String MARIADB_URL = "jdbc:mariadb://127.0.0.1:3306/test";

  enum Kind {
    POSTGRESQL(JdbcDialect.POSTGRESQL), MARIADB(JdbcDialect.MARIADB), H2(JdbcDialect.H2), SQLITE(JdbcDialect.SQLITE);

    final JdbcDialect dialect;

    Kind(JdbcDialect dialect) {
      this.dialect = dialect;
    }
  }

  final Kind kind;
  final String prefix;
  final String url;
  final String user;
  final String password;
  private final HikariDataSource pool;

  private TestDatabase(Kind kind, String prefix, String url, String user, String password, HikariDataSource pool) {
    this.kind = kind;
    this.prefix = prefix;
    this.url = url;
    this.user = user;
    this.password = password;
    this.pool = pool;
  }

  /**
   * Opens a pool, drops the prefix's tables left by an earlier run and creates them anew.
   *
   * @param kind the database
   * @param prefix the test class's table prefix
   * @return the database
   * @throws TestAbortedException if a server is unreachable and databases are not required
   */
  static TestDatabase open(Kind kind, String prefix) {
    return open(kind, prefix, 10, c -> {});
  }

  static TestDatabase open(Kind kind, String prefix, int poolSize, Consumer<HikariConfig> options) {
    String url;
    String user;
    String password;
    switch (kind) {
      case POSTGRESQL -> {
        url = env("COLLAB_PG_URL", PG_URL);
        user = env("COLLAB_PG_USER", "postgres");
        password = env("COLLAB_PG_PASSWORD", "");
      }
      case MARIADB -> {
        url = env("COLLAB_MARIADB_URL", MARIADB_URL);
        user = env("COLLAB_MARIADB_USER", "root");
        password = env("COLLAB_MARIADB_PASSWORD", "");
      }
      case H2 -> {
        url = "jdbc:h2:mem:" + prefix + ";DB_CLOSE_DELAY=-1;LOCK_TIMEOUT=10000";
        user = "sa";
        password = "";
      }
      case SQLITE -> {
        Path dir = Path.of("target", "sqlite");
        try {
          Files.createDirectories(dir);
          for (String suffix : new String[] {"", "-wal", "-shm"}) {
            Files.deleteIfExists(dir.resolve(prefix + "db" + suffix));
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        url = "jdbc:sqlite:" + dir.resolve(prefix + "db") + "?journal_mode=WAL&busy_timeout=10000";
        user = null;
        password = null;
      }
      default -> throw new IllegalArgumentException(kind.toString());
    }
    requireReachable(kind);
    TestDatabase db = new TestDatabase(kind, prefix, url, user, password,
        pool(url, user, password, prefix + "pool", poolSize, options));
    db.dropTables();
    db.builder().build().createSchema();
    return db;
  }

  private static HikariDataSource pool(String url, String user, String password, String name, int size,
      Consumer<HikariConfig> options) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(size);
    config.setPoolName(name);
    options.accept(config);
    return new HikariDataSource(config);
  }

  /**
   * @param name the pool's name
   * @param size its maximum size
   * @param options further settings
   * @return another pool on the same database (another "node"), closed by the caller
   */
  HikariDataSource newPool(String name, int size, Consumer<HikariConfig> options) {
    return pool(url, user, password, name, size, options);
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }

  static boolean databasesRequired() {
    return "1".equals(System.getenv("COLLAB_REQUIRE_DATABASES"));
  }

  /**
   * @param kind the database
   * @return why the database cannot be used, or empty if it can (H2 and SQLite always can)
   */
  static Optional<String> unreachable(Kind kind) {
    if (kind == Kind.H2 || kind == Kind.SQLITE) {
      return Optional.empty();
    }
    String url = kind == Kind.POSTGRESQL ? env("COLLAB_PG_URL", PG_URL) : env("COLLAB_MARIADB_URL", MARIADB_URL);
    String user = kind == Kind.POSTGRESQL ? env("COLLAB_PG_USER", "postgres") : env("COLLAB_MARIADB_USER", "root");
    String password = kind == Kind.POSTGRESQL ? env("COLLAB_PG_PASSWORD", "") : env("COLLAB_MARIADB_PASSWORD", "");
    DriverManager.setLoginTimeout(5);
    try (Connection c = DriverManager.getConnection(url, user, password)) {
      c.isValid(5);
      return Optional.empty();
    } catch (SQLException e) {
      return Optional.of(kind + " is unreachable at " + url + " as " + user + " (" + e.getMessage() + ")");
    }
  }

  /**
   * @param kind the database
   * @return why tests on it are skipped, or empty if they run: an unreachable server is a failure (thrown here)
   *     when {@code COLLAB_REQUIRE_DATABASES=1}, a skip with a visible message otherwise
   */
  static Optional<String> skipReason(Kind kind) {
    Optional<String> problem = unreachable(kind);
    if (problem.isEmpty()) {
      return problem;
    }
    if (databasesRequired()) {
      throw new AssertionError(problem.get() + "; COLLAB_REQUIRE_DATABASES=1 makes this a failure");
    }
    String reason = problem.get() + " - skipped; set COLLAB_REQUIRE_DATABASES=1 to make this a failure";
    System.err.println("SKIPPED: " + reason);
    return Optional.of(reason);
  }

  private static void requireReachable(Kind kind) {
    Optional<String> skip = skipReason(kind);
    if (skip.isPresent()) {
      throw new TestAbortedException(skip.get());
    }
  }

  HikariDataSource dataSource() {
    return pool;
  }

  /**
   * PostgreSQL: the rows read so far from this store's tables of the given names (tuples read by sequential scans and
   * returned by index scans, PostgreSQL's statistics), by every backend whose statistics are flushed. The pool's
   * connection that asks flushes its own first ({@code pg_stat_force_next_flush()}, PostgreSQL 15 and later): on a
   * pool of one connection, that is every read of the store.
   *
   * @param tables table names without the prefix, such as {@code collab_events}
   * @return the rows read
   */
  long postgresRowsRead(String... tables) {
    StringBuilder relations = new StringBuilder();
    for (String table : tables) {
      relations.append(relations.isEmpty() ? "" : ", ").append("CAST('").append(prefix).append(table)
          .append("' AS regclass)");
    }
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      s.execute("SELECT pg_stat_force_next_flush()"); // this backend flushes when it goes idle after this statement
      try (ResultSet rs = s.executeQuery("SELECT SUM(t.seq_tup_read + COALESCE((SELECT SUM(i.idx_tup_read) FROM"
          + " pg_stat_user_indexes i WHERE i.relid = t.relid), 0)) FROM pg_stat_user_tables t WHERE t.relid IN ("
          + relations + ")")) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @return a builder on this database's pool and prefix, dialect set */
  JdbcStorage.Builder builder() {
    return JdbcStorage.builder(pool).tablePrefix(prefix).dialect(kind.dialect);
  }

  /**
   * @param recorded a wrapper of this database's pool, or of another pool on it
   * @return a storage on its connections, without a listener (whose connection it would record too)
   */
  JdbcStorage recordedStorage(FaultyDataSource recorded) {
    return JdbcStorage.builder(recorded.dataSource()).tablePrefix(prefix).dialect(kind.dialect).listenNotify(false)
        .build();
  }

  /** @return a storage on the given clock */
  JdbcStorage storage(Clock clock) {
    return builder().clock(clock).build();
  }

  /**
   * Empties the tables and resets the counters (PostgreSQL: also its sequences): a fresh store, cheaply, for a new
   * storage instance (one already open keeps what it knows of the old log, see EventHorizon).
   */
  void reset() {
    execute("DELETE FROM " + prefix + "collab_index", "DELETE FROM " + prefix + "collab_records",
        "DELETE FROM " + prefix + "collab_events",
        "UPDATE " + prefix + "collab_meta SET last_revision = 0, last_event_id = 0");
    if (kind == Kind.POSTGRESQL) {
      execute("ALTER SEQUENCE " + prefix + "collab_revision_seq RESTART",
          "ALTER SEQUENCE " + prefix + "collab_event_seq RESTART");
    }
  }

  void dropTables() {
    execute("DROP TABLE IF EXISTS " + prefix + "collab_index", "DROP TABLE IF EXISTS " + prefix + "collab_records",
        "DROP TABLE IF EXISTS " + prefix + "collab_events",
        "DROP TABLE IF EXISTS " + prefix + "collab_meta");
    if (kind == Kind.POSTGRESQL) {
      execute("DROP SEQUENCE IF EXISTS " + prefix + "collab_revision_seq",
          "DROP SEQUENCE IF EXISTS " + prefix + "collab_event_seq");
    }
  }

  /**
   * PostgreSQL: runs {@code body} while a row trigger on the records table runs {@code plpgsql} before each
   * {@code event} ({@code UPDATE} or {@code INSERT}) of a row meeting {@code condition}, then drops the trigger and
   * its function: a change made outside Collab.
   *
   * @param name the trigger's and function's name, after the table prefix
   * @param event the operation it fires on
   * @param condition the trigger's {@code WHEN} condition, such as {@code TRUE}
   * @param plpgsql the function's statements between {@code BEGIN} and {@code END}
   * @param body what runs while the trigger exists
   */
  void whileRecordsTrigger(String name, String event, String condition, String plpgsql, Runnable body) {
    whileTrigger("collab_records", name, event, condition, plpgsql, body);
  }

  /**
   * PostgreSQL: as {@link #whileRecordsTrigger}, on another of the storage's tables.
   *
   * @param table the table's name after the prefix, such as {@code collab_events}
   * @param name the trigger's and function's name, after the table prefix
   * @param event the operation it fires on
   * @param condition the trigger's {@code WHEN} condition
   * @param plpgsql the function's statements between {@code BEGIN} and {@code END}
   * @param body what runs while the trigger exists
   */
  void whileTrigger(String table, String name, String event, String condition, String plpgsql, Runnable body) {
    String function = prefix + name + "()";
    execute("CREATE OR REPLACE FUNCTION " + function + " RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " + plpgsql
            + " END $$",
        "CREATE TRIGGER " + prefix + name + " BEFORE " + event + " ON " + prefix + table + " FOR EACH ROW WHEN ("
            + condition + ") EXECUTE FUNCTION " + function);
    try {
      body.run();
    } finally {
      execute("DROP TRIGGER " + prefix + name + " ON " + prefix + table, "DROP FUNCTION " + function);
    }
  }

  /** Runs statements on a connection of its own, outside the pool. */
  void execute(String... statements) {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("test database statement failed: " + e.getMessage(), e);
    }
  }

  /** @return true if a PostgreSQL session of this prefix's storage is idle after {@code LISTEN} on its events */
  boolean listening() {
    try (Connection c = connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN " + prefix
            + "collab_events' AND state = 'idle'")) {
      rs.next();
      return rs.getInt(1) > 0;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * @return how many sessions on this database wait for a lock held by another transaction, as the server reports
   *     them (PostgreSQL and MariaDB only: H2 and SQLite wait inside the JVM)
   */
  int lockWaits() {
    String query = switch (kind) {
      case POSTGRESQL -> "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
          + " AND wait_event_type = 'Lock'";
      case MARIADB -> "SELECT count(*) FROM information_schema.innodb_trx t JOIN information_schema.processlist p"
          + " ON p.id = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()";
      default -> throw new UnsupportedOperationException(kind + " reports no lock waits");
    };
    try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
      rs.next();
      return rs.getInt(1);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the lock waits of " + kind + ": " + e.getMessage(), e);
    }
  }

  /**
   * @return how many sessions on this PostgreSQL database wait for an advisory lock (a key's lock of a commit) held
   *     by another transaction
   */
  int advisoryLockWaits() {
    try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
            + " AND datname = current_database()")) {
      rs.next();
      return rs.getInt(1);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the advisory lock waits: " + e.getMessage(), e);
    }
  }

  Connection connect() throws SQLException {
    return kind == Kind.SQLITE || kind == Kind.H2 ? pool.getConnection() : DriverManager.getConnection(url, user, password);
  }

  @Override
  public void close() {
    pool.close();
  }
}
