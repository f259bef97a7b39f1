package io.kyros.collab;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The catalogue of the events Collab records itself: each constant has the type written in the log
 * ({@link #wireName()}, for example {@code task_claimed}) and the names of the fields its {@code details}
 * may hold ({@link #detailFields()}). {@code docs/events.md} describes when each is recorded and what each
 * field means. Users append their own types with {@link EventLog#append}; those must not start with one of
 * the {@linkplain #RESERVED_PREFIXES reserved prefixes}, so the record of tasks, leases and documents
 * cannot be forged.
 *
 * <p>Immutable and thread-safe.
 */
public enum EventType {
  /** A document was created. */
  DOCUMENT_CREATED("document_created", "collection", "id", "etag", "revision", "fence", "leaseId"),
  /** A document was replaced. */
  DOCUMENT_REPLACED("document_replaced", "collection", "id", "previousEtag", "etag", "revision", "fence",
      "leaseId"),
  /** A document was deleted. */
  DOCUMENT_DELETED("document_deleted", "collection", "id", "previousEtag", "revision", "fence", "leaseId"),
  /** A lease was acquired (a resource lease or a task claim's). */
  LEASE_ACQUIRED("lease_acquired", "resource", "leaseId", "holder", "fence", "ttl", "expiresAt"),
  /** A lease was released (by its holder, or by the task change that ended a claim). */
  LEASE_RELEASED("lease_released", "resource", "leaseId", "holder", "fence", "ttl", "expiresAt"),
  /**
   * A lease was renewed with a new ttl ({@link Leases#renew(Lease, java.time.Duration)}); renewals that keep the ttl
   * record nothing.
   */
  LEASE_RENEWED("lease_renewed", "resource", "leaseId", "holder", "fence", "previousTtl", "ttl", "expiresAt"),
  /**
   * A lease's end was scheduled at an instant held by the store ({@link Leases#releaseAt}); when the instant
   * passes the lease is stale, and the next acquisition or sweep records {@code lease_reclaimed}.
   */
  LEASE_RELEASE_SCHEDULED("lease_release_scheduled", "resource", "leaseId", "holder", "fence", "releaseAt",
      "previousExpiresAt"),
  /** A stale lease was taken away from its holder. */
  LEASE_RECLAIMED("lease_reclaimed", "resource", "previousHolder", "previousLeaseId", "lastHeartbeat",
      "expiredAt", "reclaimedAt", "oldFence", "newFence", "newHolder"),
  /** A task was created. */
  TASK_CREATED("task_created", "id", "title", "status", "priority", "etag", "dependsOn", "labels"),
  /** A task's fields (not its status) were changed. */
  TASK_UPDATED("task_updated", "id", "previousEtag", "etag", "changed"),
  /** A task moved to another status through {@link Tasks#transition}. */
  TASK_TRANSITIONED("task_transitioned", "id", "oldStatus", "newStatus", "previousEtag", "etag", "fence",
      "leaseId"),
  /** A task was claimed by a worker. */
  TASK_CLAIMED("task_claimed", "id", "worker", "oldStatus", "newStatus", "leaseId", "fence", "attempts",
      "previousEtag", "etag"),
  /** A claimed task was completed. */
  TASK_COMPLETED("task_completed", "id", "oldStatus", "newStatus", "previousEtag", "etag", "fence", "leaseId"),
  /** A claimed task's attempt failed. */
  TASK_FAILED("task_failed", "id", "oldStatus", "newStatus", "previousEtag", "etag", "fence", "leaseId",
      "attempts", "maxAttempts", "retry", "error", "notBefore"),
  /** A claimed task was given back without counting an attempt. */
  TASK_RELEASED("task_released", "id", "oldStatus", "newStatus", "previousEtag", "etag", "fence", "leaseId"),
  /** A task whose claim lease went stale was taken back. */
  TASK_RECLAIMED("task_reclaimed", "id", "oldStatus", "newStatus", "attempts", "previousHolder", "oldFence",
      "previousEtag", "etag"),
  /** A {@link WorkerPool} started running a handler on a claimed task. */
  EXECUTOR_STARTED("executor_started", "id", "worker", "handler", "attempt", "fence", "leaseId"),
  /** A handler reported progress through its {@link WorkerContext}. */
  EXECUTOR_PROGRESS("executor_progress", "id", "worker", "attempt", "fence", "percent", "message"),
  /** A handler finished and its task was completed (or released, as the handler asked). */
  EXECUTOR_SUCCEEDED("executor_succeeded", "id", "worker", "handler", "attempt", "fence", "duration", "outcome"),
  /** A handler's attempt failed: it threw, timed out, returned no outcome, asked to fail, or lost its claim. */
  EXECUTOR_FAILED("executor_failed", "id", "worker", "handler", "attempt", "fence", "duration", "errorClass",
      "error", "retry", "nextAttemptAt"),
  /** A batch was created (in {@code pending}). */
  BATCH_CREATED("batch_created", "id", "label", "policy", "retries", "concurrency", "total", "finalStep", "etag"),
  /** Items were added to a pending or running batch. */
  BATCH_ITEMS_ADDED("batch_items_added", "id", "items", "total", "etag"),
  /** A batch moved from one state to another. */
  BATCH_STATE_CHANGED("batch_state_changed", "id", "oldState", "newState", "reason", "etag"),
  /** A batch's aggregate progress changed. */
  BATCH_PROGRESS("batch_progress", "id", "state", "total", "queued", "running", "succeeded", "failed", "cancelled",
      "percent", "etag"),
  /** An agent registered for the first time. */
  AGENT_REGISTERED("agent_registered", "id", "role", "skills", "status"),
  /** An agent's status changed: enabled or disabled, back online, or gone offline on purpose. */
  AGENT_STATUS_CHANGED("agent_status_changed", "id", "oldStatus", "newStatus", "reason");

  /** Type prefixes of the events Collab records itself; users cannot append types starting with them. */
  public static final List<String> RESERVED_PREFIXES = List.of("task_", "lease_", "document_", "executor_", "batch_",
      "agent_");

  private static final Map<String, EventType> BY_WIRE_NAME = Stream.of(values())
      .collect(Collectors.toUnmodifiableMap(EventType::wireName, Function.identity()));

  private final String wireName;
  private final List<String> detailFields;

  EventType(String wireName, String... detailFields) {
    this.wireName = wireName;
    this.detailFields = List.of(detailFields);
  }

  /** @return the type as written in the log, for example {@code task_claimed} */
  public String wireName() {
    return wireName;
  }

  /**
   * @return the names of the fields this type's {@code details} may hold, in the order
   *     {@code docs/events.md} lists them; some are present only in some cases (for example {@code fence} on
   *     a write guarded by a lease)
   */
  public List<String> detailFields() {
    return detailFields;
  }

  /**
   * @param wireName a type as written in the log
   * @return the catalogued type, or empty for a user's own type
   * @throws NullPointerException if wireName is null
   */
  public static Optional<EventType> fromWireName(String wireName) {
    return Optional.ofNullable(BY_WIRE_NAME.get(Objects.requireNonNull(wireName, "wireName")));
  }

  /**
   * @param type an event type
   * @return whether it starts with a prefix reserved for Collab's own events
   * @throws NullPointerException if type is null
   */
  public static boolean isReserved(String type) {
    Objects.requireNonNull(type, "type");
    for (String prefix : RESERVED_PREFIXES) { // every append asks: a loop, not a stream
      if (type.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  /** @return the wire name */
  @Override
  public String toString() {
    return wireName;
  }
}
