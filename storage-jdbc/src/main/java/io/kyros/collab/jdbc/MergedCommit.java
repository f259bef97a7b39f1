package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Several commits on disjoint keys as one {@link Commit}: the expectations, writes and events of the parts,
 * concatenated in the parts' order. Because no two parts expect or write the same key, the merged commit holds exactly
 * when every part would hold at that instant, and committing it is committing the parts one after the other at one
 * time: the same writes, revisions increasing in the parts' order, each part's events contiguous and in order.
 * {@link #part} cuts a part's result out of the merged one; {@link #owner} names the part a conflict belongs to.
 *
 * <p>The merged events are fixed ({@link Commit#fixedEvents()}) when every part's are, so the merged commit may take
 * the same one-round-trip path its parts could. Otherwise each part's events are built from its slice of the
 * revisions, and how many each built is remembered for {@link #part}: the source is pure, so the last build (the one
 * of the attempt that committed) gives the counts.
 *
 * <p>Not thread-safe: built, committed and cut by one thread (the group's leader).
 */
final class MergedCommit {
  private final List<Commit> parts;
  private final Commit commit;
  private final int[] writeOffsets;
  private final int[] eventCounts;

  private MergedCommit(List<Commit> parts) {
    this.parts = List.copyOf(parts);
    int n = parts.size();
    writeOffsets = new int[n + 1];
    eventCounts = new int[n];
    List<Expectation> expectations = new ArrayList<>();
    List<Write> writes = new ArrayList<>();
    List<NewEvent> fixed = new ArrayList<>();
    boolean allFixed = true;
    for (int i = 0; i < n; i++) {
      Commit c = parts.get(i);
      expectations.addAll(c.expectations());
      writes.addAll(c.writes());
      writeOffsets[i + 1] = writes.size();
      Optional<List<NewEvent>> f = c.fixedEvents();
      if (f.isPresent()) {
        fixed.addAll(f.get());
        eventCounts[i] = f.get().size();
      } else {
        allFixed = false;
      }
    }
    commit = allFixed ? Commit.of(expectations, writes, fixed) : new Commit(expectations, writes, this::build);
  }

  /**
   * @param parts commits of which no two expect or write the same key, at least two
   * @return them merged
   * @throws IllegalArgumentException if two parts share a key, or fewer than two are given
   */
  static MergedCommit of(List<Commit> parts) {
    if (parts.size() < 2) {
      throw new IllegalArgumentException("a merged commit needs at least two parts, got " + parts.size());
    }
    Set<RecordKey> seen = new java.util.HashSet<>();
    for (Commit c : parts) {
      for (RecordKey k : keys(c)) {
        if (!seen.add(k)) {
          throw new IllegalArgumentException("merged commits must not share a key: " + k);
        }
      }
    }
    return new MergedCommit(parts);
  }

  /**
   * @param c a commit
   * @return every key it expects or writes, distinct
   */
  static Set<RecordKey> keys(Commit c) {
    Set<RecordKey> keys = new java.util.HashSet<>();
    c.expectations().forEach(e -> keys.add(e.key()));
    c.writes().forEach(w -> keys.add(w.key()));
    return keys;
  }

  /** @return the merged commit */
  Commit commit() {
    return commit;
  }

  private List<NewEvent> build(List<Long> revisions) {
    List<NewEvent> events = new ArrayList<>();
    for (int i = 0; i < parts.size(); i++) {
      List<NewEvent> own;
      try {
        own = parts.get(i).eventsFor(revisions.subList(writeOffsets[i], writeOffsets[i + 1]));
      } catch (Throwable e) {
        // whatever it is (an Error, a StorageException of its own, a checked exception thrown undeclared), it is this
        // part's: the group runs each commit again alone, so that it reaches this commit only, as it is
        throw new PartFailedException(i, e);
      }
      eventCounts[i] = own.size();
      events.addAll(own);
    }
    return events;
  }

  /**
   * A part's event function failed, before anything was committed: {@link CommitGroups} runs each commit of the group
   * again alone (this exception is neither a {@code StorageException} nor an {@code Error}), so the failure reaches
   * that commit only, as it was thrown. Never seen by callers.
   */
  static final class PartFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PartFailedException(int part, Throwable cause) {
      super("the event function of commit " + part + " of a group failed: " + cause, cause);
    }
  }

  /**
   * @param i a part's position
   * @param merged the merged commit's result
   * @return what committing part {@code i} alone at that instant returns: its revisions, its events (with the ids and
   *     time they got), the commit time
   */
  CommitResult.Committed part(int i, CommitResult.Committed merged) {
    int firstEvent = 0;
    for (int j = 0; j < i; j++) {
      firstEvent += eventCounts[j];
    }
    List<StoredEvent> events = merged.events().subList(firstEvent, firstEvent + eventCounts[i]);
    return new CommitResult.Committed(merged.revisions().subList(writeOffsets[i], writeOffsets[i + 1]),
        events, merged.committedAt());
  }

  /**
   * @param conflict the merged commit's conflict
   * @return the position of the part whose expectation failed: the result that part gets, since every expectation
   *     before it held and no other part touches its key
   * @throws IllegalStateException if no part expects the failed key
   */
  int owner(CommitResult.Conflict conflict) {
    RecordKey key = conflict.failed().key();
    for (int i = 0; i < parts.size(); i++) {
      for (Expectation e : parts.get(i).expectations()) {
        if (e.key().equals(key)) {
          return i;
        }
      }
    }
    throw new IllegalStateException("no part of the merged commit expects " + key);
  }
}
