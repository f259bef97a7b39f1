package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;

/**
 * What the commands for people and scripts ({@code tasks}, {@code leases}, {@code agents},
 * {@code batches}, {@code events}, {@code log}) do, on a store directly ({@link StoreBackend}) or through the HTTP API of
 * {@code collab serve} ({@link HttpBackend}). Both answer the HTTP API's JSON shapes ({@link Json}),
 * so {@code --json} output is the same either way. Failures are thrown: core's exceptions on a
 * store, an {@link ApiException} with the answer's status over HTTP; {@link ExitCodes} maps both.
 *
 * <p>Implementations are used by one command at a time.
 */
interface CliBackend extends AutoCloseable {
  /** @return {@code {data: [task], next_after}}; status and label may be null */
  JsonNode listTasks(String status, String label);

  /**
   * @param labels labels of which a task must carry one, empty for any
   * @param limit the most tasks, 1..1000
   * @return {@code {data: [task], more}}: the claimable tasks, best first (as {@code GET /collab/claimable})
   */
  JsonNode claimable(List<String> labels, int limit);

  /** @return {@code {id, etag}} */
  JsonNode createTask(ObjectNode spec);

  /** @return the task */
  JsonNode getTask(String id);

  /** @return {@code {task, lock_id, fence, ttl_seconds, expires_at}}, or null if nothing is claimable */
  JsonNode claimNext(String worker, Duration ttl, List<String> labels);

  /** @return the task after completion */
  JsonNode complete(String id, String lockId, long fence);

  /** @return the task after the failure */
  JsonNode fail(String id, String lockId, long fence, String error);

  /** @return {@code {old_status, new_status, etag}}: an unclaimed move of the task as it is now */
  JsonNode move(String id, String to);

  /** @return {@code {data: [lease with remaining_seconds, stale], now}} */
  JsonNode listLeases();

  /** @return {@code {lock_id, fence, expires_at, lease}} */
  JsonNode acquire(String resource, String holder, Duration ttl);

  /** @return {@code {released, lock_id}} */
  JsonNode release(String lockId);

  /** @return {@code {leases: [...], tasks: [...]}} reclaimed */
  JsonNode reclaim();

  /** @return {@code {data: [agent]}}: the agent registry, each status judged now */
  JsonNode listAgents();

  /** @return {@code {data: [batch]}} */
  JsonNode listBatches();

  /** @return the batch with its progress and {@code last_event_id} */
  JsonNode getBatch(String id);

  /** @return the id of the log's newest event, 0 if it is empty */
  long lastEventId();

  /** @return {@code {data: [event], last_id}}; waits up to {@code waitSeconds} for a first matching event */
  JsonNode events(long after, List<String> types, int limit, long waitSeconds) throws InterruptedException;

  /** @return the human log, Markdown */
  String log(long after, int limit);

  @Override
  void close();
}
