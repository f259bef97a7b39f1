package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Objects;

/**
 * One entry of the append-only event log, written once and never changed.
 *
 * <p>Immutable and thread-safe: {@link #details()} returns a fresh copy each call.
 *
 * @param id strictly increasing id; resume tokens are exclusive ("after id")
 * @param ts commit time by the storage's clock
 * @param type what happened, for example {@code task_claimed}
 * @param actor who did it
 * @param target what it was done to, for example {@code tasks/t-1}
 * @param details what a reader needs (old and new status, ETags, fences)
 */
public record Event(long id, Instant ts, String type, String actor, String target, ObjectNode details) {

  /**
   * Creates an event, copying the details.
   *
   * @param id strictly increasing id; resume tokens are exclusive ("after id")
   * @param ts commit time by the storage's clock
   * @param type what happened, for example {@code task_claimed}
   * @param actor who did it
   * @param target what it was done to, for example {@code tasks/t-1}
   * @param details what a reader needs (old and new status, ETags, fences)
   * @throws NullPointerException if any reference is null
   */
  public Event {
    Objects.requireNonNull(ts, "ts");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(actor, "actor");
    Objects.requireNonNull(target, "target");
    details = Objects.requireNonNull(details, "details").deepCopy();
  }

  /** @return a copy of the details object */
  @Override
  public ObjectNode details() {
    return details.deepCopy();
  }
}
