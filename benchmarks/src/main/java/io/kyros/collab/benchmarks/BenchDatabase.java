package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.jdbc.JdbcStorage;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The database servers the JDBC benchmarks and their peers use, each from environment variables with the local
 * server's {@code test} database as default: PostgreSQL from {@code COLLAB_PG_URL}, {@code COLLAB_PG_USER},
 * {@code COLLAB_PG_PASSWORD} (user {@code postgres}); MariaDB from {@code COLLAB_MARIADB_URL},
 * {@code COLLAB_MARIADB_USER}, {@code COLLAB_MARIADB_PASSWORD} (user {@code root}). Collab and its peers get pools
 * of the same size on the same server, so a comparison measures the libraries, not the setup.
 */
enum BenchDatabase {
  /** The PostgreSQL server. */
  POSTGRESQL("PG", "jdbc:postgresql://127.0.0.1:5432/test", "postgres"),
  /** The MariaDB server. */
  MARIADB("MARIADB", "jdbc:mariadb://127.0.0.1:3306/test", "root");

  final String url;
  final String user;
  final String password;

  BenchDatabase(String variable, String url, String user) {
    this.url = env("COLLAB_" + variable + "_URL", url);
    this.user = env("COLLAB_" + variable + "_USER", user);
    this.password = env("COLLAB_" + variable + "_PASSWORD", "");
  }

  /**
   * @param name the pool's name, shown in errors
   * @param size the pool's maximum size
   * @return a new pool on the benchmark database
   */
  HikariDataSource pool(String name, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(password);
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
  JdbcStorage freshStorage(HikariDataSource pool, String prefix) {
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
  void execute(HikariDataSource pool, String... sql) {
    try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
      for (String s : sql) {
        statement.execute(s);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(name() + " at " + url + " failed: " + e.getMessage(), e);
    }
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
