package io.kyros.collab.jdbc;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageModelProperties;
import io.kyros.collab.spi.Storage;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * The model-based properties on one database: the tables are created once per property and emptied before each
 * try, so a try costs three statements, not a schema.
 */
abstract class JdbcModelProperties extends StorageModelProperties {
  private final TestDatabase.Kind kind;
  private final String prefix;
  private TestDatabase db;

  JdbcModelProperties(TestDatabase.Kind kind, String prefix) {
    this.kind = kind;
    this.prefix = prefix;
  }

  @BeforeProperty
  void openDatabase() {
    db = TestDatabase.open(kind, prefix);
  }

  @AfterProperty
  void closeDatabase() {
    if (db != null) {
      db.close();
    }
  }

  @Override
  protected Storage createStorage(MutableClock clock) {
    db.reset();
    return db.storage(clock);
  }
}
