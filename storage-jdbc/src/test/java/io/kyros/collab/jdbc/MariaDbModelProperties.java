package io.kyros.collab.jdbc;

/** The model-based properties on MariaDB. */
class MariaDbModelProperties extends JdbcModelProperties {
  MariaDbModelProperties() {
    super(TestDatabase.Kind.MARIADB, "mdbmodel_");
  }
}
