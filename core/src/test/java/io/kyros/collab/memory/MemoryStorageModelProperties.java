package io.kyros.collab.memory;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageModelProperties;
import io.kyros.collab.spi.Storage;

/** The in-memory backend against the model-based properties. */
class MemoryStorageModelProperties extends StorageModelProperties {
  @Override
  protected Storage createStorage(MutableClock clock) {
    return MemoryStorage.create(clock);
  }
}
