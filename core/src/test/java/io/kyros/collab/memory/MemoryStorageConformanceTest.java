package io.kyros.collab.memory;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageConformanceTest;
import io.kyros.collab.spi.Storage;

/** The in-memory backend against the whole conformance suite. */
class MemoryStorageConformanceTest extends StorageConformanceTest {
  @Override
  protected Storage createStorage(MutableClock clock) {
    return MemoryStorage.create(clock);
  }
}
