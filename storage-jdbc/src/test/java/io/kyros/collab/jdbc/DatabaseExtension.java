package io.kyros.collab.jdbc;

import io.kyros.collab.conformance.MutableClock;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Opens a {@link TestDatabase} before a test class and closes it after: register it as a static field with
 * {@code @RegisterExtension}. An unreachable server skips the class (see {@link TestDatabase}).
 */
final class DatabaseExtension implements BeforeAllCallback, AfterAllCallback {
  private final TestDatabase.Kind kind;
  private final String prefix;
  private TestDatabase db;

  DatabaseExtension(TestDatabase.Kind kind, String prefix) {
    this.kind = kind;
    this.prefix = prefix;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    db = TestDatabase.open(kind, prefix);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (db != null) {
      db.close();
    }
  }

  TestDatabase db() {
    return db;
  }

  /** @return a storage on emptied tables, on the test clock */
  JdbcStorage freshStorage(MutableClock clock) {
    db.reset();
    return db.storage(clock);
  }
}
