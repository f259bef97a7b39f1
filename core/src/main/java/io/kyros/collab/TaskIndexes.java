package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexQuery;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The secondary indexes Collab keeps on its own records ({@link io.kyros.collab.spi.IndexEntry}): every index
 * name, every key encoding, and which entries a task or lease record carries. Nothing else spells an index name
 * or a key. Stateless.
 *
 * <p>Indexes of {@code _tasks} (a task carries at most one of {@code ready}, {@code delayed}, {@code waits}; only
 * a task in its workflow's initial status carries one):
 * <pre>
 * index                          key                         who carries it
 * status:&lt;status&gt;                &lt;created&gt;                   every task (the board and Tasks.list, by status)
 * ready:&lt;workflow&gt;               &lt;rank&gt;.&lt;created&gt;            claimable now: initial status, dependencies done, backoff passed
 * ready:&lt;workflow&gt;:&lt;label&gt;       &lt;rank&gt;.&lt;created&gt;            the same, once per label (claims asking for labels)
 * delayed:&lt;workflow&gt;             &lt;time&gt; (its notBefore)     initial, dependencies done, backoff pending
 * waits                          &lt;dependency id&gt;!&lt;done&gt;      initial, waiting for its first dependency not in &lt;done&gt;
 * </pre>
 * Index of {@code _task-waiters} (see {@link TaskReadiness}):
 * <pre>
 * sweep                          &lt;task id&gt;                   the marker of a done task whose late waiters are still to move
 * </pre>
 * Indexes of {@code _leases} and {@code _task-leases}:
 * <pre>
 * expires                        &lt;time&gt; (heartbeatAt + ttl)  every held lease (a free record carries none), but:
 * expires:&lt;workflow&gt;             &lt;time&gt; (heartbeatAt + ttl)  in {@code _task-leases}: a stale claim of a task of
 *                                                            &lt;workflow&gt;, parked there by a Collab of another
 *                                                            workflow that found it in {@code expires}
 * </pre>
 * A Collab reclaims only its own workflow's claims; one of another workflow that meets a stale claim in {@code expires}
 * moves its entry to {@code expires:<the task's workflow>} (the record rewritten unchanged, no event), so claims of
 * its own workflow no longer read it, while a Collab of that workflow finds it there.
 * <ul>
 *   <li>{@code <time>}: 12 digits of epoch seconds + 10<sup>11</sup> (clamped to 0 and 10<sup>12</sup>-1), then 9
 *       digits of nanoseconds: fixed width, so keys sort as instants do.</li>
 *   <li>{@code <created>}: the task's {@code createdAt} as a {@code <time>}.</li>
 *   <li>{@code <rank>}: 10 digits of {@code 2147483647 - priority}: the highest priority first. With
 *       {@code <created>} and the id that breaks ties, the order of {@code ready} is the claim order: priority
 *       descending, then oldest, then smallest id.</li>
 *   <li>{@code <workflow>}: the workflow's name if it matches {@code [A-Za-z0-9][A-Za-z0-9._-]{0,39}}, else
 *       {@code _} and 16 hex digits of the SHA-256 of its UTF-8 bytes. {@code <label>}s are names (at most 128
 *       characters of {@code [A-Za-z0-9._-]}), statuses match {@code [a-z][a-z0-9_]*}: every index name is
 *       printable ASCII of at most 200 characters.</li>
 *   <li>{@code <done>}: the done status of the waiting task's workflow, so that the commit moving a dependency into
 *       a done status finds exactly the tasks it may unblock, whatever their workflow.</li>
 * </ul>
 * The index format has a version ({@link #VERSION}); stores written before it are re-indexed once
 * ({@link TaskReindex}).
 */
final class TaskIndexes {
  /**
   * The version of the index format above; {@link TaskReindex} brings older stores to it. Version 2: every task in
   * {@code waits} has its dependency's waiter guard ({@link RecordKeys#waiters}), which a completion from remembered
   * records relies on instead of scanning {@code waits} ({@link TaskReadiness.Waiters#NONE_ASSUMED}); stores indexed by
   * builds before guards existed, or before their key became one per task and done status, have version 1.
   */
  static final int VERSION = 2;
  /** The index of held leases by expiry, in {@code _leases} and {@code _task-leases}. */
  static final String EXPIRES = "expires";
  /** @return the index of {@code workflow}'s stale claims that a Collab of another workflow parked */
  static String parkedExpiry(String workflow) {
    return EXPIRES + ":" + workflowPart(workflow);
  }

  /** The index of tasks waiting for a dependency. */
  static final String WAITS = "waits";
  /** The index of the sweep markers in {@code _task-waiters} (a done task whose late waiters are still to move). */
  static final String SWEEP = "sweep";
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,39}");
  private static final long SECONDS_OFFSET = 100_000_000_000L;
  private static final long MAX_SECONDS = 999_999_999_999L;

  private TaskIndexes() {}

  /** @return the index of the tasks in {@code status} */
  static String status(String status) {
    return "status:" + status;
  }

  /** @return the index of the claimable tasks of {@code workflow} */
  static String ready(String workflow) {
    return "ready:" + workflowPart(workflow);
  }

  /** @return the index of the claimable tasks of {@code workflow} carrying {@code label} */
  static String readyWithLabel(String workflow, String label) {
    return "ready:" + workflowPart(workflow) + ":" + label;
  }

  /** @return the index of the tasks of {@code workflow} whose retry backoff is pending */
  static String delayed(String workflow) {
    return "delayed:" + workflowPart(workflow);
  }

  /** @return the key under which tasks whose workflow's done status is {@code done} wait for {@code dependency} */
  static String waitsKey(String dependency, String done) {
    return dependency + "!" + done;
  }

  /** @return the key of the sweep marker of task {@code id} */
  static String sweepKey(String id) {
    return id;
  }

  /** @return the fixed-width key of an instant */
  static String timeKey(Instant t) {
    long s = t.getEpochSecond() + SECONDS_OFFSET;
    if (s < 0) {
      return "0".repeat(21);
    }
    if (s > MAX_SECONDS) {
      return "9".repeat(21);
    }
    return digits(s, 12) + digits(t.getNano(), 9);
  }

  private static String digits(long value, int width) {
    String s = Long.toString(value);
    return "0".repeat(width - s.length()) + s;
  }

  /** @return the key of a claimable task: priority descending, then creation time */
  static String readyKey(int priority, Instant createdAt) {
    return digits((long) Integer.MAX_VALUE - priority, 10) + "." + timeKey(createdAt);
  }

  /** A query for one exact key of an index: every record at {@code key}, in id order. */
  static IndexQuery exactly(String collection, String index, String key, int limit) {
    return new IndexQuery(collection, index, key, IndexQuery.START, key, limit);
  }

  /**
   * Where a task stands for claims, which decides its claim index entry.
   *
   * @param kind which of ready, delayed, waiting, none
   * @param waitsOn the dependency it waits for (waiting only)
   * @param done the done status its dependencies must reach (waiting only)
   */
  record Placement(Kind kind, String waitsOn, String done) {
    enum Kind { NONE, READY, DELAYED, WAITING }

    static final Placement NONE = new Placement(Kind.NONE, null, null);
    static final Placement READY = new Placement(Kind.READY, null, null);
    static final Placement DELAYED = new Placement(Kind.DELAYED, null, null);

    static Placement waiting(String dependency, String done) {
      return new Placement(Kind.WAITING, dependency, done);
    }
  }

  /**
   * The entries of a task record placed as given.
   *
   * @param task the task record
   * @param placement where it stands for claims
   */
  static List<IndexEntry> task(ObjectNode task, Placement placement) {
    List<IndexEntry> out = new ArrayList<>(4);
    Instant created = Timestamps.parse(task.path(TaskRecord.CREATED_AT).asText());
    out.add(new IndexEntry(status(TaskRecord.status(task)), timeKey(created)));
    String workflow = TaskRecord.workflowName(task);
    switch (placement.kind()) {
      case READY -> {
        String key = readyKey(task.path(TaskRecord.PRIORITY).asInt(), created);
        out.add(new IndexEntry(ready(workflow), key));
        for (JsonNode label : task.path(TaskRecord.LABELS)) {
          out.add(new IndexEntry(readyWithLabel(workflow, label.asText()), key));
        }
      }
      case DELAYED -> out.add(new IndexEntry(delayed(workflow),
          timeKey(Timestamps.parse(task.path(TaskRecord.NOT_BEFORE).asText()))));
      case WAITING -> out.add(new IndexEntry(WAITS, waitsKey(placement.waitsOn(), placement.done())));
      case NONE -> { }
    }
    return out;
  }

  /** The entries of a held lease expiring at {@code expiresAt}. */
  static List<IndexEntry> lease(Instant expiresAt) {
    return List.of(new IndexEntry(EXPIRES, timeKey(expiresAt)));
  }

  static String workflowPart(String workflow) {
    if (PLAIN.matcher(workflow).matches()) {
      return workflow;
    }
    byte[] digest = CanonicalJson.sha256().digest(workflow.getBytes(StandardCharsets.UTF_8));
    return "_" + HexFormat.of().formatHex(digest, 0, 8);
  }
}
