package io.kyros.collab.memory;

import io.kyros.collab.conformance.InterceptingStorage;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageModelProperties;
import io.kyros.collab.conformance.UnindexedStorage;
import io.kyros.collab.spi.Storage;

/** Core's generic path (a storage that keeps no indexes) against the model-based properties. */
class UnindexedMemoryModelProperties extends StorageModelProperties {
  @Override
  protected Storage createStorage(MutableClock clock) {
    return new UnindexedStorage(MemoryStorage.create(clock));
  }

  @Override
  protected void destroyStorage(Storage storage) {
    ((InterceptingStorage) storage).delegate().close();
  }
}
