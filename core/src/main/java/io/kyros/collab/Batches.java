package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.StoredRecord;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Batches: N items run as tasks by worker pools, at most {@code concurrency} claimed at once across every worker and
 * process, under a failure policy ({@link BatchPolicy}), with an optional final step once every item has finished,
 * a state machine ({@link BatchState}) and aggregate progress ({@link BatchProgress}).
 *
 * <ul>
 *   <li>Items wait in the batch record and are released as tasks ({@code <batch id>.<item id>}, labelled with the
 *       batch's label and {@code batch.<batch id>}) only while fewer than {@code concurrency} are in flight; every
 *       release commits on the batch record with its revision expected, so the limit holds through the store, across
 *       processes, whoever claims the tasks.</li>
 *   <li>A {@link WorkerPool} brings the batch up to date after each item it claims or finishes: finished items are
 *       counted, the policy applied, more items released, the batch ended when nothing is left, and the final step's
 *       task ({@code <batch id>.final}, labelled with the final step's label and {@code batch.<batch id>}, the batch
 *       id as description) created once, unless the batch was cancelled.</li>
 *   <li>Under {@code abort-all} the first failure aborts the batch in one commit: the items not yet claimed are
 *       cancelled (released ones move to the failed status with {@code lastError} naming the abort), and
 *       {@code batch_state_changed} tells worker pools to cancel the running ones. {@link #cancel} does the same on
 *       request.</li>
 *   <li>Progress is stored with the batch, so {@link #get} returns it with the batch record's ETag, and every change
 *       records {@code batch_progress}; {@link #subscribe} follows one batch.</li>
 * </ul>
 *
 * <p>The pending items live in the batch record, so a batch's items together must fit the Collab's value size limit
 * ({@code maxValueBytes}, 1 MiB by default): a submission beyond it raises {@link ValueTooLargeException}.
 *
 * <p>Thread-safe.
 */
public final class Batches {
  /** The label prefix that marks a task as an item (or the final step) of a batch: {@code batch.<batch id>}. */
  public static final String LABEL_PREFIX = "batch.";
  /** The item id reserved for a batch's final step. */
  public static final String FINAL_STEP_ID = "final";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Core core;
  private final BatchCommits commits;
  private final EventLog events;

  Batches(Core core, EventLog events) {
    this.core = core;
    this.commits = new BatchCommits(core);
    this.events = events;
    new BatchReindex(core).ensure();
  }

  /**
   * Submits a batch and starts it: created {@code pending}, moved to {@code running} and its first items released,
   * in one commit ({@code batch_created}, {@code task_created} for each released item, {@code batch_state_changed},
   * {@code batch_progress}).
   *
   * @param spec the batch
   * @return the running batch
   * @throws PreconditionFailedException if a batch with this id exists
   * @throws ValueTooLargeException if the items do not fit in one record (started), or an item's task would not leave
   *     room below the size limit for what a claim adds to it
   */
  public Batch submit(BatchSpec spec) {
    Objects.requireNonNull(spec, "spec");
    return commits.create(idOf(spec), spec, true);
  }

  /**
   * Creates a batch in {@code pending}, releasing nothing until {@link #start}.
   *
   * @param spec the batch
   * @return the pending batch
   * @throws PreconditionFailedException if a batch with this id exists
   * @throws ValueTooLargeException if the items do not fit in one record, as it is or as {@link #start} would leave it
   *     (its first {@code concurrency} items' task ids in flight), or an item's task would not leave room below the
   *     size limit for what a claim adds to it
   */
  public Batch create(BatchSpec spec) {
    Objects.requireNonNull(spec, "spec");
    return commits.create(idOf(spec), spec, false);
  }

  /**
   * Starts a pending batch: {@code running}, its first items released.
   *
   * @param id the batch id
   * @return the batch
   * @throws NotFoundException if there is no such batch
   * @throws InvalidTransitionException if it is not pending
   */
  public Batch start(String id) {
    return commits.step(Names.requireName("batch id", id), BatchCommits.Action.START, null);
  }

  /**
   * Adds items to a pending or running batch ({@code batch_items_added}).
   *
   * @param id the batch id
   * @param items the items, at least one, ids unique within the batch
   * @return the batch
   * @throws NotFoundException if there is no such batch
   * @throws InvalidTransitionException if the batch has ended (completed, failed, aborted, cancelled)
   * @throws IllegalArgumentException if items is empty, or an id repeats or is already in the batch
   * @throws NullPointerException naming {@code items} if it or one of its items is null
   * @throws ValueTooLargeException if the batch with the items would not fit in one record (a pending one: as
   *     {@link #start} would leave it), or an item's task would not leave room below the size limit for what a claim
   *     adds to it
   */
  public Batch add(String id, List<BatchItem> items) {
    Names.requireName("batch id", id);
    return commits.add(id, BatchSpec.copyItems(items));
  }

  /**
   * Cancels a pending or running batch: items not yet claimed are cancelled, and worker pools cancel the running
   * ones when they see {@code batch_state_changed} to {@code cancelled}. No final step runs.
   *
   * @param id the batch id
   * @param reason why, kept in the batch and the event (1 to 300 characters)
   * @return the batch
   * @throws NotFoundException if there is no such batch
   * @throws InvalidTransitionException if it has already ended
   */
  public Batch cancel(String id, String reason) {
    return cancel(id, reason, Preconditions.none());
  }

  /**
   * Cancels a batch as {@link #cancel(String, String)} does, only if the preconditions hold for the batch as the
   * cancelling commit finds it (If-Match against its ETag, checked in the same commit: a change committed between
   * the caller's read and the cancel fails it).
   *
   * @param id the batch id
   * @param reason why, kept in the batch and the event (1 to 300 characters)
   * @param preconditions what must hold of the batch's ETag
   * @return the batch
   * @throws NotFoundException if there is no such batch
   * @throws PreconditionFailedException if the preconditions do not hold, with the batch as it is
   * @throws InvalidTransitionException if it has already ended
   */
  public Batch cancel(String id, String reason, Preconditions preconditions) {
    Names.requireName("batch id", id);
    Names.requireLabel("reason", reason);
    Objects.requireNonNull(preconditions, "preconditions");
    return commits.step(id, BatchCommits.Action.CANCEL, reason, preconditions);
  }

  /**
   * @param id the batch id
   * @return the batch with its progress and ETag, or empty
   */
  public Optional<Batch> get(String id) {
    Names.requireName("batch id", id);
    return core.storage().read(BatchRecord.key(id)).map(r -> BatchRecord.toBatch(core.parse(r), Core.etag(r)));
  }

  /** @return every batch, by id */
  public List<Batch> list() {
    List<Batch> out = new ArrayList<>();
    core.scan(BatchRecord.COLLECTION).forEach(r -> out.add(BatchRecord.toBatch(core.parse(r), Core.etag(r))));
    return out;
  }

  /**
   * Follows one batch: pushes its {@code batch_progress} and {@code batch_state_changed} events after
   * {@code afterId}, in order (read the progress with {@link BatchProgress#of(Event)}).
   *
   * @param id the batch id
   * @param afterId exclusive position to start after (0: from the beginning)
   * @param listener the receiver, called on the subscription's thread
   * @return the subscription
   */
  public Subscription subscribe(String id, long afterId, EventListener listener) {
    Names.requireName("batch id", id);
    Objects.requireNonNull(listener, "listener");
    String target = target(id);
    return events.subscribe(afterId, EventFilter.all().types(EventType.BATCH_PROGRESS, EventType.BATCH_STATE_CHANGED)
        .targetPrefix(target), new EventListener() {
          @Override
          public void onEvent(Event event) {
            if (event.target().equals(target)) {
              listener.onEvent(event);
            }
          }

          @Override
          public void onError(Throwable error) {
            listener.onError(error);
          }
        });
  }

  /**
   * Brings a batch up to date (counts finished items, applies its policy, releases items, ends it); commits only if
   * something changed. Worker pools call it after each item they claim or finish.
   *
   * @return the batch after the step
   */
  Batch advance(String id) {
    return commits.step(id, BatchCommits.Action.ADVANCE, null);
  }

  /**
   * The running batches whose items carry {@code label}, by id, after {@code afterId}: through the index of running
   * batches on a storage that keeps indexes (a read of the running ones only), else a scan of every batch.
   *
   * @param label an item label
   * @param afterId the exclusive start, {@link IndexQuery#START} for the first
   * @param limit the most batch ids
   * @return their ids, ascending
   */
  List<String> running(String label, String afterId, int limit) {
    List<String> out = new ArrayList<>();
    if (!core.indexed()) {
      for (StoredRecord r : core.scan(BatchRecord.COLLECTION)) {
        JsonNode b = core.parse(r);
        if (out.size() < limit && r.key().id().compareTo(afterId) > 0 && BatchRecord.state(b) == BatchState.RUNNING
            && label.equals(b.path(BatchRecord.LABEL).asText())) {
          out.add(r.key().id());
        }
      }
      return out;
    }
    // every entry of the label has the key <label>!: ordered by id within it
    String key = label + "!";
    IndexQuery q = new IndexQuery(BatchRecord.COLLECTION, BatchRecord.RUNNING_INDEX,
        afterId.isEmpty() ? label : key, afterId, key, limit);
    core.storage().scanIndex(q).forEach(hit -> out.add(hit.record().key().id()));
    return out;
  }

  /**
   * @param task a task
   * @return the id of the batch it is an item or the final step of, if any
   */
  public static Optional<String> batchOf(Task task) {
    for (String label : task.labels()) {
      if (label.startsWith(LABEL_PREFIX) && label.length() > LABEL_PREFIX.length()) {
        return Optional.of(label.substring(LABEL_PREFIX.length()));
      }
    }
    return Optional.empty();
  }

  /** The task id of an item: {@code <batch id>.<item id>}, at most 128 characters. */
  static String itemTaskId(String batchId, String itemId) {
    String id = batchId + "." + itemId;
    if (id.length() > 128) {
      throw new IllegalArgumentException("item " + itemId + " of batch " + batchId + " would get task id " + id
          + " longer than 128 characters; use shorter ids");
    }
    return id;
  }

  static String target(String id) {
    return "batches/" + id;
  }

  private static String idOf(BatchSpec spec) {
    if (spec.id() != null) {
      return spec.id();
    }
    StringBuilder b = new StringBuilder("b-");
    String chars = "abcdefghijkmnpqrstuvwxyz23456789";
    for (int i = 0; i < 12; i++) {
      b.append(chars.charAt(RANDOM.nextInt(chars.length())));
    }
    return b.toString();
  }
}
