package io.kyros.collab.spi;

import java.time.Instant;
import java.util.Objects;

/**
 * An event as committed: the backend assigned {@code id} (strictly increasing in commit order) and
 * {@code ts} (the storage's clock at commit).
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the event id, &gt; 0, strictly increasing
 * @param ts when it was committed, by the storage's clock
 * @param type the event type
 * @param actor who did it
 * @param target what it was done to
 * @param detailsJson canonical JSON object text
 */
public record StoredEvent(long id, Instant ts, String type, String actor, String target, String detailsJson) {

  /**
   * Creates a stored event.
   *
   * @param id the event id, &gt; 0, strictly increasing
   * @param ts when it was committed, by the storage's clock
   * @param type the event type
   * @param actor who did it
   * @param target what it was done to
   * @param detailsJson canonical JSON object text
   * @throws NullPointerException if any reference is null
   * @throws IllegalArgumentException if id is not positive
   */
  public StoredEvent {
    if (id <= 0) {
      throw new IllegalArgumentException("event id must be positive: " + id);
    }
    Objects.requireNonNull(ts, "ts");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(actor, "actor");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(detailsJson, "detailsJson");
  }

  /**
   * @param event the event to append
   * @param id the id the backend assigned
   * @param ts the commit time the backend assigned
   * @return the stored form
   */
  public static StoredEvent of(NewEvent event, long id, Instant ts) {
    return new StoredEvent(id, ts, event.type(), event.actor(), event.target(), event.detailsJson());
  }
}
