package io.kyros.collab.jdbc;

/** The model-based properties on PostgreSQL. */
class PostgresModelProperties extends JdbcModelProperties {
  PostgresModelProperties() {
    super(TestDatabase.Kind.POSTGRESQL, "pgmodel_");
  }
}
