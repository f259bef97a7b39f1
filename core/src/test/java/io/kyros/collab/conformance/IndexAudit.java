package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredRecord;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Checks that what a storage's indexes say about Collab's tasks and leases equals what a full scan of the records
 * says, for the Kanban workflow: the format is the one docs/architecture.md and {@code TaskIndexes} document (index
 * names {@code status:<status>}, {@code ready:kanban}, {@code ready:kanban:<label>}, {@code delayed:kanban},
 * {@code waits}, {@code expires}, and {@code expires:<workflow>} for the stale claims of another workflow's tasks
 * parked there). Reads records through {@link Storage#list} and {@link Storage#readAll}, and indexes through
 * {@link Storage#scanIndexes}, one of them again through {@link Storage#scanIndex} in small pages; a storage without
 * indexes passes trivially. Test code only.
 */
public final class IndexAudit {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> KANBAN = List.of("queued", "claimed", "in_progress", "review", "approved",
      "merging", "done", "failed");

  private IndexAudit() {}

  private record TaskRow(String id, String status, int priority, Instant createdAt, Instant notBefore,
      List<String> labels, List<String> dependsOn, String workflow) {}

  /**
   * Asserts that every index agrees with a full scan.
   *
   * @param storage the storage
   * @param now the storage's time (a ready task's backoff must have passed by then)
   */
  public static void check(Storage storage, Instant now) {
    if (!storage.indexes()) {
      return;
    }
    Map<String, TaskRow> tasks = new HashMap<>();
    long revisions = 0;
    for (StoredRecord r : all(storage, "_tasks")) {
      revisions += r.revision();
      JsonNode j = parse(r);
      List<String> labels = new ArrayList<>();
      j.path("labels").forEach(l -> labels.add(l.asText()));
      List<String> deps = new ArrayList<>();
      j.path("dependsOn").forEach(d -> deps.add(d.asText()));
      JsonNode nb = j.get("notBefore");
      tasks.put(r.key().id(), new TaskRow(r.key().id(), j.path("status").asText(), j.path("priority").asInt(),
          Instant.parse(j.path("createdAt").asText()), nb == null || nb.isNull() ? null : Instant.parse(nb.asText()),
          labels, deps, j.path("workflow").asText()));
    }
    TreeSet<String> labels = new TreeSet<>();
    tasks.values().forEach(t -> labels.addAll(t.labels()));
    TreeSet<String> otherWorkflows = new TreeSet<>();
    tasks.values().forEach(t -> otherWorkflows.add(t.workflow()));
    otherWorkflows.remove("kanban");
    // every index this audit reads, read together (one round trip on a backend over a network)
    List<IndexQuery> queries = new ArrayList<>();
    KANBAN.forEach(status -> queries.add(first("_tasks", "status:" + status)));
    for (String index : List.of("waits", "ready:kanban", "delayed:kanban")) {
      queries.add(first("_tasks", index));
    }
    labels.forEach(label -> queries.add(first("_tasks", "ready:kanban:" + label)));
    otherWorkflows.forEach(w -> queries.add(first("_task-leases", "expires:" + workflowPart(w))));
    queries.add(first("_task-leases", "expires"));
    queries.add(first("_leases", "expires"));
    Map<String, List<IndexHit>> scans = scanAll(storage, queries);
    // and one of those indexes, a different one as the tasks change, page by page through scanIndex, which a backend
    // may answer in another way: both must say the same
    IndexQuery again = queries.get((int) Math.floorMod(revisions, (long) queries.size()));
    assertThat(pagedOneByOne(storage, again.collection(), again.index()))
        .as("%s %s through scanIndex, pages of 5", again.collection(), again.index())
        .isEqualTo(scans.get(name(again.collection(), again.index())));

    Comparator<TaskRow> listOrder = Comparator.comparing(TaskRow::createdAt).thenComparing(TaskRow::id);
    for (String status : KANBAN) {
      assertThat(ids(scans, "_tasks", "status:" + status)).as("status:%s", status)
          .isEqualTo(tasks.values().stream().filter(t -> t.status().equals(status)).sorted(listOrder)
              .map(TaskRow::id).toList());
    }
    // queued Kanban tasks: waiting on their first dependency not done, else ready or delayed
    List<TaskRow> claimable = new ArrayList<>();
    Map<String, String> waits = new HashMap<>();
    for (TaskRow t : tasks.values()) {
      if (!t.workflow().equals("kanban") || !t.status().equals("queued")) {
        continue;
      }
      String first = t.dependsOn().stream().filter(d -> tasks.get(d) == null || !tasks.get(d).status().equals("done"))
          .findFirst().orElse(null);
      if (first != null) {
        waits.put(t.id(), first + "!done");
      } else {
        claimable.add(t);
      }
    }
    Map<String, String> waitsIndex = new HashMap<>();
    for (IndexHit h : scans.get(name("_tasks", "waits"))) {
      waitsIndex.put(h.record().key().id(), h.key());
    }
    assertThat(waitsIndex).as("waits").isEqualTo(waits);
    // every waiting task has its dependency's guard (or sweep marker): what a completion from remembered records
    // relies on instead of scanning waits (TaskReadiness.Waiters.NONE_ASSUMED)
    Map<RecordKey, String> guards = new HashMap<>();
    for (IndexHit h : scans.get(name("_tasks", "waits"))) {
      guards.put(new RecordKey("_task-waiters", "_sha256-" + HexFormat.of().formatHex(sha256(h.key()))),
          "the guard of " + h.key() + ", which task " + h.record().key().id() + " waits on");
    }
    TreeSet<String> missingGuards = new TreeSet<>(guards.values());
    storage.readAll(guards.keySet()).forEach(r -> missingGuards.remove(guards.get(r.key())));
    assertThat(missingGuards).as("guards missing").isEmpty();
    List<String> ready = ids(scans, "_tasks", "ready:kanban");
    List<String> delayed = ids(scans, "_tasks", "delayed:kanban");
    assertThat(new TreeSet<>(concat(ready, delayed))).as("ready and delayed hold the queued tasks not waiting")
        .isEqualTo(new TreeSet<>(claimable.stream().map(TaskRow::id).toList()));
    assertThat(ready.size() + delayed.size()).as("no task is both ready and delayed").isEqualTo(claimable.size());
    for (String id : ready) {
      Instant nb = tasks.get(id).notBefore();
      assertThat(nb == null || !nb.isAfter(now)).as("ready task %s has passed its backoff %s at %s", id, nb, now)
          .isTrue();
    }
    for (String id : delayed) {
      assertThat(tasks.get(id).notBefore()).as("delayed task %s has a backoff", id).isNotNull();
    }
    Comparator<TaskRow> claimOrder = Comparator.comparingInt((TaskRow t) -> -t.priority())
        .thenComparing(TaskRow::createdAt).thenComparing(TaskRow::id);
    List<TaskRow> readyRows = ready.stream().map(tasks::get).sorted(claimOrder).toList();
    assertThat(ready).as("ready:kanban in claim order").isEqualTo(readyRows.stream().map(TaskRow::id).toList());
    for (String label : labels) {
      assertThat(ids(scans, "_tasks", "ready:kanban:" + label)).as("ready:kanban:%s", label)
          .isEqualTo(readyRows.stream().filter(t -> t.labels().contains(label)).map(TaskRow::id).toList());
    }
    for (String collection : List.of("_task-leases", "_leases")) {
      List<Map.Entry<String, Instant>> held = new ArrayList<>();
      for (StoredRecord r : all(storage, collection)) {
        JsonNode j = parse(r);
        JsonNode holder = j.get("holder");
        if (holder != null && !holder.isNull()) {
          held.add(Map.entry(r.key().id(),
              Instant.parse(j.path("heartbeatAt").asText()).plus(Duration.parse(j.path("ttl").asText()))));
        }
      }
      held.sort(Map.Entry.<String, Instant>comparingByValue().thenComparing(Map.Entry.comparingByKey()));
      // a stale claim of another workflow's task may be parked in expires:<its workflow> instead (TaskIndexes)
      TreeSet<String> parked = new TreeSet<>();
      if (collection.equals("_task-leases")) {
        Map<String, Instant> expiry = new HashMap<>();
        held.forEach(e -> expiry.put(e.getKey(), e.getValue()));
        for (String workflow : otherWorkflows) {
          for (String id : ids(scans, collection, "expires:" + workflowPart(workflow))) {
            assertThat(tasks.get(id)).as("the task of parked claim %s", id).isNotNull()
                .satisfies(t -> assertThat(t.workflow()).isEqualTo(workflow));
            assertThat(expiry.get(id)).as("parked claim %s is held and stale", id).isNotNull().isBeforeOrEqualTo(now);
            parked.add(id);
          }
        }
      }
      assertThat(ids(scans, collection, "expires")).as("expires of %s", collection)
          .isEqualTo(held.stream().map(Map.Entry::getKey).filter(id -> !parked.contains(id)).toList());
    }
  }

  /** @return a workflow's name as index names spell it (TaskIndexes): itself if plain, else {@code _} and a hash */
  private static String workflowPart(String workflow) {
    return workflow.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,39}") ? workflow
        : "_" + HexFormat.of().formatHex(sha256(workflow)).substring(0, 16);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  private static List<String> ids(Map<String, List<IndexHit>> scans, String collection, String index) {
    return scans.get(name(collection, index)).stream().map(h -> h.record().key().id()).toList();
  }

  private static String name(String collection, String index) {
    return collection + " " + index;
  }

  /** The first page of an index, small enough that the audits page through the larger ones. */
  private static IndexQuery first(String collection, String index) {
    return IndexQuery.first(collection, index, 97);
  }

  /**
   * Reads each index whole, all of them through {@link Storage#scanIndexes} (each index's next pages together
   * too), so that a backend's way of answering several queries at once is what the audit checks.
   *
   * @return each query's hits in index order, by {@link #name}
   */
  private static Map<String, List<IndexHit>> scanAll(Storage storage, List<IndexQuery> queries) {
    Map<String, List<IndexHit>> out = new HashMap<>();
    queries.forEach(q -> out.put(name(q.collection(), q.index()), new ArrayList<>()));
    List<IndexQuery> pending = queries;
    while (!pending.isEmpty()) {
      List<List<IndexHit>> pages = storage.scanIndexes(pending);
      assertThat(pages).as("one page per query").hasSize(pending.size());
      List<IndexQuery> next = new ArrayList<>();
      for (int i = 0; i < pending.size(); i++) {
        IndexQuery q = pending.get(i);
        List<IndexHit> page = pages.get(i);
        out.get(name(q.collection(), q.index())).addAll(page);
        if (page.size() == q.limit()) {
          next.add(q.after(page.get(page.size() - 1)));
        }
      }
      pending = next;
    }
    return out;
  }

  /** Every hit of an index, through {@link Storage#scanIndex} in pages of 5. */
  private static List<IndexHit> pagedOneByOne(Storage storage, String collection, String index) {
    List<IndexHit> out = new ArrayList<>();
    IndexQuery q = IndexQuery.first(collection, index, 5);
    while (true) {
      List<IndexHit> page = storage.scanIndex(q);
      assertThat(page.size()).as("a page's size").isLessThanOrEqualTo(q.limit());
      out.addAll(page);
      if (page.size() < q.limit()) {
        return out;
      }
      q = q.after(page.get(page.size() - 1));
    }
  }

  private static List<StoredRecord> all(Storage storage, String collection) {
    List<StoredRecord> out = new ArrayList<>();
    String after = null;
    while (true) {
      List<StoredRecord> page = storage.list(collection, after, 500);
      out.addAll(page);
      if (page.size() < 500) {
        return out;
      }
      after = page.get(page.size() - 1).key().id();
    }
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is missing", e);
    }
  }

  private static JsonNode parse(StoredRecord r) {
    try {
      return JSON.readTree(r.json());
    } catch (java.io.IOException e) {
      throw new AssertionError("record " + r.key() + " is not JSON", e);
    }
  }
}
