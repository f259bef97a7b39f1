package io.kyros.collab.jdbc;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageConformanceTest;
import io.kyros.collab.spi.Storage;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The whole conformance suite on PostgreSQL, on the test clock. */
class PostgresConformanceTest extends StorageConformanceTest {
  @RegisterExtension
  static final DatabaseExtension DB = new DatabaseExtension(TestDatabase.Kind.POSTGRESQL, "pgconf_");

  @Override
  protected Storage createStorage(MutableClock clock) {
    return DB.freshStorage(clock);
  }

  /** A commit waiting for another's key lock (an advisory lock) waits on the server, in a thread that looks busy: ask it. */
  @Override
  protected boolean isWaitingForAnotherCommit(Thread committer) {
    return DB.database().lockWaits() > 0;
  }
}
