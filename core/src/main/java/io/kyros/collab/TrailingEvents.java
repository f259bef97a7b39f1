package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.NewEvent;
import java.util.List;

/**
 * Events a caller inside core adds to the commit that claims a task or ends a claim, after that commit's own events:
 * a {@link WorkerPool} records {@code executor_started} in the claim's commit and {@code executor_succeeded} or
 * {@code executor_failed} in the commit that ends the claim, so a run costs no commit of its own for them and the
 * log never holds a claim without its run's start, or an end without its outcome. Implementations are stateless.
 */
@FunctionalInterface
interface TrailingEvents {
  /** No events. */
  TrailingEvents NONE = (task, lease) -> List.of();

  /**
   * The events to add, built while the commit is assembled (before it is applied).
   *
   * @param task the task record as the commit writes it
   * @param lease the claim's lease: the one taken (a claim) or the one ended; null for a move without a claim
   * @return the events, in order
   */
  List<NewEvent> build(ObjectNode task, Lease lease);
}
