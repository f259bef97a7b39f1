package io.kyros.collab.file;

/**
 * The store's two counters as this engine last knew them: the revision of the last commit and the
 * id of the last event handed out. Both only grow while the store is open; recovery sets them from
 * the lock file's header, the checkpoint, the journal and the log, and the writer advances them as
 * it assigns revisions and ids to a batch.
 *
 * <p>Locks: {@link #revision()} and {@link #eventId()} are read and changed only with the store's
 * writer lock held; {@link #published()} is volatile, for readers without the lock. Not thread-safe
 * beyond that.
 */
final class StoreCounters {
  private long revision;
  private long eventId;
  /** The last event id applied to the log by this JVM, for {@code lastEventId()} without the lock. */
  private volatile long published;

  long revision() {
    return revision;
  }

  long eventId() {
    return eventId;
  }

  /** Sets both counters (recovery). */
  void set(long revision, long eventId) {
    this.revision = revision;
    this.eventId = eventId;
  }

  /** Advances both counters by what one commit handed out. */
  void advance(int revisions, int events) {
    revision += revisions;
    eventId += events;
  }

  /** @return whether the counters equal these (another process committed since, if not) */
  boolean equalTo(long revision, long eventId) {
    return this.revision == revision && this.eventId == eventId;
  }

  /** Makes the current event id visible to readers: its events are in the log. */
  void publish() {
    published = eventId;
  }

  long published() {
    return published;
  }
}
