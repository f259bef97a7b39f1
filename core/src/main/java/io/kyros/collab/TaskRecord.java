package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.TreeSet;

/**
 * The stored format of a task record ({@code _tasks/<id>}): every JSON field name, how a new task is written, how a
 * record is read back into a {@link Task}, and the {@link View} candidate selection needs. Nothing else spells a
 * task field. Stateless.
 */
final class TaskRecord {
  static final String ID = "id";
  static final String TITLE = "title";
  static final String DESCRIPTION = "description";
  static final String WORKFLOW = "workflow";
  static final String STATUS = "status";
  static final String PRIORITY = "priority";
  static final String DEPENDS_ON = "dependsOn";
  static final String CHECKLIST = "checklist";
  static final String LABELS = "labels";
  static final String ASSIGNEE = "assignee";
  static final String ATTEMPTS = "attempts";
  static final String MAX_ATTEMPTS = "maxAttempts";
  static final String CREATED_AT = "createdAt";
  static final String UPDATED_AT = "updatedAt";
  static final String NOT_BEFORE = "notBefore";
  static final String LAST_ERROR = "lastError";
  private static final String ITEM_TEXT = "text";
  private static final String ITEM_DONE = "done";

  private TaskRecord() {}

  /** Fills {@code into} with a new task's record, in the workflow's initial status. */
  static ObjectNode create(ObjectNode into, String id, NewTask spec, Workflow workflow, int maxAttempts,
      Instant now) {
    into.put(ID, id).put(TITLE, spec.title()).put(DESCRIPTION, spec.description())
        .put(WORKFLOW, workflow.name()).put(STATUS, workflow.initial()).put(PRIORITY, spec.priority());
    setDependsOn(into, new ArrayList<>(new LinkedHashSet<>(spec.dependsOn())));
    setChecklist(into, spec.checklist());
    setLabels(into, spec.labels());
    return into.putNull(ASSIGNEE).put(ATTEMPTS, 0).put(MAX_ATTEMPTS, maxAttempts)
        .put(CREATED_AT, now.toString()).put(UPDATED_AT, now.toString()).putNull(NOT_BEFORE).putNull(LAST_ERROR);
  }

  static void setDependsOn(ObjectNode o, List<String> ids) {
    ArrayNode a = o.putArray(DEPENDS_ON);
    ids.forEach(a::add);
  }

  static void setChecklist(ObjectNode o, List<ChecklistItem> items) {
    ArrayNode a = o.putArray(CHECKLIST);
    items.forEach(i -> a.addObject().put(ITEM_TEXT, i.text()).put(ITEM_DONE, i.done()));
  }

  /** Stores labels sorted, without duplicates. */
  static void setLabels(ObjectNode o, Iterable<String> labels) {
    ArrayNode a = o.putArray(LABELS);
    TreeSet<String> sorted = new TreeSet<>();
    labels.forEach(sorted::add);
    sorted.forEach(a::add);
  }

  static String id(ObjectNode o) {
    return o.path(ID).asText();
  }

  static String status(ObjectNode o) {
    return o.path(STATUS).asText();
  }

  static String workflowName(ObjectNode o) {
    return o.path(WORKFLOW).asText();
  }

  static int attempts(ObjectNode o) {
    return o.path(ATTEMPTS).asInt();
  }

  static int maxAttempts(ObjectNode o) {
    return o.path(MAX_ATTEMPTS).asInt();
  }

  static List<String> dependsOn(JsonNode o) {
    return strings(o.path(DEPENDS_ON));
  }

  /** @return the labels, sorted */
  static List<String> labels(JsonNode o) {
    return strings(o.path(LABELS));
  }

  /** @return the time before which the task may not be claimed, or null */
  static Instant notBeforeOf(ObjectNode o) {
    String nb = textOrNull(o, NOT_BEFORE);
    return nb == null ? null : Timestamps.parse(nb);
  }

  /** @return whether the task's retry backoff ({@code notBefore}) has passed at {@code now} */
  static boolean claimableAt(ObjectNode o, Instant now) {
    JsonNode nb = o.get(NOT_BEFORE);
    return nb == null || nb.isNull() || !Timestamps.parse(nb.asText()).isAfter(now);
  }

  /** Sets the status and the change time. */
  static ObjectNode moved(ObjectNode o, String status, Instant now) {
    return o.put(STATUS, status).put(UPDATED_AT, now.toString());
  }

  /** Sets or clears (null) the time before which the task may not be claimed. */
  static ObjectNode notBefore(ObjectNode o, Instant notBefore) {
    return o.put(NOT_BEFORE, notBefore == null ? null : notBefore.toString());
  }

  /**
   * Reads a record back into a task.
   *
   * @throws StorageException if a field cannot be read
   */
  static Task toTask(ObjectNode o, long revision, String hash) {
    try {
      List<ChecklistItem> items = new ArrayList<>();
      for (JsonNode i : o.path(CHECKLIST)) {
        items.add(new ChecklistItem(i.path(ITEM_TEXT).asText(), i.path(ITEM_DONE).asBoolean()));
      }
      String notBefore = textOrNull(o, NOT_BEFORE);
      return new Task(id(o), o.path(TITLE).asText(), o.path(DESCRIPTION).asText(), status(o),
          o.path(PRIORITY).asInt(), dependsOn(o), items, new TreeSet<>(strings(o.path(LABELS))),
          textOrNull(o, ASSIGNEE), attempts(o), maxAttempts(o), Timestamps.parse(o.path(CREATED_AT).asText()),
          Timestamps.parse(o.path(UPDATED_AT).asText()), notBefore == null ? null : Timestamps.parse(notBefore),
          textOrNull(o, LAST_ERROR), Core.etag(revision, hash), revision);
    } catch (RuntimeException e) {
      throw new StorageException("task record " + id(o) + " is damaged: " + e.getMessage(), e);
    }
  }

  /**
   * Whether a task was not moved in any clock tick after the one it was created in: its {@code updatedAt} is still
   * its {@code createdAt}. Every status change sets {@code updatedAt} to the storage's time, and a claim is one, so
   * such a task was claimed in no later tick and, unless it was claimed within its creation's tick (likely only with
   * a coarse or frozen clock: SQLite's milliseconds, a test's), has no claim lease record. A claim relying on this
   * expects the lease record absent, so a record that exists after all only costs a conflict, after which the claim
   * reads it.
   *
   * @param json the task record
   * @return true if its {@code updatedAt} is its {@code createdAt}
   */
  static boolean neverMoved(ObjectNode json) {
    JsonNode created = json.get(CREATED_AT);
    return created != null && created.isTextual() && created.equals(json.get(UPDATED_AT));
  }

  /**
   * What candidate selection needs of a task record, parsed once per revision.
   *
   * @param status the task's status
   * @param workflow the name of the workflow it follows
   * @param priority its priority
   * @param createdAt when it was created
   * @param notBefore when it may be claimed again, or null
   * @param labels its labels
   * @param dependsOn its dependencies
   * @param damage why its times cannot be read (then they are null), or null; matters only for a candidate
   */
  record View(String status, String workflow, int priority, Instant createdAt, Instant notBefore,
      List<String> labels, List<String> dependsOn, String damage) {

    static View of(ObjectNode json) {
      Instant createdAt = null;
      Instant notBefore = null;
      String damage = null;
      try {
        createdAt = Timestamps.parse(json.path(CREATED_AT).asText());
        String nb = textOrNull(json, NOT_BEFORE);
        notBefore = nb == null ? null : Timestamps.parse(nb);
      } catch (RuntimeException e) {
        damage = e.getMessage();
      }
      return new View(TaskRecord.status(json), workflowName(json), json.path(PRIORITY).asInt(), createdAt, notBefore,
          List.copyOf(strings(json.path(LABELS))), List.copyOf(TaskRecord.dependsOn(json)), damage);
    }
  }

  private static String textOrNull(ObjectNode o, String field) {
    JsonNode n = o.get(field);
    return n == null || n.isNull() ? null : n.asText();
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
