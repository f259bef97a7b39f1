package io.kyros.collab;

import java.util.Objects;

/**
 * A claimed task and the lease that guards the claim. Completing, failing, releasing or
 * transitioning through the claim succeeds only while the lease is current; keep it alive with
 * {@link Leases#keepAlive(Lease)} for long work.
 *
 * <p>Immutable and thread-safe.
 *
 * @param task the task as claimed
 * @param lease the claim's lease
 */
public record TaskClaim(Task task, Lease lease) {

  /**
   * Creates a claim.
   *
   * @param task the task as claimed
   * @param lease the claim's lease
   * @throws NullPointerException if any argument is null
   */
  public TaskClaim {
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(lease, "lease");
  }

  /**
   * @param newer the lease after a renewal
   * @return a claim with the renewed lease
   */
  public TaskClaim withLease(Lease newer) {
    return new TaskClaim(task, newer);
  }
}
