package io.kyros.collab;

/**
 * A batch's aggregate progress, as stored with the batch (its ETag is the batch's) and recorded in
 * {@code batch_progress} events. {@code queued} counts the items not yet claimed (released or not), {@code running}
 * those claimed; these two are as of the batch's last update (a worker pool updates it after each claim and each
 * finished item).
 *
 * <p>Immutable and thread-safe.
 *
 * @param total items in the batch
 * @param queued items waiting: not released yet, or released and not claimed (retries waiting included)
 * @param running items claimed
 * @param succeeded items completed
 * @param failed items failed for good
 * @param cancelled items cancelled by an abort or a cancel
 * @param percent finished items (succeeded, failed, cancelled) in percent of total, rounded down
 */
public record BatchProgress(int total, int queued, int running, int succeeded, int failed, int cancelled,
    int percent) {

  /**
   * Reads the progress from a {@code batch_progress} event.
   *
   * @param event the event
   * @return its progress
   * @throws IllegalArgumentException if it is not a {@code batch_progress} event
   */
  public static BatchProgress of(Event event) {
    if (!EventType.BATCH_PROGRESS.wireName().equals(event.type())) {
      throw new IllegalArgumentException("not a batch_progress event: " + event.type());
    }
    var d = event.details();
    return new BatchProgress(d.path("total").asInt(), d.path("queued").asInt(), d.path("running").asInt(),
        d.path("succeeded").asInt(), d.path("failed").asInt(), d.path("cancelled").asInt(), d.path("percent").asInt());
  }

  /** @return whether every item has finished */
  public boolean isFinished() {
    return succeeded + failed + cancelled == total;
  }
}
