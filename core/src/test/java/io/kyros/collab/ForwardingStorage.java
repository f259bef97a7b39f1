package io.kyros.collab;

import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** A storage that forwards to a memory store; tests override the primitives they make misbehave. */
class ForwardingStorage implements Storage {
  final MemoryStorage delegate = MemoryStorage.create();

  @Override
  public Instant now() {
    return delegate.now();
  }

  @Override
  public Optional<StoredRecord> read(RecordKey key) {
    return delegate.read(key);
  }

  @Override
  public List<StoredRecord> list(String collection, String afterId, int limit) {
    return delegate.list(collection, afterId, limit);
  }

  @Override
  public CommitResult commit(Commit commit) {
    return delegate.commit(commit);
  }

  @Override
  public List<StoredEvent> readEvents(long afterId, int limit) {
    return delegate.readEvents(afterId, limit);
  }

  @Override
  public long lastEventId() {
    return delegate.lastEventId();
  }

  @Override
  public boolean awaitEvents(long afterId, Duration timeout) throws InterruptedException {
    return delegate.awaitEvents(afterId, timeout);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
