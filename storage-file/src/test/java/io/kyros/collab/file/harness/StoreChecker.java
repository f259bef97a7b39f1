package io.kyros.collab.file.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kyros.collab.CanonicalJson;
import io.kyros.collab.Collab;
import io.kyros.collab.ETag;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Checks a store after its writers stopped (or were killed) against what they acknowledged.
 * Acknowledgement lines accumulate ({@link #addAcks}); {@link #check} reads the whole store through
 * the {@link Storage} SPI and Collab's API and counts three kinds of damage:
 * <ul>
 *   <li><b>lost</b>: an acknowledged operation that is not there. A put acknowledged with ETag
 *       {@code r-h} needs a {@code document_created/replaced} event naming that ETag (with the
 *       acknowledged fence, for guarded writes), and the document now at a revision &gt;= r, or
 *       deleted later (a {@code document_deleted} with a higher revision). An acknowledged delete
 *       needs a {@code document_deleted} naming the deleted ETag, and the document now absent or
 *       re-created at a higher revision. An acknowledged append needs the event with that id, type,
 *       target and details. An acknowledged task state needs a task event naming the task's ETag,
 *       and an acknowledged {@code done} needs the task done now. Acknowledged acquisitions and
 *       releases need their {@code lease_acquired}/{@code lease_released} events.</li>
 *   <li><b>torn</b>: a record that cannot be read ({@link Storage#list}, {@link Storage#read} or
 *       Collab's {@code list} throws), is not a JSON object, or whose content hash does not match
 *       the hash stored with it.</li>
 *   <li><b>corrupt</b>: the log cannot be read from 0 to {@link Storage#lastEventId()} with
 *       strictly increasing ids and JSON details, or the store contradicts its log: a document,
 *       task or lease record that differs from what the last event about it says (current ETag,
 *       deleted, last fence, holder), a fence that does not strictly increase per resource, a lease
 *       acquired while another was held, or a guarded write committed while its lease was not the
 *       resource's current one (two holders overlapping).</li>
 * </ul>
 *
 * <p>Not thread-safe.
 */
public final class StoreChecker {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final int MAX_PROBLEMS = 40;
  private static final Set<String> ACK_KINDS = Set.of("doc", "del", "event", "task", "lease", "release");

  private final Set<String> userCollections;
  private final List<Ack> acks = new ArrayList<>();

  /** One acknowledgement line and where it came from. */
  public record Ack(String source, String line, String[] f) {
    String where() {
      return source + ": " + line;
    }
  }

  /**
   * The outcome of one check.
   *
   * @param acked acknowledgements checked (all so far)
   * @param lost acknowledged operations missing
   * @param torn unreadable or damaged records
   * @param corrupt log damage and contradictions between the store and its log
   * @param events events in the log
   * @param records records in the store
   * @param problems descriptions of the first problems found
   */
  public record Report(long acked, int lost, int torn, int corrupt, int events, int records, List<String> problems) {
    /** @return true if nothing was lost, torn or corrupt */
    public boolean clean() {
      return lost == 0 && torn == 0 && corrupt == 0;
    }

    @Override
    public String toString() {
      return "acked=" + acked + " lost=" + lost + " torn=" + torn + " corrupt=" + corrupt + " (events=" + events
          + ", records=" + records + ")" + (problems.isEmpty() ? "" : "\n  " + String.join("\n  ", problems));
    }
  }

  /**
   * @param userCollections the user collections the writers use (more are found in the log)
   */
  public StoreChecker(Set<String> userCollections) {
    this.userCollections = Set.copyOf(userCollections);
  }

  /**
   * Adds a child's stdout lines; lines that are not acknowledgements ({@code ready}, {@code hold}, ...)
   * are skipped.
   *
   * @param source the child, for messages
   * @param lines its complete stdout lines
   * @return the number of acknowledgements added
   */
  public int addAcks(String source, List<String> lines) {
    int n = 0;
    for (String line : lines) {
      String[] f = line.split(" ", 5);
      if (ACK_KINDS.contains(f[0])) {
        acks.add(new Ack(source, line, f));
        n++;
      }
    }
    return n;
  }

  /** @return every acknowledgement added so far */
  public List<Ack> acks() {
    return List.copyOf(acks);
  }

  /**
   * Reads a whole event log from the start, as {@link #check} does.
   *
   * @param storage the store
   * @return every event, in id order
   */
  public static List<StoredEvent> readLog(Storage storage) {
    List<StoredEvent> all = new ArrayList<>();
    long after = 0;
    while (true) {
      List<StoredEvent> page = storage.readEvents(after, 1000);
      if (page.isEmpty()) {
        return all;
      }
      all.addAll(page);
      after = page.get(page.size() - 1).id();
    }
  }

  /**
   * Checks the store.
   *
   * @param storage the store, freshly opened (recovered)
   * @return the counts and the first problems
   */
  public Report check(Storage storage) {
    return new Run(storage).run();
  }

  /**
   * Opens a store (which recovers it) and checks it; a store that cannot be opened counts as corrupt.
   *
   * @param open opens the store
   * @return the counts and the first problems
   */
  public Report checkOpened(Supplier<? extends Storage> open) {
    try (Storage storage = open.get()) {
      return check(storage);
    } catch (Exception e) {
      return new Report(acks.size(), 0, 0, 1, 0, 0, List.of("corrupt: reopening failed: " + e));
    }
  }

  /**
   * @param test the test's name, as printed ({@code crash-test}, {@code power-cut})
   * @param cycles the cycles done
   * @param acked the acknowledgements checked
   * @param last the last check's report, or null
   * @return the line a crash or power-cut run ends with: {@code <test> cycles=n acked=n lost=n torn=n corrupt=n}
   */
  public static String summary(String test, int cycles, long acked, Report last) {
    return test + " cycles=" + cycles + " acked=" + acked + " lost=" + (last == null ? 0 : last.lost())
        + " torn=" + (last == null ? 0 : last.torn()) + " corrupt=" + (last == null ? 0 : last.corrupt());
  }

  private static String tag(String etagHeader) {
    return ETag.parse(etagHeader).tag();
  }

  private static long revisionOf(String tag) {
    return Long.parseLong(tag.substring(0, tag.indexOf('-')));
  }

  /** One check of one store. */
  private final class Run {
    private final Storage storage;
    private final List<String> problems = new ArrayList<>();
    private int lost;
    private int torn;
    private int corrupt;
    private int problemCount;

    private final List<StoredEvent> events = new ArrayList<>();
    private final Map<Long, StoredEvent> byId = new HashMap<>();
    private final Map<Long, JsonNode> details = new HashMap<>();
    // documents
    private final Map<String, JsonNode> docPuts = new HashMap<>(); // key|tag -> details
    private final Set<String> docDeletes = new HashSet<>(); // key|previous tag
    private final Map<RecordKey, Long> maxDeleteRevision = new HashMap<>();
    private final Map<RecordKey, StoredEvent> lastDocEvent = new HashMap<>();
    // tasks
    private final Set<String> taskEtags = new HashSet<>(); // id|tag
    private final Map<String, String> lastTaskEtag = new HashMap<>();
    // leases
    private final Set<String> acquired = new HashSet<>(); // resource|fence|leaseId
    private final Set<String> released = new HashSet<>(); // resource|leaseId
    private final Map<String, Long> maxFence = new HashMap<>();
    private final Map<String, StoredEvent> lastLeaseEvent = new HashMap<>();
    // current state
    private final Map<RecordKey, StoredRecord> records = new TreeMap<>();
    private final Set<RecordKey> unreadable = new HashSet<>();
    /** Collections with a torn record already counted: Collab's listing of them fails for the same reason. */
    private final Set<String> tornCollections = new HashSet<>();

    Run(Storage storage) {
      this.storage = storage;
    }

    private void problem(String kind, String message) {
      switch (kind) {
        case "lost" -> lost++;
        case "torn" -> torn++;
        default -> corrupt++;
      }
      if (problemCount++ < MAX_PROBLEMS) {
        problems.add(kind + ": " + message);
      }
    }

    Report run() {
      readLogChecked();
      index();
      checkFences();
      readRecords();
      checkAgreement();
      checkAcks();
      if (problemCount > MAX_PROBLEMS) {
        problems.add("... and " + (problemCount - MAX_PROBLEMS) + " more");
      }
      return new Report(acks.size(), lost, torn, corrupt, events.size(), records.size(), List.copyOf(problems));
    }

    // ------------------------------------------------------------------------------------- log

    private void readLogChecked() {
      long after = 0;
      try {
        while (true) {
          List<StoredEvent> page = storage.readEvents(after, 1000);
          if (page.isEmpty()) {
            break;
          }
          for (StoredEvent e : page) {
            if (e.id() <= after) {
              problem("corrupt", "log: event id " + e.id() + " after " + after + " (ids must strictly increase)");
              continue;
            }
            after = e.id();
            events.add(e);
            byId.put(e.id(), e);
            try {
              JsonNode d = MAPPER.readTree(e.detailsJson());
              if (d == null || !d.isObject()) {
                throw new IllegalArgumentException("not an object");
              }
              details.put(e.id(), d);
            } catch (Exception x) {
              problem("corrupt", "log: details of event " + e.id() + " are not a JSON object: " + x.getMessage());
              details.put(e.id(), MAPPER.createObjectNode());
            }
          }
        }
      } catch (RuntimeException x) {
        problem("corrupt", "log unreadable after event " + after + ": " + x);
      }
      try {
        long last = storage.lastEventId();
        if (last != after) {
          problem("corrupt", "log: lastEventId() is " + last + " but reading from 0 ended at " + after);
        }
      } catch (RuntimeException x) {
        problem("corrupt", "lastEventId() failed: " + x);
      }
    }

    private void index() {
      for (StoredEvent e : events) {
        JsonNode d = details.get(e.id());
        String type = e.type();
        try {
          if (type.startsWith("document_")) {
            RecordKey key = new RecordKey(d.path("collection").asText(), d.path("id").asText());
            lastDocEvent.put(key, e);
            if (type.equals("document_deleted")) {
              docDeletes.add(key + "|" + tag(d.path("previousEtag").asText()));
              maxDeleteRevision.merge(key, d.path("revision").asLong(), Math::max);
            } else {
              docPuts.put(key + "|" + tag(d.path("etag").asText()), d);
            }
          } else if (type.startsWith("task_") && d.hasNonNull("etag")) {
            String id = d.path("id").asText();
            String t = tag(d.path("etag").asText());
            taskEtags.add(id + "|" + t);
            lastTaskEtag.put(id, t);
          } else if (type.startsWith("lease_")) {
            String resource = d.path("resource").asText();
            lastLeaseEvent.put(resource, e);
            if (type.equals("lease_acquired")) {
              acquired.add(resource + "|" + d.path("fence").asLong() + "|" + d.path("leaseId").asText());
              maxFence.merge(resource, d.path("fence").asLong(), Math::max);
            } else if (type.equals("lease_released")) {
              released.add(resource + "|" + d.path("leaseId").asText());
            }
          }
        } catch (RuntimeException x) {
          problem("corrupt", "log: event " + e.id() + " " + type + " has malformed details " + d + ": " + x);
        }
      }
    }

    /**
     * Per resource: fences strictly increase, a lease is acquired only when none is held, and every
     * guarded write (an event with a leaseId and fence) commits while its lease is the current one.
     */
    private void checkFences() {
      Map<String, Long> lastFence = new HashMap<>();
      Map<String, String> current = new HashMap<>(); // resource -> leaseId
      Map<String, String> resourceOf = new HashMap<>(); // leaseId -> resource
      for (StoredEvent e : events) {
        JsonNode d = details.get(e.id());
        String resource = d.path("resource").asText();
        switch (e.type()) {
          case "lease_acquired" -> {
            long fence = d.path("fence").asLong();
            Long before = lastFence.get(resource);
            if (before != null && fence <= before) {
              problem("corrupt", "fence order: " + resource + " acquired with fence " + fence + " after fence "
                  + before + " (event " + e.id() + ")");
            }
            if (current.get(resource) != null) {
              problem("corrupt", "overlap: " + resource + " acquired (event " + e.id() + ", fence " + fence
                  + ") while lease " + current.get(resource) + " was held");
            }
            lastFence.put(resource, fence);
            current.put(resource, d.path("leaseId").asText());
            resourceOf.put(d.path("leaseId").asText(), resource);
          }
          case "lease_released", "lease_reclaimed" -> {
            String id = d.path(e.type().equals("lease_released") ? "leaseId" : "previousLeaseId").asText();
            if (!id.equals(current.get(resource))) {
              problem("corrupt", e.type() + " of lease " + id + " on " + resource + " (event " + e.id()
                  + ") but the current lease is " + current.get(resource));
            }
            current.remove(resource);
          }
          default -> {
            if (d.hasNonNull("leaseId") && d.hasNonNull("fence")) {
              String leaseId = d.path("leaseId").asText();
              String r = resourceOf.get(leaseId);
              if (r == null) {
                problem("corrupt", "guarded " + e.type() + " (event " + e.id() + ") under lease " + leaseId
                    + " that was never acquired");
              } else if (!leaseId.equals(current.get(r))) {
                problem("corrupt", "overlap: guarded " + e.type() + " on " + e.target() + " (event " + e.id()
                    + ") under lease " + leaseId + " fence " + d.path("fence").asLong() + ", but " + r
                    + "'s current lease is " + current.get(r) + " (fence " + lastFence.get(r) + ")");
              } else if (d.path("fence").asLong() != lastFence.get(r)) {
                problem("corrupt", "guarded " + e.type() + " (event " + e.id() + ") names fence "
                    + d.path("fence").asLong() + " but lease " + leaseId + " has fence " + lastFence.get(r));
              }
            }
          }
        }
      }
    }

    // --------------------------------------------------------------------------------- records

    private void readRecords() {
      Set<String> collections = new LinkedHashSet<>(userCollections);
      lastDocEvent.keySet().forEach(k -> collections.add(k.collection()));
      collections.addAll(List.of("_tasks", "_leases", "_task-leases"));
      for (String c : collections) {
        String after = null;
        try {
          while (true) {
            List<StoredRecord> page = storage.list(c, after, 500);
            for (StoredRecord r : page) {
              records.put(r.key(), r);
              checkRecord(r);
            }
            if (page.size() < 500) {
              break;
            }
            after = page.get(page.size() - 1).key().id();
          }
        } catch (RuntimeException x) {
          tornCollections.add(c);
          problem("torn", "listing " + c + " after " + after + " failed: " + x);
        }
      }
      // every document the log knows, read one by one too (a listing might skip a damaged file)
      for (RecordKey key : lastDocEvent.keySet()) {
        try {
          storage.read(key).ifPresent(r -> {
            if (!records.containsKey(key)) {
              records.put(key, r);
              checkRecord(r);
              problem("corrupt", "record " + key + " is readable but was not listed");
            }
          });
        } catch (RuntimeException x) {
          unreadable.add(key);
          tornCollections.add(key.collection());
          problem("torn", "reading " + key + " failed: " + x);
        }
      }
      // and through Collab's API, as an application would
      try (Collab api = Collab.builder().storage(storage).holder("checker").build()) {
        for (String c : collections) {
          if (!c.startsWith("_") && !tornCollections.contains(c)) {
            try {
              api.documents().list(c);
            } catch (RuntimeException x) {
              problem("torn", "Documents.list(" + c + ") failed: " + x);
            }
          }
        }
        if (!tornCollections.contains("_tasks")) {
          try {
            api.tasks().list(TaskFilter.all());
          } catch (RuntimeException x) {
            problem("torn", "Tasks.list failed: " + x);
          }
        }
        if (!tornCollections.contains("_leases")) {
          try {
            api.leases().list();
          } catch (RuntimeException x) {
            problem("torn", "Leases.list failed: " + x);
          }
        }
      }
    }

    private void checkRecord(StoredRecord r) {
      if (!recordIntact(r)) {
        tornCollections.add(r.key().collection());
      }
    }

    private boolean recordIntact(StoredRecord r) {
      try {
        JsonNode n = MAPPER.readTree(r.json());
        if (n == null || !n.isObject()) {
          problem("torn", "record " + r.key() + " (revision " + r.revision() + ") is not a JSON object: "
              + abbreviate(r.json()));
          return false;
        }
      } catch (Exception x) {
        problem("torn", "record " + r.key() + " (revision " + r.revision() + ") is not JSON: " + x.getMessage());
        return false;
      }
      String hash = CanonicalJson.hashCanonical(r.json().getBytes(StandardCharsets.UTF_8));
      if (!hash.equals(r.hash())) {
        problem("torn", "record " + r.key() + " (revision " + r.revision() + ") has hash " + r.hash()
            + " but its content hashes to " + hash);
        return false;
      }
      return true;
    }

    private JsonNode json(StoredRecord r) {
      try {
        return MAPPER.readTree(r.json());
      } catch (Exception x) {
        return MAPPER.createObjectNode();
      }
    }

    // ------------------------------------------------------------------------------- agreement

    private void checkAgreement() {
      Set<RecordKey> userKeys = new HashSet<>(lastDocEvent.keySet());
      records.keySet().stream().filter(k -> !k.collection().startsWith("_")).forEach(userKeys::add);
      for (RecordKey key : userKeys) {
        if (unreadable.contains(key)) {
          continue;
        }
        StoredEvent last = lastDocEvent.get(key);
        StoredRecord r = records.get(key);
        if (last == null) {
          problem("corrupt", "document " + key + " exists (revision " + r.revision() + ") without any event");
        } else if (last.type().equals("document_deleted")) {
          if (r != null) {
            problem("corrupt", "document " + key + " exists at " + r.revision() + "-" + r.hash()
                + " but its last event " + last.id() + " deleted it");
          }
        } else {
          String expected = tag(details.get(last.id()).path("etag").asText());
          String actual = r == null ? "absent" : r.revision() + "-" + r.hash();
          if (!expected.equals(actual)) {
            problem("corrupt", "document " + key + " is " + actual + " but its last event " + last.id() + " ("
                + last.type() + ") says " + expected);
          }
        }
      }
      Set<String> taskIds = new HashSet<>(lastTaskEtag.keySet());
      records.keySet().stream().filter(k -> k.collection().equals("_tasks")).forEach(k -> taskIds.add(k.id()));
      for (String id : taskIds) {
        StoredRecord r = records.get(new RecordKey("_tasks", id));
        String expected = lastTaskEtag.get(id);
        String actual = r == null ? "absent" : r.revision() + "-" + r.hash();
        if (!Objects.equals(expected, actual)) {
          problem("corrupt", "task " + id + " is " + actual + " but its last task event says " + expected);
        }
      }
      for (StoredRecord r : records.values()) {
        String c = r.key().collection();
        if (!c.equals("_leases") && !c.equals("_task-leases")) {
          continue;
        }
        String resource = c.equals("_leases") ? r.key().id() : "tasks/" + r.key().id();
        JsonNode j = json(r);
        Long fence = maxFence.get(resource);
        if (fence == null || fence != j.path("fence").asLong()) {
          problem("corrupt", "lease record " + r.key() + " has fence " + j.path("fence") + " but the log's last"
              + " acquisition of " + resource + " has fence " + fence);
        }
        StoredEvent last = lastLeaseEvent.get(resource);
        boolean held = j.hasNonNull("holder");
        if (held && (last == null || !last.type().equals("lease_acquired")
            || !details.get(last.id()).path("leaseId").asText().equals(j.path("leaseId").asText()))) {
          problem("corrupt", "lease record " + r.key() + " holds lease " + j.path("leaseId") + " but the log's last"
              + " lease event on " + resource + " is " + (last == null ? "none" : last.type() + " " + details.get(last.id())));
        }
        if (!held && last != null && last.type().equals("lease_acquired")) {
          problem("corrupt", "lease record " + r.key() + " is free but the log's last lease event on " + resource
              + " is " + last.type() + " " + details.get(last.id()));
        }
      }
    }

    // ------------------------------------------------------------------------------------ acks

    private void checkAcks() {
      for (Ack a : acks) {
        String[] f = a.f();
        String missing;
        try {
          missing = switch (f[0]) {
            case "doc" -> checkPut(a);
            case "del" -> checkDelete(a);
            case "event" -> checkEvent(a);
            case "task" -> checkTask(a);
            case "lease" -> acquired.contains(f[1] + "|" + f[2] + "|" + f[3]) ? null
                : "no lease_acquired on " + f[1] + " with fence " + f[2] + " and leaseId " + f[3];
            case "release" -> released.contains(f[1] + "|" + f[2]) ? null
                : "no lease_released of lease " + f[2] + " on " + f[1];
            default -> null;
          };
        } catch (RuntimeException x) {
          missing = "cannot check: " + x;
        }
        if (missing != null) {
          problem("lost", a.where() + ": " + missing);
        }
      }
    }

    private String checkPut(Ack a) {
      RecordKey key = new RecordKey(a.f()[1], a.f()[2]);
      String tag = a.f()[3];
      String fence = a.f().length > 4 ? a.f()[4] : null;
      JsonNode d = docPuts.get(key + "|" + tag);
      if (d == null) {
        return "no document_created/replaced event with ETag " + tag;
      }
      if (fence != null && d.path("fence").asLong(-1) != Long.parseLong(fence)) {
        return "its event records fence " + d.path("fence") + ", not " + fence;
      }
      if (unreadable.contains(key)) {
        return null; // counted as torn
      }
      long rev = revisionOf(tag);
      StoredRecord r = records.get(key);
      if (r == null) {
        Long deleted = maxDeleteRevision.get(key);
        return deleted != null && deleted > rev ? null : "document absent and not deleted after revision " + rev;
      }
      return r.revision() >= rev ? null : "document at revision " + r.revision() + ", older than the acknowledged " + rev;
    }

    private String checkDelete(Ack a) {
      RecordKey key = new RecordKey(a.f()[1], a.f()[2]);
      String prev = a.f()[3];
      if (!docDeletes.contains(key + "|" + prev)) {
        return "no document_deleted event with previousEtag " + prev;
      }
      StoredRecord r = records.get(key);
      return r == null || r.revision() > revisionOf(prev) ? null
          : "document still at revision " + r.revision() + " after the acknowledged delete of " + prev;
    }

    private String checkEvent(Ack a) {
      String[] f = a.f();
      StoredEvent e = byId.get(Long.parseLong(f[1]));
      if (e == null) {
        return "no event with id " + f[1];
      }
      if (!e.type().equals(f[2]) || !e.target().equals(f[3])) {
        return "event " + f[1] + " is " + e.type() + " on " + e.target();
      }
      try {
        if (!MAPPER.readTree(f[4]).equals(details.get(e.id()))) {
          return "event " + f[1] + " has details " + e.detailsJson();
        }
      } catch (Exception x) {
        return "acknowledged details unreadable: " + x;
      }
      return null;
    }

    private String checkTask(Ack a) {
      String id = a.f()[1];
      String status = a.f()[2];
      String tag = a.f()[3];
      if (!taskEtags.contains(id + "|" + tag)) {
        return "no task event with ETag " + tag;
      }
      StoredRecord r = records.get(new RecordKey("_tasks", id));
      if (r == null) {
        return "task record missing";
      }
      if (r.revision() < revisionOf(tag)) {
        return "task at revision " + r.revision() + ", older than the acknowledged " + tag;
      }
      if (status.equals("done") && !json(r).path("status").asText().equals("done")) {
        return "acknowledged done but the task is " + json(r).path("status").asText();
      }
      return null;
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }
}
