package io.kyros.collab.jdbc;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageModelProperties;
import io.kyros.collab.spi.Storage;
import java.util.Optional;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * The model-based properties on one database: the tables are created once per property and emptied before each
 * try, so a try costs three statements, not a schema.
 */
@AddLifecycleHook(JdbcModelProperties.SkipUnreachable.class)
abstract class JdbcModelProperties extends StorageModelProperties {
  private final TestDatabase.Kind kind;
  private final String prefix;
  private TestDatabase db;

  JdbcModelProperties(TestDatabase.Kind kind, String prefix) {
    this.kind = kind;
    this.prefix = prefix;
  }

  /**
   * Skips the property, visibly, when its database server is unreachable (see {@link TestDatabase#skipReason}).
   * It never throws: an exception from a skip hook fails the whole jqwik engine, every property of the module with
   * it. When {@code COLLAB_REQUIRE_DATABASES=1} makes an unreachable server a failure, the hook lets the property run
   * and {@link #openDatabase()} fails it, this class alone, saying why.
   */
  static final class SkipUnreachable implements SkipExecutionHook {
    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
      Optional<Class<?>> container = context.optionalContainerClass();
      if (container.isEmpty() || !JdbcModelProperties.class.isAssignableFrom(container.get())
          || java.lang.reflect.Modifier.isAbstract(container.get().getModifiers())
          || TestDatabase.databasesRequired()) {
        return SkipResult.doNotSkip();
      }
      JdbcModelProperties instance;
      try {
        instance = (JdbcModelProperties) container.get().getDeclaredConstructor().newInstance();
      } catch (ReflectiveOperationException e) {
        return SkipResult.doNotSkip(); // the property runs and reports what is wrong with the class itself
      }
      return TestDatabase.skipReason(instance.kind).map(SkipResult::skip).orElse(SkipResult.doNotSkip());
    }
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
