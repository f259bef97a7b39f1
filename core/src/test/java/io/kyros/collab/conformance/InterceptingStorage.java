package io.kyros.collab.conformance;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A storage that forwards every call to another one and lets a test step into its commits, so that the
 * conformance suite can stage interleavings deterministically on any backend: advance the clock between core's
 * checks and the commit, hold a commit open inside the backend's atomic section ({@link CommitGate}), replace a
 * commit's event function, or fail a commit before or after the backend applies it. The backend under test is the
 * delegate: only the commits are intercepted, reads go straight through.
 *
 * <p>Lives in core's test-jar, never in a main jar. Thread-safe: the interceptor is swapped atomically and each
 * commit uses the one installed when it starts.
 */
public class InterceptingStorage implements Storage {

  /** What a test does in place of one commit. */
  @FunctionalInterface
  public interface Interceptor {
    /**
     * @param commit the commit core asked for
     * @param next the backend: calling {@code next.commit(...)} applies a commit for real
     * @return the result core sees
     */
    CommitResult commit(Commit commit, Storage next);
  }

  /** The interceptor that changes nothing. */
  public static final Interceptor FORWARD = (commit, next) -> next.commit(commit);

  private final Storage delegate;
  private final AtomicReference<Interceptor> interceptor = new AtomicReference<>(FORWARD);

  /**
   * @param delegate the backend under test
   */
  public InterceptingStorage(Storage delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /** @return the backend under test */
  public Storage delegate() {
    return delegate;
  }

  /**
   * Installs an interceptor for every following commit, replacing the previous one.
   *
   * @param next the interceptor; {@link #FORWARD} to stop intercepting
   */
  public void intercept(Interceptor next) {
    interceptor.set(Objects.requireNonNull(next, "next"));
  }

  /**
   * Installs an interceptor for the next commit only; the commits after it are forwarded.
   *
   * @param once the interceptor
   */
  public void interceptNext(Interceptor once) {
    Objects.requireNonNull(once, "once");
    interceptor.set(new Interceptor() {
      @Override
      public CommitResult commit(Commit commit, Storage next) {
        interceptor.compareAndSet(this, FORWARD);
        return once.commit(commit, next);
      }
    });
  }

  /**
   * @param commit a commit
   * @param events another event function
   * @return the same expectations and writes with {@code events} as the event function
   */
  public static Commit withEvents(Commit commit, Commit.EventSource events) {
    return new Commit(commit.expectations(), commit.writes(), events);
  }

  @Override
  public CommitResult commit(Commit commit) {
    return interceptor.get().commit(commit, delegate);
  }

  @Override
  public Instant now() {
    return delegate.now();
  }

  @Override
  public Optional<StoredRecord> read(RecordKey key) {
    return delegate.read(key);
  }

  @Override
  public List<StoredRecord> readAll(Collection<RecordKey> keys) {
    return delegate.readAll(keys);
  }

  @Override
  public List<StoredRecord> list(String collection, String afterId, int limit) {
    return delegate.list(collection, afterId, limit);
  }

  @Override
  public boolean indexes() {
    return delegate.indexes();
  }

  @Override
  public List<IndexHit> scanIndex(IndexQuery query) {
    return delegate.scanIndex(query);
  }

  /** The backend's own: a subclass that overrides {@link #scanIndex} to step into reads overrides this too. */
  @Override
  public List<List<IndexHit>> scanIndexes(List<IndexQuery> queries) {
    return delegate.scanIndexes(queries);
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

  /** Does not close the delegate: whoever created it does. */
  @Override
  public void close() {}
}
