package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;

/**
 * The stored format of a lease record ({@code _leases/<id>}, the id derived from the resource name by
 * {@link RecordKeys#lease}, or {@code _task-leases/<task id>}), and the {@code details} of the lease events. A
 * held record carries every field of a {@link Lease}, the resource's name as given included, and
 * {@code releaseAt} once {@link Leases#releaseAt} has scheduled its end (then {@code heartbeatAt + ttl} equals
 * it); a free record keeps only {@code resource} and the last {@code fence}, so the next acquisition's fence
 * is higher. Stateless.
 */
final class LeaseRecord {
  static final String RESOURCE = "resource";
  static final String LEASE_ID = "leaseId";
  static final String HOLDER = "holder";
  static final String ACQUIRED_AT = "acquiredAt";
  static final String TTL = "ttl";
  static final String HEARTBEAT_AT = "heartbeatAt";
  static final String FENCE = "fence";
  static final String RELEASE_AT = "releaseAt";
  static final String EXPIRES_AT = "expiresAt";

  private LeaseRecord() {}

  /** Fills {@code into} with a held lease's record. */
  static ObjectNode held(ObjectNode into, Lease l) {
    return into.put(RESOURCE, l.resource()).put(LEASE_ID, l.leaseId()).put(HOLDER, l.holder())
        .put(ACQUIRED_AT, l.acquiredAt().toString()).put(TTL, l.ttl().toString())
        .put(HEARTBEAT_AT, l.heartbeatAt().toString()).put(FENCE, l.fence());
  }

  /** Fills {@code into} with a held lease's record whose end is scheduled at its expiry. */
  static ObjectNode releaseScheduled(ObjectNode into, Lease l) {
    return held(into, l).put(RELEASE_AT, l.expiresAt().toString());
  }

  /**
   * @param o a parsed lease record
   * @return when its release is scheduled, or null if it is not
   * @throws java.time.format.DateTimeParseException if the field is damaged
   */
  static Instant releaseAt(ObjectNode o) {
    JsonNode at = o.get(RELEASE_AT);
    return at == null || at.isNull() ? null : Timestamps.parse(at.asText());
  }

  /** Fills {@code into} with a free record that keeps the last fence. */
  static ObjectNode free(ObjectNode into, String resource, long fence) {
    return into.put(RESOURCE, resource).put(FENCE, fence);
  }

  /** @return the last fence handed out for the record's resource, 0 if none */
  static long lastFence(ObjectNode o) {
    return o.path(FENCE).asLong(0);
  }

  /**
   * The held lease a record stores.
   *
   * @param o the parsed record
   * @param r the record, for the error message
   * @return the lease, or null if the record is free
   * @throws StorageException if the record is damaged
   */
  static Lease decode(ObjectNode o, StoredRecord r) {
    JsonNode holder = o.get(HOLDER);
    if (holder == null || holder.isNull()) {
      return null;
    }
    try {
      return new Lease(o.path(LEASE_ID).asText(), o.path(RESOURCE).asText(), holder.asText(),
          Timestamps.parse(o.path(ACQUIRED_AT).asText()), Duration.parse(o.path(TTL).asText()),
          Timestamps.parse(o.path(HEARTBEAT_AT).asText()), o.path(FENCE).asLong());
    } catch (RuntimeException e) {
      throw new StorageException("lease record " + r.key() + " is damaged: " + e.getMessage(), e);
    }
  }

  /** Fills {@code into} with the details of {@link EventType#LEASE_ACQUIRED} and {@link EventType#LEASE_RELEASED}. */
  static ObjectNode details(ObjectNode into, Lease l) {
    return into.put(RESOURCE, l.resource()).put(LEASE_ID, l.leaseId()).put(HOLDER, l.holder())
        .put(FENCE, l.fence()).put(TTL, l.ttl().toString()).put(EXPIRES_AT, l.expiresAt().toString());
  }

  /**
   * Fills {@code into} with the details of {@link EventType#LEASE_RENEWED}.
   *
   * @param previous the lease as it was
   * @param renewed the lease with its new ttl and heartbeat
   */
  static ObjectNode renewDetails(ObjectNode into, Lease previous, Lease renewed) {
    return into.put(RESOURCE, renewed.resource()).put(LEASE_ID, renewed.leaseId()).put(HOLDER, renewed.holder())
        .put(FENCE, renewed.fence()).put("previousTtl", previous.ttl().toString()).put(TTL, renewed.ttl().toString())
        .put(EXPIRES_AT, renewed.expiresAt().toString());
  }

  /**
   * Fills {@code into} with the details of {@link EventType#LEASE_RELEASE_SCHEDULED}.
   *
   * @param previous the lease as it was
   * @param scheduled the lease as stored, expiring at the scheduled release
   */
  static ObjectNode scheduleDetails(ObjectNode into, Lease previous, Lease scheduled) {
    return into.put(RESOURCE, scheduled.resource()).put(LEASE_ID, scheduled.leaseId())
        .put(HOLDER, scheduled.holder()).put(FENCE, scheduled.fence())
        .put(RELEASE_AT, scheduled.expiresAt().toString()).put("previousExpiresAt", previous.expiresAt().toString());
  }

  /**
   * Fills {@code into} with the details of {@link EventType#LEASE_RECLAIMED} for a stale lease that is only freed:
   * {@code newFence} is null and there is no {@code newHolder}.
   */
  static ObjectNode freedDetails(ObjectNode into, Lease previous, Instant now) {
    return stale(into, previous, now).putNull("newFence");
  }

  /** Fills {@code into} with the details of {@link EventType#LEASE_RECLAIMED} for a stale lease {@code next} replaces. */
  static ObjectNode replacedDetails(ObjectNode into, Lease previous, Lease next, Instant now) {
    return stale(into, previous, now).put("newFence", next.fence()).put("newHolder", next.holder());
  }

  private static ObjectNode stale(ObjectNode into, Lease previous, Instant now) {
    return into.put(RESOURCE, previous.resource()).put("previousHolder", previous.holder())
        .put("previousLeaseId", previous.leaseId()).put("lastHeartbeat", previous.heartbeatAt().toString())
        .put("expiredAt", previous.expiresAt().toString()).put("reclaimedAt", now.toString())
        .put("oldFence", previous.fence());
  }
}
