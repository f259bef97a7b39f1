package io.kyros.collab.spi;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of {@link Storage#commit(Commit)}: {@link Committed} or {@link Conflict}.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public sealed interface CommitResult permits CommitResult.Committed, CommitResult.Conflict {

  /**
   * Everything was applied.
   *
   * @param revisions the revision assigned to each write, in the order of {@link Commit#writes()}
   *     (a delete's entry is the revision it consumed)
   * @param events the appended events with their ids and timestamps, in order
   * @param committedAt the storage clock at commit
   */
  record Committed(List<Long> revisions, List<StoredEvent> events, Instant committedAt) implements CommitResult {
    /**
     * Creates the result, copying the lists.
     *
     * @param revisions the revision assigned to each write, in the order of {@link Commit#writes()} (a delete's entry is the revision it consumed)
     * @param events the appended events with their ids and timestamps, in order
     * @param committedAt the storage clock at commit
     * @throws NullPointerException if any argument is null
     */
    public Committed {
      revisions = List.copyOf(revisions);
      events = List.copyOf(events);
      Objects.requireNonNull(committedAt, "committedAt");
    }
  }

  /**
   * Nothing was applied because an expectation did not hold.
   *
   * @param failed the first expectation that did not hold
   * @param actualRevision the revision the record had ({@link Expectation#ABSENT} if absent)
   */
  record Conflict(Expectation failed, long actualRevision) implements CommitResult {
    /**
     * Creates the result.
     *
     * @param failed the failed
     * @param actualRevision the actualRevision
     * @throws NullPointerException if failed is null
     */
    public Conflict {
      Objects.requireNonNull(failed, "failed");
    }
  }
}
