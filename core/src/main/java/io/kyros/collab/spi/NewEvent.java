package io.kyros.collab.spi;

import java.util.Objects;

/**
 * An event to append, before the backend has given it an id and a timestamp.
 *
 * <p>Immutable and thread-safe.
 *
 * @param type the event type, for example {@code task_claimed}
 * @param actor who did it (a holder identity or worker name)
 * @param target what it was done to, for example {@code tasks/t-1}
 * @param detailsJson canonical JSON object text with the details
 */
public record NewEvent(String type, String actor, String target, String detailsJson) {

  /**
   * Creates an event to append.
   *
   * @param type the event type, for example {@code task_claimed}
   * @param actor who did it (a holder identity or worker name)
   * @param target what it was done to, for example {@code tasks/t-1}
   * @param detailsJson canonical JSON object text with the details
   * @throws NullPointerException if any part is null
   */
  public NewEvent {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(actor, "actor");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(detailsJson, "detailsJson");
  }
}
