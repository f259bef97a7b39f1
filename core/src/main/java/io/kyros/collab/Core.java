package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * State shared by the parts of one {@link Collab}: the storage, JSON handling, limits and retry
 * policy. Thread-safe: every field is final and thread-safe.
 */
final class Core {
  /** Collection holding user leases, keyed by resource. */
  static final String LEASES = "_leases";
  /** Collection holding task claim leases, keyed by task id. */
  static final String TASK_LEASES = "_task-leases";
  /** Collection holding tasks, keyed by task id. */
  static final String TASKS = "_tasks";
  /** Page size for scanning collections and the log. */
  static final int PAGE = 512;

  final Storage storage;
  final ObjectMapper mapper;
  final String holder;
  final int maxValueBytes;
  final Duration updateTimeout;
  final Workflow workflow;
  final int defaultMaxAttempts;
  final Duration retryBackoff;
  final Duration maxRetryBackoff;
  final Duration acquireRecheck;
  /** Parsed values by store-wide revision, which identifies a value uniquely; entries are never mutated. */
  private final Cache<Long, ObjectNode> parsed;

  Core(Storage storage, ObjectMapper mapper, String holder, int maxValueBytes, Duration updateTimeout,
      Workflow workflow, int defaultMaxAttempts, Duration retryBackoff, Duration maxRetryBackoff, long cacheSize,
      Duration acquireRecheck) {
    this.storage = storage;
    this.mapper = mapper;
    this.holder = holder;
    this.maxValueBytes = maxValueBytes;
    this.updateTimeout = updateTimeout;
    this.workflow = workflow;
    this.defaultMaxAttempts = defaultMaxAttempts;
    this.retryBackoff = retryBackoff;
    this.maxRetryBackoff = maxRetryBackoff;
    this.acquireRecheck = acquireRecheck;
    this.parsed = Caffeine.newBuilder().maximumSize(cacheSize).build();
  }

  /** Canonical form of a value about to be stored. */
  record Encoded(ObjectNode value, String json, String hash) {}

  /**
   * Checks and canonicalizes a value.
   *
   * @throws InvalidValueException if it is not a JSON object or cannot be canonicalized
   * @throws ValueTooLargeException if its canonical form exceeds the limit
   */
  Encoded encode(Object value, String what) {
    JsonNode node;
    if (value instanceof JsonNode n) {
      node = n;
    } else if (value instanceof String s) {
      node = CanonicalJson.parseObject(mapper, s);
    } else {
      try {
        node = mapper.valueToTree(value);
      } catch (IllegalArgumentException e) {
        throw new InvalidValueException(what + " cannot be converted to JSON: " + e.getMessage(), e);
      }
    }
    ObjectNode object = CanonicalJson.requireObject(node, what);
    byte[] bytes = CanonicalJson.canonicalBytes(object);
    if (bytes.length > maxValueBytes) {
      throw new ValueTooLargeException(what, bytes.length, maxValueBytes);
    }
    return new Encoded(object, new String(bytes, StandardCharsets.UTF_8), CanonicalJson.hashCanonical(bytes));
  }

  /** Parses a stored record's value, caching by revision. The result must not be mutated: copy it. */
  ObjectNode parse(StoredRecord record) {
    return parsed.get(record.revision(), rev -> parseJson(record.json(), record.key().toString()));
  }

  ObjectNode parseJson(String json, String where) {
    try {
      return CanonicalJson.parseObject(mapper, json);
    } catch (InvalidValueException e) {
      throw new StorageException("stored value of " + where + " is damaged: " + e.getMessage(), e);
    }
  }

  static ETag etag(StoredRecord record) {
    return ETag.strong(record.revision() + "-" + record.hash());
  }

  static ETag etag(long revision, String hash) {
    return ETag.strong(revision + "-" + hash);
  }

  ObjectNode object() {
    return mapper.createObjectNode();
  }

  NewEvent event(String type, String target, ObjectNode details) {
    return event(type, holder, target, details);
  }

  NewEvent event(String type, String actor, String target, ObjectNode details) {
    byte[] bytes = CanonicalJson.canonicalBytes(details);
    if (bytes.length > maxValueBytes) {
      throw new ValueTooLargeException("details of event " + type, bytes.length, maxValueBytes);
    }
    return new NewEvent(type, actor, target, new String(bytes, StandardCharsets.UTF_8));
  }

  Event toEvent(StoredEvent e) {
    return new Event(e.id(), e.ts(), e.type(), e.actor(), e.target(), parseJson(e.detailsJson(), "event " + e.id()));
  }

  List<Event> toEvents(List<StoredEvent> stored) {
    List<Event> out = new ArrayList<>(stored.size());
    for (StoredEvent e : stored) {
      out.add(toEvent(e));
    }
    return out;
  }

  /** Every record of a collection, in id order, read page by page. */
  List<StoredRecord> scan(String collection) {
    List<StoredRecord> all = new ArrayList<>();
    String after = null;
    while (true) {
      List<StoredRecord> page = storage.list(collection, after, PAGE);
      all.addAll(page);
      if (page.size() < PAGE) {
        return all;
      }
      after = page.get(page.size() - 1).key().id();
    }
  }

  CommitResult commit(Commit commit) {
    return storage.commit(commit);
  }

  Backoff backoff(String what) {
    return new Backoff(what, updateTimeout);
  }

  /**
   * Full-jitter exponential backoff between attempts of one read-modify-write, until a deadline.
   * Not thread-safe: one per operation.
   */
  static final class Backoff {
    /** Core's pacing: full jitter from 0.2 ms, doubling, at most 50 ms. */
    private static final io.kyros.collab.spi.Backoff PACING = new io.kyros.collab.spi.Backoff(
        Duration.ofNanos(200_000L), Duration.ofMillis(50), io.kyros.collab.spi.Backoff.Jitter.FULL);
    private final String what;
    private final Duration timeout;
    private final long deadline;
    private int attempts;

    Backoff(String what, Duration timeout) {
      this.what = what;
      this.timeout = timeout;
      this.deadline = io.kyros.collab.spi.Backoff.deadlineAfter(timeout);
    }

    /** Counts a lost attempt and pauses before the next one; gives up at the deadline. */
    void pause() {
      attempts++;
      if (!PACING.pause(attempts, deadline)) {
        throw new UpdateConflictException(what, attempts, timeout);
      }
      if (Thread.currentThread().isInterrupted()) {
        throw new CollabException("interrupted while retrying " + what);
      }
    }

    int attempts() {
      return attempts;
    }
  }
}
