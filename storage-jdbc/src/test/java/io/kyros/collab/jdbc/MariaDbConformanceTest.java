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

  /**
   * A commit of this instance waits for the running one in the group commit's queue ({@link CommitGroups}); one of
   * another instance waits for the counter row's lock on the server, in a thread that looks busy: ask the server.
   */
  @Override
  protected boolean isWaitingForAnotherCommit(Thread committer) {
    return CommitGroupsTest.waitsInQueue(committer) || DB.database().lockWaits() > 0;
  }
}
