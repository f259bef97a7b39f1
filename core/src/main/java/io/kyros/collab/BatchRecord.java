package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.RecordKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The stored format of a batch, {@code _batches/<batch id>}; nothing else spells its fields. Items wait in
 * {@code pending} until released; a released item is a task ({@code _tasks/<batch id>.<item id>}) listed in
 * {@code inFlight} until it finishes, when it is counted and dropped. Every release, count and state change commits
 * on this record (its revision expected), which is how the store keeps {@code inFlight} at most {@code concurrency}
 * across every process.
 *
 * <pre>
 * {"id": "b1", "label": "resize", "policy": "retry-failed", "retries": 2, "concurrency": 4,
 *  "finalStep": "report" | null, "finalTask": "b1.final" | null, "state": "running", "reason": null,
 *  "createdAt": "...", "updatedAt": "...",
 *  "pending": [{"id": "doc-7", "title": "doc-7", "payload": "..."}],
 *  "inFlight": ["b1.doc-3", "b1.doc-4"],
 *  "total": 10, "queued": 1, "running": 1, "succeeded": 2, "failed": 0, "cancelled": 0, "priority": 0}
 * </pre>
 *
 * {@code queued} and {@code running} count the in-flight tasks by status at the last update; the pending items count
 * as queued too in {@link BatchProgress}. Stateless.
 */
final class BatchRecord {
  static final String COLLECTION = "_batches";
  static final String ID = "id";
  static final String LABEL = "label";
  static final String POLICY = "policy";
  static final String RETRIES = "retries";
  static final String CONCURRENCY = "concurrency";
  static final String FINAL_STEP = "finalStep";
  static final String FINAL_TASK = "finalTask";
  static final String STATE = "state";
  static final String REASON = "reason";
  static final String CREATED_AT = "createdAt";
  static final String UPDATED_AT = "updatedAt";
  static final String PENDING = "pending";
  static final String IN_FLIGHT = "inFlight";
  static final String TOTAL = "total";
  static final String QUEUED = "queued";
  static final String RUNNING = "running";
  static final String SUCCEEDED = "succeeded";
  static final String FAILED = "failed";
  static final String CANCELLED = "cancelled";
  static final String PRIORITY = "priority";
  static final String ITEM_ID = "id";
  static final String ITEM_TITLE = "title";
  static final String ITEM_PAYLOAD = "payload";

  private BatchRecord() {}

  static RecordKey key(String id) {
    return new RecordKey(COLLECTION, id);
  }

  /**
   * The index of running batches, by their items' label: key {@code <label>!} ({@code !} sorts before every character
   * a name holds, so one label's entries are the keys from just after {@code <label>} to {@code <label>!}). Worker
   * pools read it when idle, to bring up to date the batches whose items they serve (an advance after an item ended
   * may have been missed: a storage error, a crash between the item's commit and the batch's).
   */
  static final String RUNNING_INDEX = "running";

  /**
   * @param batch a batch record
   * @param indexed whether the storage keeps indexes
   * @return its index entries: one in {@link #RUNNING_INDEX} while it runs
   */
  static List<io.kyros.collab.spi.IndexEntry> entries(JsonNode batch, boolean indexed) {
    return indexed && state(batch) == BatchState.RUNNING
        ? List.of(new io.kyros.collab.spi.IndexEntry(RUNNING_INDEX, batch.path(LABEL).asText() + "!")) : List.of();
  }

  /** A new batch record in {@code pending}, its items waiting. */
  static ObjectNode create(ObjectNode o, String id, BatchSpec spec, Instant now) {
    o.put(ID, id).put(LABEL, spec.label()).put(POLICY, spec.policy().kind().wireName())
        .put(RETRIES, spec.policy().retries()).put(CONCURRENCY, spec.concurrency()).put(FINAL_STEP, spec.finalStepLabel())
        .putNull(FINAL_TASK).put(STATE, BatchState.PENDING.wireName()).putNull(REASON).put(CREATED_AT, now.toString())
        .put(UPDATED_AT, now.toString()).put(PRIORITY, spec.priority());
    o.putArray(PENDING);
    o.putArray(IN_FLIGHT);
    o.put(TOTAL, 0).put(QUEUED, 0).put(RUNNING, 0).put(SUCCEEDED, 0).put(FAILED, 0).put(CANCELLED, 0);
    addItems(o, spec.items());
    return o;
  }

  static void addItems(ObjectNode o, List<BatchItem> items) {
    ArrayNode pending = (ArrayNode) o.get(PENDING);
    items.forEach(i -> pending.addObject().put(ITEM_ID, i.id()).put(ITEM_TITLE, i.title()).put(ITEM_PAYLOAD,
        i.payload()));
    o.put(TOTAL, o.path(TOTAL).asInt() + items.size());
  }

  static BatchState state(JsonNode o) {
    return BatchState.fromWireName(o.path(STATE).asText());
  }

  static BatchPolicy policy(JsonNode o) {
    return BatchPolicy.of(o.path(POLICY).asText(), o.path(RETRIES).asInt());
  }

  static List<String> inFlight(JsonNode o) {
    List<String> out = new ArrayList<>();
    o.path(IN_FLIGHT).forEach(n -> out.add(n.asText()));
    return out;
  }

  static String textOrNull(JsonNode o, String field) {
    JsonNode n = o.get(field);
    return n == null || n.isNull() ? null : n.asText();
  }

  static BatchProgress progress(JsonNode o) {
    int total = o.path(TOTAL).asInt();
    int succeeded = o.path(SUCCEEDED).asInt();
    int failed = o.path(FAILED).asInt();
    int cancelled = o.path(CANCELLED).asInt();
    int finished = succeeded + failed + cancelled;
    return new BatchProgress(total, o.path(PENDING).size() + o.path(QUEUED).asInt(), o.path(RUNNING).asInt(),
        succeeded, failed, cancelled, total == 0 ? 0 : (int) (finished * 100L / total));
  }

  /**
   * Reads a record back into a {@link Batch}.
   *
   * @throws StorageException if a field cannot be read
   */
  static Batch toBatch(JsonNode o, ETag etag) {
    try {
      return new Batch(o.path(ID).asText(), o.path(LABEL).asText(), policy(o), o.path(CONCURRENCY).asInt(), state(o),
          progress(o), textOrNull(o, FINAL_STEP), textOrNull(o, FINAL_TASK), textOrNull(o, REASON),
          Timestamps.parse(o.path(CREATED_AT).asText()), Timestamps.parse(o.path(UPDATED_AT).asText()), etag);
    } catch (RuntimeException e) {
      throw new StorageException("batch record " + o.path(ID).asText() + " is damaged: " + e.getMessage(), e);
    }
  }
}
