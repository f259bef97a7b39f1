package io.kyros.collab;

import java.util.Objects;
import java.time.Duration;

/**
 * A held lease as listed by {@link Leases#list()}, with the time it has left by the storage's clock.
 *
 * <p>Immutable and thread-safe.
 *
 * @param lease the lease
 * @param remaining time until it goes stale, {@link Duration#ZERO} if it already is
 * @param stale true if it has expired and waits to be reclaimed
 */
public record LeaseStatus(Lease lease, Duration remaining, boolean stale) {

  /**
   * Creates a status.
   *
   * @param lease the lease
   * @param remaining time until it goes stale, {@link Duration#ZERO} if it already is
   * @param stale true if it has expired and waits to be reclaimed
   * @throws NullPointerException if any reference is null
   */
  public LeaseStatus {
    Objects.requireNonNull(lease, "lease");
    Objects.requireNonNull(remaining, "remaining");
  }
}
