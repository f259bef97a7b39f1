package io.kyros.collab.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.jdbc.JdbcStorage;

/**
 * The PostgreSQL every PostgreSQL benchmark and peer uses: {@link BenchDatabase#POSTGRESQL} ({@code COLLAB_PG_URL},
 * {@code COLLAB_PG_USER}, {@code COLLAB_PG_PASSWORD}, defaulting to the local server's {@code test} database as
 * {@code postgres}).
 */
final class Postgres {
  static final String URL = BenchDatabase.POSTGRESQL.url;
  static final String USER = BenchDatabase.POSTGRESQL.user;
  static final String PASSWORD = BenchDatabase.POSTGRESQL.password;

  private Postgres() {}

  /**
   * @param name the pool's name, shown in errors
   * @param size the pool's maximum size
   * @return a new pool on the benchmark database
   */
  static HikariDataSource pool(String name, int size) {
    return BenchDatabase.POSTGRESQL.pool(name, size);
  }

  /**
   * Drops a Collab table prefix's tables and creates them anew, so each trial starts empty.
   *
   * @param pool the pool
   * @param prefix the table prefix, such as {@code bench_lease_}
   * @return a storage on fresh tables
   */
  static JdbcStorage freshStorage(HikariDataSource pool, String prefix) {
    return BenchDatabase.POSTGRESQL.freshStorage(pool, prefix);
  }

  /**
   * Runs statements in auto-commit mode.
   *
   * @param pool the pool
   * @param sql the statements, run in order
   */
  static void execute(HikariDataSource pool, String... sql) {
    BenchDatabase.POSTGRESQL.execute(pool, sql);
  }
}
