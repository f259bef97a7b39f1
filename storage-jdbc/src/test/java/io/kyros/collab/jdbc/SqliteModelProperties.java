package io.kyros.collab.jdbc;

/** The model-based properties on SQLite. */
class SqliteModelProperties extends JdbcModelProperties {
  SqliteModelProperties() {
    super(TestDatabase.Kind.SQLITE, "sqlmodel_");
  }
}
