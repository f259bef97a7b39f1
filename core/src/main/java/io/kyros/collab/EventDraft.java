package io.kyros.collab;

import java.util.Objects;

/**
 * An event to append with {@link EventLog#appendAll(java.util.List)}.
 *
 * <p>Immutable if {@code details} is; thread-safe as far as it is.
 *
 * @param type the event type, matching {@code [a-z][a-z0-9_.-]{0,63}}
 * @param actor who did it, or null for the {@link Collab}'s holder identity
 * @param target what it was done to
 * @param details a JSON object: a {@code JsonNode}, JSON text, or any object the mapper turns into one
 */
public record EventDraft(String type, String actor, String target, Object details) {

  /**
   * Creates a draft.
   *
   * @param type the event type, matching {@code [a-z][a-z0-9_.-]{0,63}}
   * @param actor who did it, or null for the {@link Collab}'s holder identity
   * @param target what it was done to
   * @param details a JSON object: a {@code JsonNode}, JSON text, or any object the mapper turns into one
   * @throws NullPointerException if type, target or details is null
   */
  public EventDraft {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(details, "details");
  }

  /**
   * @param type the event type
   * @param target what it was done to
   * @param details the details object
   * @return a draft acting as the {@link Collab}'s holder
   */
  public static EventDraft of(String type, String target, Object details) {
    return new EventDraft(type, null, target, details);
  }
}
