package io.kyros.collab.jdbc;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageConformanceTest;
import io.kyros.collab.spi.Storage;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The whole conformance suite on MariaDB, on the test clock. */
class MariaDbConformanceTest extends StorageConformanceTest {
  @RegisterExtension
  static final DatabaseExtension DB = new DatabaseExtension(TestDatabase.Kind.MARIADB, "mdbconf_");

  @Override
  protected Storage createStorage(MutableClock clock) {
    return DB.freshStorage(clock);
  }

  /** A commit waiting for the counter row's lock waits on the server, in a thread that looks busy: ask the server. */
  @Override
  protected boolean isWaitingForAnotherCommit(Thread committer) {
    return DB.database().lockWaits() > 0;
  }
}
