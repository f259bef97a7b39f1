package io.kyros.collab.memory;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A complete {@link Storage} in memory, for tests and single-process use. It passes the same
 * conformance suite as the durable backends, with one stated difference: nothing survives the JVM,
 * and the log's memory grows with the number of events.
 *
 * <p>Commits are serialized under a write lock and are atomic and linearizable; reads take a read
 * lock. Revisions come from one counter; event ids are dense (1, 2, 3, ...), so reading after a
 * position is an index lookup.
 *
 * <p>Thread-safe.
 */
public final class MemoryStorage implements Storage {
  private final Clock clock;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Condition appended = lock.writeLock().newCondition();
  private final Map<String, NavigableMap<String, StoredRecord>> collections = new HashMap<>();
  private final ArrayList<StoredEvent> events = new ArrayList<>();
  private long revision;
  private boolean closed;

  private MemoryStorage(Clock clock) {
    this.clock = clock;
  }

  /** @return an empty storage on the system UTC clock */
  public static MemoryStorage create() {
    return create(Clock.systemUTC());
  }

  /**
   * @param clock the storage's clock: the time source for lease expiry and timestamps
   * @return an empty storage on that clock
   */
  public static MemoryStorage create(Clock clock) {
    return new MemoryStorage(Objects.requireNonNull(clock, "clock"));
  }

  @Override
  public Instant now() {
    return clock.instant();
  }

  @Override
  public Optional<StoredRecord> read(RecordKey key) {
    Objects.requireNonNull(key, "key");
    lock.readLock().lock();
    try {
      checkOpen();
      NavigableMap<String, StoredRecord> c = collections.get(key.collection());
      return Optional.ofNullable(c == null ? null : c.get(key.id()));
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public List<StoredRecord> list(String collection, String afterId, int limit) {
    Objects.requireNonNull(collection, "collection");
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
    lock.readLock().lock();
    try {
      checkOpen();
      NavigableMap<String, StoredRecord> c = collections.get(collection);
      if (c == null) {
        return List.of();
      }
      List<StoredRecord> out = new ArrayList<>(Math.min(limit, c.size()));
      for (StoredRecord r : (afterId == null ? c : c.tailMap(afterId, false)).values()) {
        if (out.size() == limit) {
          break;
        }
        out.add(r);
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public CommitResult commit(Commit commit) {
    Objects.requireNonNull(commit, "commit");
    lock.writeLock().lock();
    try {
      checkOpen();
      Instant now = clock.instant();
      for (Expectation e : commit.expectations()) {
        long actual = currentRevision(e.key());
        if (!e.isMetBy(actual, now)) {
          return new CommitResult.Conflict(e, actual);
        }
      }
      List<Long> revisions = new ArrayList<>(commit.writes().size());
      for (int i = 0; i < commit.writes().size(); i++) {
        revisions.add(revision + 1 + i);
      }
      // Build the events before changing anything, so a failure there leaves no trace.
      List<NewEvent> newEvents = commit.eventsFor(revisions);
      for (int i = 0; i < commit.writes().size(); i++) {
        Write w = commit.writes().get(i);
        long rev = ++revision;
        if (w.isDelete()) {
          NavigableMap<String, StoredRecord> c = collections.get(w.key().collection());
          if (c != null) {
            c.remove(w.key().id());
          }
        } else {
          collections.computeIfAbsent(w.key().collection(), k -> new TreeMap<>())
              .put(w.key().id(), new StoredRecord(w.key(), w.json(), rev, w.hash()));
        }
      }
      List<StoredEvent> stored = new ArrayList<>(newEvents.size());
      for (NewEvent e : newEvents) {
        StoredEvent s = StoredEvent.of(e, events.size() + 1L, now);
        events.add(s);
        stored.add(s);
      }
      if (!stored.isEmpty()) {
        appended.signalAll();
      }
      return new CommitResult.Committed(revisions, stored, now);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public List<StoredEvent> readEvents(long afterId, int limit) {
    if (afterId < 0) {
      throw new IllegalArgumentException("afterId must not be negative: " + afterId);
    }
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
    lock.readLock().lock();
    try {
      checkOpen();
      int from = (int) Math.min(afterId, events.size());
      int to = (int) Math.min((long) from + limit, events.size());
      return List.copyOf(events.subList(from, to));
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public long lastEventId() {
    lock.readLock().lock();
    try {
      return events.size();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public boolean awaitEvents(long afterId, Duration timeout) throws InterruptedException {
    long nanos = timeout.toNanos();
    lock.writeLock().lockInterruptibly();
    try {
      while (events.size() <= afterId && !closed) {
        if (nanos <= 0) {
          return false;
        }
        nanos = appended.awaitNanos(nanos);
      }
      return events.size() > afterId;
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      closed = true;
      appended.signalAll();
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "MemoryStorage[" + clock + "]";
  }

  private long currentRevision(RecordKey key) {
    NavigableMap<String, StoredRecord> c = collections.get(key.collection());
    StoredRecord r = c == null ? null : c.get(key.id());
    return r == null ? Expectation.ABSENT : r.revision();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("MemoryStorage is closed");
    }
  }
}
