package io.kyros.collab.jdbc;

import io.kyros.collab.conformance.MutableClock;
import java.util.Optional;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Opens a {@link TestDatabase} before a test class and closes it after: register it as a static field with
 * {@code @RegisterExtension}. An unreachable server disables each test, so reports count them as skipped, with the
 * reason (see {@link TestDatabase#skipReason}).
 */
final class DatabaseExtension implements BeforeAllCallback, AfterAllCallback, ExecutionCondition {
  private final TestDatabase.Kind kind;
  private final String prefix;
  private Optional<String> skipped;
  private TestDatabase db;

  DatabaseExtension(TestDatabase.Kind kind, String prefix) {
    this.kind = kind;
    this.prefix = prefix;
  }

  private synchronized Optional<String> skipped() {
    if (skipped == null) {
      skipped = TestDatabase.skipReason(kind);
    }
    return skipped;
  }

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    if (context.getTestMethod().isEmpty()) {
      return ConditionEvaluationResult.enabled("tests decide one by one");
    }
    return skipped().map(ConditionEvaluationResult::disabled)
        .orElseGet(() -> ConditionEvaluationResult.enabled(kind + " is reachable"));
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    if (skipped().isEmpty()) {
      db = TestDatabase.open(kind, prefix);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (db != null) {
      db.close();
    }
  }

  /** @return the open database */
  TestDatabase database() {
    return db;
  }

  /** @return a storage on emptied tables, on the test clock */
  JdbcStorage freshStorage(MutableClock clock) {
    db.reset();
    return db.storage(clock);
  }
}
