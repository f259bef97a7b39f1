package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * An agent as the {@link Agents} registry shows it at one storage time.
 *
 * <p>Immutable and thread-safe (the metadata is a private copy; do not mutate it).
 *
 * @param id its id, also the worker identity its claims carry
 * @param role its role
 * @param skills the task labels it takes, sorted
 * @param status its status at the time of the read
 * @param lastSeen its last presence heartbeat (storage time), null if it never came online
 * @param currentTasks ids of the tasks it holds claims on, sorted
 * @param metadata its free-form fields
 * @param etag the ETag of its registry record (changes on registration, toggles, arrival and departure)
 */
public record Agent(String id, String role, Set<String> skills, AgentStatus status, Instant lastSeen,
    List<String> currentTasks, ObjectNode metadata, ETag etag) {

  /**
   * Creates an agent value.
   *
   * @param id its id
   * @param role its role
   * @param skills its skills
   * @param status its status
   * @param lastSeen last heartbeat, or null
   * @param currentTasks tasks it holds
   * @param metadata free-form fields
   * @param etag its record's ETag
   * @throws NullPointerException if a required reference is null
   */
  public Agent {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(role, "role");
    skills = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(skills));
    Objects.requireNonNull(status, "status");
    currentTasks = List.copyOf(currentTasks);
    metadata = metadata.deepCopy();
    Objects.requireNonNull(etag, "etag");
  }
}
