package io.kyros.collab;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;

/**
 * What a {@link TaskHandler} gets for one claimed task: the task, its claim and fence, whether the claim is still
 * current, whether the run was cancelled, and ways to report progress ({@code executor_progress}) and tick checklist
 * items. Created by the {@link WorkerPool} for one run.
 *
 * <p>Thread-safe: the handler may hand it to threads of its own.
 */
public final class WorkerContext {
  private final WorkerRun run;

  WorkerContext(WorkerRun run) {
    this.run = run;
  }

  /** @return the task as it was claimed */
  public Task task() {
    return run.claim().task();
  }

  /** @return the claim, with the lease as last renewed by the pool's keep-alive */
  public TaskClaim claim() {
    return run.claim();
  }

  /** @return the claim's fencing token: pass it to downstream systems so a stale worker's writes can be refused */
  public long fence() {
    return run.claim().lease().fence();
  }

  /** @return this attempt's number, from 1 (failed and reclaimed attempts before it, plus one) */
  public int attempt() {
    return run.attempt();
  }

  /** @return the identity the pool claims as (its agent id) */
  public String worker() {
    return run.worker();
  }

  /** @return the id of the batch the task belongs to, if it is a batch item or a batch's final step */
  public Optional<String> batchId() {
    return Batches.batchOf(task());
  }

  /**
   * Asks the storage whether the claim is still current (not released, not reclaimed, not expired by the storage's
   * clock). The keep-alive notices a loss on its own and cancels the run; this is for a handler about to do
   * something it cannot undo.
   *
   * @return whether the claim is current
   * @throws StorageException if the storage fails
   */
  public boolean isCurrent() {
    return run.isClaimCurrent();
  }

  /** @return whether the run was cancelled: claim lost, timeout, batch aborted or cancelled, or pool shut down */
  public boolean isCancelled() {
    return run.cancelReason() != null;
  }

  /** @return why the run was cancelled, if it was */
  public Optional<String> cancellationReason() {
    return Optional.ofNullable(run.cancelReason());
  }

  /**
   * Throws if the run was cancelled; a handler calls it between steps.
   *
   * @throws CancellationException naming the reason, if cancelled
   */
  public void throwIfCancelled() {
    String reason = run.cancelReason();
    if (reason != null) {
      throw new CancellationException(reason);
    }
  }

  /**
   * Records {@code executor_progress} for the task, in a commit of its own.
   *
   * @param percent how far the handler is, 0 to 100
   * @param message what it is doing, at most 300 characters, whole characters only
   * @throws IllegalArgumentException if percent is out of range, or the message too long or holds a lone surrogate
   *     (half of a character, which stored JSON text cannot hold); nothing is recorded
   * @throws NullPointerException if message is null
   * @throws StorageException if the storage fails (the progress may not be recorded)
   */
  public void progress(int percent, String message) {
    if (percent < 0 || percent > 100) {
      throw new IllegalArgumentException("percent must be between 0 and 100: " + percent);
    }
    Objects.requireNonNull(message, "message");
    if (message.length() > Names.MAX_LABEL_LENGTH) {
      throw new IllegalArgumentException("message must have at most " + Names.MAX_LABEL_LENGTH + " characters, got "
          + message.length());
    }
    Names.requireWholeCharacters("message", message);
    run.recordProgress(percent, message);
  }

  /**
   * Marks checklist item {@code index} of the task done or not done (a {@code task_updated}), only while this run's
   * claim is current: the claim's lease is expected in the same commit. Threads of the handler may tick items at
   * once: a tick that finds the task changed since it read it (another tick committed in between) reads it again and
   * ticks that, so no tick is lost and none fails for it.
   *
   * @param index the item's position, from 0
   * @param done whether it is done
   * @return the task after the change
   * @throws IndexOutOfBoundsException if the task has no such item
   * @throws LeaseLostException if the claim is no longer current (the task may be another worker's; nothing was
   *     written)
   * @throws UpdateConflictException if the task kept changing under it for longer than the {@link Collab}'s update
   *     timeout (nothing was written)
   * @throws StorageException if the storage fails
   */
  public Task check(int index, boolean done) {
    return run.updateChecklist(items -> {
      List<ChecklistItem> changed = new ArrayList<>(items);
      ChecklistItem item = changed.get(Objects.checkIndex(index, changed.size()));
      changed.set(index, new ChecklistItem(item.text(), done));
      return changed;
    });
  }
}
