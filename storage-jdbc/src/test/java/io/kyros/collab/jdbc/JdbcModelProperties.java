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

  /** Skips the property, visibly, when its database server is unreachable (see {@link TestDatabase#skipReason}). */
  static final class SkipUnreachable implements SkipExecutionHook {
    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
      Optional<Class<?>> container = context.optionalContainerClass();
      if (container.isEmpty() || !JdbcModelProperties.class.isAssignableFrom(container.get())
          || java.lang.reflect.Modifier.isAbstract(container.get().getModifiers())) {
        return SkipResult.doNotSkip();
      }
      try {
        JdbcModelProperties instance = (JdbcModelProperties) container.get().getDeclaredConstructor().newInstance();
        return TestDatabase.skipReason(instance.kind).map(SkipResult::skip).orElse(SkipResult.doNotSkip());
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
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
