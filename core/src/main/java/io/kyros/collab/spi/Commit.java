package io.kyros.collab.spi;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One atomic unit of work: if every expectation holds, apply every write and append every event,
 * all at once; otherwise change nothing. This is the only way core changes storage, which is how
 * "state and the events recording it commit together" (docs/design.md invariant 1) holds on every backend.
 *
 * <p>The events are built by {@link #events()} from the revisions the backend assigned to the writes,
 * so that an event can name the new ETag of what it records. The backend calls it inside its atomic
 * section, after assigning revisions and before appending; it is a pure function of its argument and
 * may be called more than once if the backend retries the commit. Events known not to depend on the
 * revisions (a commit made by {@link #of}) are also given as {@link #fixedEvents()}, which a backend may
 * append without calling it; events that name the revisions only as their decimal text (a commit made by
 * {@link #namingRevisions}, {@link #namesRevisionsAsText()}) a backend may build from stand-ins and have the
 * database complete.
 *
 * <p>Immutable and thread-safe.
 *
 * @param expectations conditions checked atomically with the writes
 * @param writes record changes, applied in order; a key appears at most once
 * @param events builds the events to append, from the revisions assigned to {@code writes} in order
 */
public record Commit(List<Expectation> expectations, List<Write> writes, EventSource events) {

  /** Builds a commit's events once its revisions are known. Implementations are pure. */
  @FunctionalInterface
  public interface EventSource {
    /**
     * @param revisions the revision assigned to each write, in the order of {@link Commit#writes()}
     * @return the events to append, in order
     */
    List<NewEvent> build(List<Long> revisions);
  }

  /**
   * Creates a commit, copying the lists.
   *
   * @param expectations conditions checked atomically with the writes
   * @param writes record changes, applied in order; a key appears at most once
   * @param events builds the events to append, from the revisions assigned to {@code writes} in order
   * @throws NullPointerException if a list, an element or the event source is null
   * @throws IllegalArgumentException if a key is written twice
   */
  public Commit {
    expectations = List.copyOf(Objects.requireNonNull(expectations, "expectations"));
    writes = List.copyOf(Objects.requireNonNull(writes, "writes"));
    Objects.requireNonNull(events, "events");
    if (writes.size() > 1) { // every commit passes here: a loop, not a stream
      Set<RecordKey> keys = new HashSet<>(writes.size() * 2);
      for (Write write : writes) {
        if (!keys.add(write.key())) {
          throw new IllegalArgumentException("a commit must not write the same key twice: " + writes);
        }
      }
    }
  }

  /**
   * A commit whose events do not depend on the assigned revisions.
   *
   * @param expectations conditions
   * @param writes record changes
   * @param events events to append
   * @return the commit
   */
  public static Commit of(List<Expectation> expectations, List<Write> writes, List<NewEvent> events) {
    return new Commit(expectations, writes, new FixedEvents(List.copyOf(events)));
  }

  /**
   * A commit whose events name the revisions only as their decimal text ({@link Long#toString(long)}) within the
   * events' details: the events built from other revisions are the same with each revision's text in place of the
   * other's, and nothing else about them (their number, types, actors, targets, any other text) depends on the
   * revisions. A backend may then build them from stand-in revisions before it knows the real ones and have the
   * database put the real revisions' text in place of the stand-ins' (PostgreSQL's one-round-trip commit does).
   * Core's task and document commits, whose events carry the new ETag ({@code "<revision>-<hash>"}) or revision, are
   * made this way.
   *
   * @param expectations conditions checked atomically with the writes
   * @param writes record changes, applied in order; a key appears at most once
   * @param events builds the events, using each revision only as its decimal text in the details
   * @return the commit
   * @throws NullPointerException if a list, an element or the event source is null
   * @throws IllegalArgumentException if a key is written twice
   */
  public static Commit namingRevisions(List<Expectation> expectations, List<Write> writes, EventSource events) {
    return new Commit(expectations, writes, new RevisionText(Objects.requireNonNull(events, "events")));
  }

  /**
   * @return true if the commit was made by {@link #namingRevisions}: its events name the revisions only as their
   *     decimal text in the details
   */
  public boolean namesRevisionsAsText() {
    return events instanceof RevisionText;
  }

  /** The events of a commit made by {@link #namingRevisions}. */
  private record RevisionText(EventSource source) implements EventSource {
    @Override
    public List<NewEvent> build(List<Long> revisions) {
      return source.build(revisions);
    }
  }

  /** The events of a commit made by {@link #of}: the same whatever the revisions. */
  private record FixedEvents(List<NewEvent> events) implements EventSource {
    @Override
    public List<NewEvent> build(List<Long> revisions) {
      return events;
    }
  }

  /**
   * The events, if they are known not to depend on the revisions (the commit was made by {@link #of}): a backend
   * may then append them before it knows the revisions, for example in the same statement round trip as the writes.
   *
   * @return the events; empty if they are built from the revisions ({@link #eventsFor})
   */
  public Optional<List<NewEvent>> fixedEvents() {
    return events instanceof FixedEvents f ? Optional.of(f.events()) : Optional.empty();
  }

  /**
   * Builds the events for the assigned revisions; what backends call.
   *
   * @param revisions the revisions assigned to {@link #writes()}, in order
   * @return the events, never null
   * @throws IllegalArgumentException if the number of revisions does not match the writes
   */
  public List<NewEvent> eventsFor(List<Long> revisions) {
    if (revisions.size() != writes.size()) {
      throw new IllegalArgumentException("expected " + writes.size() + " revisions, got " + revisions.size());
    }
    return List.copyOf(events.build(List.copyOf(revisions)));
  }
}
