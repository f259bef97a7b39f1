package io.kyros.collab;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Time-bounded ownership of a resource. At most one unexpired lease exists per resource; it is stale
 * when the storage's clock passes {@code heartbeatAt + ttl}. {@link #fence()} strictly increases on
 * every acquisition of the resource, so a downstream system can reject writes carrying an older fence.
 *
 * <p>Immutable and thread-safe. A renewal returns a new {@code Lease} with a later heartbeat, and the
 * ttl stored for the lease (a new one after {@link Leases#renew(Lease, Duration)}).
 *
 * @param leaseId unique id of this acquisition
 * @param resource the leased resource
 * @param holder who holds it
 * @param acquiredAt when it was acquired (storage clock)
 * @param ttl how long it lives after each heartbeat
 * @param heartbeatAt the last acquisition or renewal (storage clock)
 * @param fence the fencing token of this acquisition
 */
public record Lease(String leaseId, String resource, String holder, Instant acquiredAt, Duration ttl,
    Instant heartbeatAt, long fence) {

  /**
   * Creates a lease value.
   *
   * @param leaseId unique id of this acquisition
   * @param resource the leased resource
   * @param holder who holds it
   * @param acquiredAt when it was acquired (storage clock)
   * @param ttl how long it lives after each heartbeat
   * @param heartbeatAt the last acquisition or renewal (storage clock)
   * @param fence the fencing token of this acquisition
   * @throws NullPointerException if any reference is null
   */
  public Lease {
    Objects.requireNonNull(leaseId, "leaseId");
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(holder, "holder");
    Objects.requireNonNull(acquiredAt, "acquiredAt");
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(heartbeatAt, "heartbeatAt");
  }

  /** @return the instant after which the lease is stale */
  public Instant expiresAt() {
    return heartbeatAt.plus(ttl);
  }

  /**
   * @param now the storage's current time
   * @return true if the lease is stale at {@code now}
   */
  public boolean isStaleAt(Instant now) {
    return now.isAfter(expiresAt());
  }
}
