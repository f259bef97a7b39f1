package io.kyros.collab.memory;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
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
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A complete {@link Storage} in memory, for tests and single-process use. It passes the same
 * conformance suite as the durable backends, with one stated difference: nothing survives the JVM,
 * and the log's memory grows with the number of events.
 *
 * <p>Commits are serialized under a write lock and are atomic and linearizable; reads take a read
 * lock. Revisions come from one counter; event ids are dense (1, 2, 3, ...), so reading after a
 * position is an index lookup. Secondary indexes ({@link #scanIndex}) are sorted sets of (key, id) per
 * collection and index name, changed in the same locked step as the records they point to.
 * {@link #lastEventId()} reads a volatile counter without locking, and
 * {@link #awaitEvents} waits on a monitor of its own that commits notify after releasing the write
 * lock, so waiters never hold up commits or reads.
 *
 * <p>After {@link #close()}, every method but {@link #now()}, {@link #close()} and
 * {@link #toString()} throws {@link StorageException}, and threads waiting in {@link #awaitEvents}
 * wake up and throw it too.
 *
 * <p>Thread-safe.
 */
public final class MemoryStorage implements Storage {
  private static final Duration MAX_NANOS = Duration.ofNanos(Long.MAX_VALUE);

  private final Clock clock;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  /** Notified, after the write lock is released, when events are committed or the storage closes. */
  private final Object appended = new Object();
  private final Map<String, NavigableMap<String, StoredRecord>> collections = new HashMap<>();
  /** collection -> index name -> its entries, by (key, id). */
  private final Map<String, Map<String, TreeSet<Position>>> indexes = new HashMap<>();
  /** The entries each record carries now, so that a put or delete can remove them. */
  private final Map<RecordKey, List<IndexEntry>> entriesOf = new HashMap<>();
  private final ArrayList<StoredEvent> events = new ArrayList<>();
  private long revision;
  /** The number of committed events, which is also the newest id; written under the write lock. */
  private volatile long eventCount;
  private volatile boolean closed;

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

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the storage is closed
   */
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

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the storage is closed
   */
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

  /** @return true: this backend keeps index entries */
  @Override
  public boolean indexes() {
    return true;
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the storage is closed
   */
  @Override
  public List<IndexHit> scanIndex(IndexQuery query) {
    Objects.requireNonNull(query, "query");
    lock.readLock().lock();
    try {
      checkOpen();
      Map<String, TreeSet<Position>> byName = indexes.get(query.collection());
      TreeSet<Position> index = byName == null ? null : byName.get(query.index());
      if (index == null) {
        return List.of();
      }
      NavigableMap<String, StoredRecord> records = collections.get(query.collection());
      List<IndexHit> out = new ArrayList<>(Math.min(query.limit(), 64));
      for (Position p : index.tailSet(new Position(query.afterKey(), query.afterId()), false)) {
        if (out.size() == query.limit() || p.key().compareTo(query.untilKey()) > 0) {
          break;
        }
        out.add(new IndexHit(p.key(), records.get(p.id())));
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the storage is closed
   */
  @Override
  public CommitResult commit(Commit commit) {
    Objects.requireNonNull(commit, "commit");
    CommitResult result;
    lock.writeLock().lock();
    try {
      result = apply(commit);
    } finally {
      lock.writeLock().unlock();
    }
    if (result instanceof CommitResult.Committed c && !c.events().isEmpty()) {
      synchronized (appended) {
        appended.notifyAll();
      }
    }
    return result;
  }

  /** Checks and applies a commit; the caller holds the write lock. */
  private CommitResult apply(Commit commit) {
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
      reindex(w);
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
    eventCount = events.size();
    return new CommitResult.Committed(revisions, stored, now);
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the storage is closed
   */
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

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the storage is closed
   */
  @Override
  public long lastEventId() {
    checkOpen();
    return eventCount;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Timeouts too long to count in nanoseconds (about 292 years) wait without limit. Waiting takes
   * no lock that commits or reads need.
   *
   * @throws StorageException if the storage is closed, also while waiting
   */
  @Override
  public boolean awaitEvents(long afterId, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    long timeoutNanos = timeout.compareTo(MAX_NANOS) >= 0 ? Long.MAX_VALUE : timeout.toNanos();
    long start = System.nanoTime();
    synchronized (appended) {
      // commit publishes eventCount before taking this monitor to notify, and close sets closed
      // before it: checking both while holding the monitor means no wake-up is lost.
      while (true) {
        checkOpen();
        if (eventCount > afterId) {
          return true;
        }
        // elapsed is never negative, so this cannot overflow even for a saturated timeout
        long left = timeoutNanos - (System.nanoTime() - start);
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(appended, left);
      }
    }
  }

  /** Closes the storage and wakes every thread waiting in {@link #awaitEvents}. Idempotent. */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      closed = true;
    } finally {
      lock.writeLock().unlock();
    }
    synchronized (appended) {
      appended.notifyAll();
    }
  }

  @Override
  public String toString() {
    return "MemoryStorage[" + clock + "]";
  }

  /** Replaces the entries of the written record with the write's; the caller holds the write lock. */
  private void reindex(Write w) {
    List<IndexEntry> old = w.index().isEmpty() ? entriesOf.remove(w.key()) : entriesOf.put(w.key(), w.index());
    if (old == null && w.index().isEmpty()) {
      return;
    }
    Map<String, TreeSet<Position>> byName = indexes.computeIfAbsent(w.key().collection(), c -> new HashMap<>());
    if (old != null) {
      for (IndexEntry e : old) {
        TreeSet<Position> index = byName.get(e.index());
        index.remove(new Position(e.key(), w.key().id()));
        if (index.isEmpty()) {
          byName.remove(e.index());
        }
      }
    }
    for (IndexEntry e : w.index()) {
      byName.computeIfAbsent(e.index(), n -> new TreeSet<>()).add(new Position(e.key(), w.key().id()));
    }
  }

  /** A record's place in one index: by key, then by id (both compared as {@link String#compareTo}). */
  private record Position(String key, String id) implements Comparable<Position> {
    @Override
    public int compareTo(Position o) {
      int c = key.compareTo(o.key);
      return c != 0 ? c : id.compareTo(o.id);
    }
  }

  private long currentRevision(RecordKey key) {
    NavigableMap<String, StoredRecord> c = collections.get(key.collection());
    StoredRecord r = c == null ? null : c.get(key.id());
    return r == null ? Expectation.ABSENT : r.revision();
  }

  private void checkOpen() {
    if (closed) {
      throw new StorageException("MemoryStorage is closed");
    }
  }
}
