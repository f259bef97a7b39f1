package io.kyros.collab.jdbc;

/** The model-based properties on H2. */
class H2ModelProperties extends JdbcModelProperties {
  H2ModelProperties() {
    super(TestDatabase.Kind.H2, "h2model_");
  }
}
