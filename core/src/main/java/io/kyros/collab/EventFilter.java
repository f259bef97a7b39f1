package io.kyros.collab;

import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Selects events by type, actor and target prefix; an empty set or null prefix matches everything.
 *
 * <p>Immutable and thread-safe.
 *
 * @param types event types to keep, empty for all
 * @param actors actors to keep, empty for all
 * @param targetPrefix keep targets starting with this, null for all
 */
public record EventFilter(Set<String> types, Set<String> actors, String targetPrefix) {

  private static final EventFilter ALL = new EventFilter(Set.of(), Set.of(), null);

  /**
   * Creates a filter, copying the sets.
   *
   * @param types event types to keep, empty for all
   * @param actors actors to keep, empty for all
   * @param targetPrefix keep targets starting with this, null for all
   * @throws NullPointerException if a set or an element is null
   */
  public EventFilter {
    types = Set.copyOf(types);
    actors = Set.copyOf(actors);
  }

  /** @return a filter that keeps every event */
  public static EventFilter all() {
    return ALL;
  }

  /**
   * @param types the event types to keep (a type given twice counts once)
   * @return a copy of this filter keeping only those types
   * @throws NullPointerException if a type is null
   */
  public EventFilter types(String... types) {
    return new EventFilter(Names.filterValues(types), actors, targetPrefix);
  }

  /**
   * @param types the catalogued event types to keep
   * @return a copy of this filter keeping only those types
   * @throws NullPointerException if a type is null
   */
  public EventFilter types(EventType... types) {
    Set<String> names = new LinkedHashSet<>();
    for (EventType t : types) {
      names.add(t.wireName());
    }
    return new EventFilter(names, actors, targetPrefix);
  }

  /**
   * @param actors the actors to keep (an actor given twice counts once)
   * @return a copy of this filter keeping only those actors
   * @throws NullPointerException if an actor is null
   */
  public EventFilter actors(String... actors) {
    return new EventFilter(types, Names.filterValues(actors), targetPrefix);
  }

  /**
   * @param prefix the target prefix, for example {@code "tasks/"} or an exact target
   * @return a copy of this filter keeping only targets that start with it
   */
  public EventFilter targetPrefix(String prefix) {
    return new EventFilter(types, actors, Objects.requireNonNull(prefix, "prefix"));
  }

  /**
   * @param type the event type
   * @param actor the actor
   * @param target the target
   * @return true if an event with these fields passes the filter
   */
  public boolean matches(String type, String actor, String target) {
    return (types.isEmpty() || types.contains(type))
        && (actors.isEmpty() || actors.contains(actor))
        && (targetPrefix == null || target.startsWith(targetPrefix));
  }

  /**
   * @param event the event
   * @return true if it passes the filter
   */
  public boolean matches(Event event) {
    return matches(event.type(), event.actor(), event.target());
  }
}
