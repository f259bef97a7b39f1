package io.kyros.collab;

import io.kyros.collab.conformance.InterceptingStorage;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** A storage that forwards to a memory store; tests override the primitives they make misbehave. */
class ForwardingStorage extends InterceptingStorage {
  final MemoryStorage delegate;

  ForwardingStorage() {
    this(MemoryStorage.create());
  }

  ForwardingStorage(MemoryStorage delegate) {
    super(delegate);
    this.delegate = delegate;
  }

  /** Reads one by one through {@link #read}, so a test that overrides {@code read} sees every read. */
  @Override
  public List<StoredRecord> readAll(Collection<RecordKey> keys) {
    List<StoredRecord> out = new ArrayList<>(keys.size());
    for (RecordKey key : keys) {
      read(key).ifPresent(out::add);
    }
    return out;
  }

  @Override
  public void close() {
    delegate.close();
  }
}
