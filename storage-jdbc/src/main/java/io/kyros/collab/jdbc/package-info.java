/**
 * Collab's JDBC storage: {@link io.kyros.collab.jdbc.JdbcStorage} on a user-supplied {@link javax.sql.DataSource},
 * for PostgreSQL, MariaDB/MySQL, H2 and SQLite ({@link io.kyros.collab.jdbc.JdbcDialect}). Many JVMs on many
 * machines may share one database; see {@code docs/jdbc.md}.
 */
package io.kyros.collab.jdbc;
