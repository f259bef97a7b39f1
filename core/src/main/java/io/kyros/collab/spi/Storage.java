package io.kyros.collab.spi;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The few primitives a backend provides. Core keeps all semantics (ETags, preconditions, lease
 * expiry, fencing, workflows, retries and the events each operation records) and asks the backend
 * only to read, to commit a {@link Commit} atomically under its expectations, and to read and wait
 * for events.
 *
 * <p>Contract every implementation keeps, verified by the conformance suite in core's test-jar:
 * <ul>
 *   <li>{@link #commit} is atomic and linearizable: its expectations are checked and its writes and
 *       events applied as one step, or nothing changes;</li>
 *   <li>revisions come from one store-wide counter that only grows and never hands out a value
 *       twice, not after delete and re-create either;</li>
 *   <li>event ids strictly increase in commit order, and {@link #readEvents} after id {@code n}
 *       never skips an event that commits later with a smaller id;</li>
 *   <li>{@link #now()} is the storage's clock, the single time source for lease expiry and event
 *       timestamps (the database's clock on JDBC);</li>
 *   <li>acknowledged commits are durable unless the backend was configured otherwise.</li>
 * </ul>
 *
 * <p>Implementations must be thread-safe. Failures of the medium are reported as
 * {@link io.kyros.collab.StorageException}.
 */
public interface Storage extends AutoCloseable {

  /**
   * @return the storage's current time, used for lease expiry, timestamps and events
   */
  Instant now();

  /**
   * Reads one record.
   *
   * @param key the record
   * @return the record, or empty if it does not exist
   */
  Optional<StoredRecord> read(RecordKey key);

  /**
   * Reads several records. The default reads them one by one; backends may batch.
   *
   * @param keys the records
   * @return the records that exist, in no particular order
   */
  default List<StoredRecord> readAll(Collection<RecordKey> keys) {
    List<StoredRecord> out = new ArrayList<>(keys.size());
    for (RecordKey key : keys) {
      read(key).ifPresent(out::add);
    }
    return out;
  }

  /**
   * Lists a collection's records in id order ({@link String#compareTo}), one page at a time.
   *
   * @param collection the collection
   * @param afterId return only ids greater than this one; null to start at the beginning
   * @param limit the most records to return, &gt; 0
   * @return up to {@code limit} records, ordered by id
   */
  List<StoredRecord> list(String collection, String afterId, int limit);

  /**
   * Whether this backend keeps the {@link IndexEntry index entries} of writes and answers
   * {@link #scanIndex}. Core then finds claimable tasks, a status's tasks and expiring claims
   * through indexes, at a cost independent of history; otherwise it reads whole collections.
   * Paired with {@link #scanIndex}: a backend that returns true implements it.
   *
   * @return true if {@link #scanIndex} is supported
   */
  default boolean indexes() {
    return false;
  }

  /**
   * Reads one page of a secondary index: the records of the query's collection whose current value
   * carries an entry in the query's index, ordered by (key, record id) byte-wise ascending, strictly
   * after the query's position and with key at most its bound. Each record is returned with the
   * value committed together with that entry (an index entry never outlives or precedes its value).
   * The page reflects one committed state or a later one per record; callers check what they act on
   * with a commit's expectations.
   *
   * @param query which index, from where, how many
   * @return up to {@code query.limit()} hits in index order
   * @throws UnsupportedOperationException if {@link #indexes()} is false
   */
  default List<IndexHit> scanIndex(IndexQuery query) {
    throw new UnsupportedOperationException(getClass().getName() + " keeps no indexes (indexes() is false)");
  }

  /**
   * Reads one page of each of several secondary indexes, as {@link #scanIndex} would for each query. A backend
   * over a network answers them together (one round trip instead of one per query); the queries are not one
   * snapshot: each result reflects one committed state or a later one per record, as {@link #scanIndex} says.
   * The default runs {@link #scanIndex} once per query, in order.
   *
   * @param queries the queries
   * @return one result per query, in the order of {@code queries}
   * @throws UnsupportedOperationException if {@link #indexes()} is false
   */
  default List<List<IndexHit>> scanIndexes(List<IndexQuery> queries) {
    List<List<IndexHit>> out = new java.util.ArrayList<>(queries.size());
    for (IndexQuery q : queries) {
      out.add(scanIndex(q));
    }
    return out;
  }

  /**
   * Applies a commit atomically if all its expectations hold.
   *
   * @param commit what to check, write and append
   * @return {@link CommitResult.Committed} or {@link CommitResult.Conflict}
   */
  CommitResult commit(Commit commit);

  /**
   * Reads committed events with ids greater than {@code afterId}, in id order.
   *
   * @param afterId the exclusive lower bound (0 for the beginning)
   * @param limit the most events to return, &gt; 0
   * @return up to {@code limit} events
   */
  List<StoredEvent> readEvents(long afterId, int limit);

  /**
   * @return the id of the newest committed event that {@link #readEvents} can return, 0 if none
   */
  long lastEventId();

  /**
   * Blocks until an event with an id greater than {@code afterId} is readable, or the timeout
   * passes. Returning early without a new event is allowed (callers re-check), returning late is
   * not (beyond scheduling noise).
   *
   * @param afterId the last event id the caller has seen
   * @param timeout the longest time to wait, in real time
   * @return true if an event after {@code afterId} is readable now
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  boolean awaitEvents(long afterId, Duration timeout) throws InterruptedException;

  /**
   * Releases the backend's resources. Further calls may fail.
   */
  @Override
  void close();
}
