package io.kyros.collab.jdbc;

import java.util.List;

/**
 * The databases {@link JdbcStorage} supports. {@link JdbcStorage.Builder#dialect(JdbcDialect)}
 * overrides the choice detected from {@link java.sql.DatabaseMetaData}, for example for a driver
 * that reports an unusual product name.
 *
 * <p>Immutable and thread-safe.
 */
public enum JdbcDialect {
  /** PostgreSQL 13 or newer. */
  POSTGRESQL("postgresql"),
  /** MariaDB 10.6 or newer. */
  MARIADB("mariadb"),
  /** MySQL 8.0 or newer. */
  MYSQL("mariadb"),
  /** H2 2.x. */
  H2("h2"),
  /** SQLite 3.35 or newer, through the xerial driver. */
  SQLITE("sqlite");

  private final String directory;

  JdbcDialect(String directory) {
    this.directory = directory;
  }

  /**
   * The shipped schema scripts' file names, oldest first; a released one is never edited, only followed. A version
   * number means one schema change on every database that needs it (version 2 is reserved for PostgreSQL's
   * parallel commits).
   */
  private static final List<String> SCRIPTS = List.of("V1__collab.sql", "V3__collab_index.sql");
  /** PostgreSQL's: version 2 holds the sequences its parallel commits take revisions and event ids from. */
  private static final List<String> POSTGRESQL_SCRIPTS = List.of("V1__collab.sql", "V2__parallel_commits.sql",
      "V3__collab_index.sql");

  /**
   * The classpath resource holding this database's first schema script (version 1: the tables, and the counter
   * row as its last statement), in Flyway's naming, for example {@code io/kyros/collab/jdbc/postgresql/V1__collab.sql};
   * MariaDB and MySQL share {@code io/kyros/collab/jdbc/mariadb/V1__collab.sql}. Table names in it start with the
   * placeholder {@code ${prefix}}, to be replaced by the table prefix (empty by default). The later versions
   * follow it: see {@link #schemaResources()}.
   *
   * @return the resource name
   */
  public String schemaResource() {
    return schemaResources().get(0);
  }

  /**
   * Every schema script of this database, oldest version first, in Flyway's naming ({@code V1__collab.sql},
   * PostgreSQL's {@code V2__parallel_commits.sql}, {@code V3__collab_index.sql}, ...). A migration tool applies the ones a store lacks; each is idempotent
   * ({@code IF NOT EXISTS}), and {@link JdbcStorage#createSchema()} runs them all in order. Table names start with
   * the placeholder {@code ${prefix}}.
   *
   * @return the resource names, oldest first
   */
  public List<String> schemaResources() {
    return (this == POSTGRESQL ? POSTGRESQL_SCRIPTS : SCRIPTS).stream()
        .map(script -> "io/kyros/collab/jdbc/" + directory + "/" + script).toList();
  }

  Dialect sql() {
    return switch (this) {
      case POSTGRESQL -> new PostgresDialect();
      case MARIADB -> new MariaDbDialect(this);
      case MYSQL -> new MariaDbDialect(this);
      case H2 -> new H2Dialect();
      case SQLITE -> new SqliteDialect();
    };
  }

  /**
   * Detects the database from its metadata.
   *
   * @param productName {@link java.sql.DatabaseMetaData#getDatabaseProductName()}
   * @param productVersion {@link java.sql.DatabaseMetaData#getDatabaseProductVersion()}
   * @return the dialect, or null if the database is not supported
   */
  static JdbcDialect detect(String productName, String productVersion) {
    String name = productName == null ? "" : productName.toLowerCase(java.util.Locale.ROOT);
    String version = productVersion == null ? "" : productVersion.toLowerCase(java.util.Locale.ROOT);
    if (name.contains("postgres")) {
      return POSTGRESQL;
    }
    if (name.contains("mariadb") || (name.contains("mysql") && version.contains("mariadb"))) {
      return MARIADB;
    }
    if (name.contains("mysql")) {
      return MYSQL;
    }
    if (name.equals("h2")) {
      return H2;
    }
    if (name.contains("sqlite")) {
      return SQLITE;
    }
    return null;
  }
}
