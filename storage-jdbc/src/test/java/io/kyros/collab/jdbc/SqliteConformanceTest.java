package io.kyros.collab.jdbc;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageConformanceTest;
import io.kyros.collab.spi.Storage;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The whole conformance suite on SQLite, on the test clock. */
class SqliteConformanceTest extends StorageConformanceTest {
  @RegisterExtension
  static final DatabaseExtension DB = new DatabaseExtension(TestDatabase.Kind.SQLITE, "sqlconf_");

  @Override
  protected Storage createStorage(MutableClock clock) {
    return DB.freshStorage(clock);
  }

  /**
   * A commit waiting for SQLite's write lock sleeps in its busy handler, in native code, where the thread looks
   * busy: count a thread inside the native library as waiting (a statement that is not blocked there returns at once,
   * so this only lets the test go on early, never wrongly fail it).
   */
  @Override
  protected boolean isWaitingForAnotherCommit(Thread committer) {
    StackTraceElement[] stack = committer.getStackTrace();
    return super.isWaitingForAnotherCommit(committer)
        || (stack.length > 0 && stack[0].isNativeMethod() && stack[0].getClassName().startsWith("org.sqlite."));
  }
}
