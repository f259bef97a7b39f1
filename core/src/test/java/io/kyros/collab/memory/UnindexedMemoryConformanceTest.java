package io.kyros.collab.memory;

import io.kyros.collab.conformance.InterceptingStorage;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageConformanceTest;
import io.kyros.collab.conformance.UnindexedStorage;
import io.kyros.collab.spi.Storage;

/**
 * Core's generic path: the whole conformance suite on a storage that keeps no indexes (the in-memory backend behind
 * {@link UnindexedStorage}), as a third-party backend would be.
 */
class UnindexedMemoryConformanceTest extends StorageConformanceTest {
  @Override
  protected Storage createStorage(MutableClock clock) {
    return new UnindexedStorage(MemoryStorage.create(clock));
  }

  @Override
  protected void destroyStorage(Storage storage) {
    ((InterceptingStorage) storage).delegate().close();
  }
}
