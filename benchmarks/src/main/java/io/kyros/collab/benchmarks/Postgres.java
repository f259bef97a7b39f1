package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.jdbc.JdbcStorage;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The PostgreSQL every database benchmark and peer uses: {@code COLLAB_PG_URL}, {@code COLLAB_PG_USER} and
 * {@code COLLAB_PG_PASSWORD}, defaulting to the local server's {@code test} database as {@code postgres}. Collab and
 * its peers get pools of the same size on the same server, so a comparison measures the libraries, not the setup.
 */
final class Postgres {
  static final String URL = env("COLLAB_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  static final String USER = env("COLLAB_PG_USER", "postgres");
  static final String PASSWORD = env("COLLAB_PG_PASSWORD", "");

  private Postgres() {}

  /**
   * @param name the pool's name, shown in errors
   * @param size the pool's maximum size
   * @return a new pool on the benchmark database
   */
  static HikariDataSource pool(String name, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(URL);
    config.setUsername(USER);
    config.setPassword(PASSWORD);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(size);
    config.setPoolName(name);
    return new HikariDataSource(config);
  }

  /**
   * Drops a Collab table prefix's tables and creates them anew, so each trial starts empty.
   *
   * @param pool the pool
   * @param prefix the table prefix, such as {@code bench_lease_}
   * @return a storage on fresh tables
   */
  static JdbcStorage freshStorage(HikariDataSource pool, String prefix) {
    execute(pool, "DROP TABLE IF EXISTS " + prefix + "collab_index, " + prefix + "collab_events, " + prefix
        + "collab_records, " + prefix + "collab_meta");
    JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix(prefix).build();
    storage.createSchema();
    return storage;
  }

  /**
   * Runs statements in auto-commit mode.
   *
   * @param pool the pool
   * @param sql the statements, run in order
   */
  static void execute(HikariDataSource pool, String... sql) {
    try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
      for (String s : sql) {
        statement.execute(s);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("PostgreSQL at " + URL + " failed: " + e.getMessage(), e);
    }
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
