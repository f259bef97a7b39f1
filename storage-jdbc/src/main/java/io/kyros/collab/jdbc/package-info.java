/**
 * Collab's JDBC storage (PostgreSQL, MariaDB/MySQL, H2, SQLite). The backend is built by its own issue; this module holds the package so that the
 * artifact and its coordinates exist from the first release.
 */
package io.kyros.collab.jdbc;
