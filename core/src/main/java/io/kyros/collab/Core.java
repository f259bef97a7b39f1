package io.kyros.collab;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * State shared by the parts of one {@link Collab}: the storage, JSON handling, limits and retry
 * policy. Thread-safe: every field is final and thread-safe.
 */
final class Core {
  /** Page size for scanning collections and the log. */
  static final int PAGE = 512;

  private final Storage storage;
  /** Whether the storage keeps index entries ({@link Storage#indexes()}), asked once. */
  private final boolean indexed;
  private final ObjectMapper mapper;
  /**
   * Reads stored values: the mapper's copy without the parser's size limits on names, strings and numbers and on
   * nesting. Those limits guard the parsing of input ({@link #encode}: a hostile String value); a stored value was
   * checked when it was written (canonical, at most {@link CanonicalJson#MAX_DEPTH} levels, at most the value size
   * limit), and whatever was accepted must read back: with Jackson's default 50,000-character limit on names, a
   * value with a longer key was stored and then reported damaged, and one such event stopped every reader of the log.
   */
  private final ObjectMapper storedReader;
  private final CoreSettings settings;
  /**
   * Parsed values by revision and hash; entries are never mutated. The revision alone does not identify a value: a
   * JDBC counter row restored by createSchema() may hand a deleted record's revision out again (docs/jdbc.md), so
   * the hash of the canonical value is part of the key.
   */
  private final Cache<Version, ObjectNode> parsed;

  Core(Storage storage, ObjectMapper mapper, CoreSettings settings) {
    this.storage = storage;
    this.indexed = storage.indexes();
    this.mapper = mapper;
    this.storedReader = storedReader(mapper);
    this.settings = settings;
    this.parsed = cache(settings.valueCacheSize());
  }

  /**
   * @return a mapper for {@link CanonicalJson#parse} (which takes only the parser and the node factory of it) whose
   *     parser limits do not refuse what core stored, with {@code mapper}'s node factory; see {@link #storedReader}
   */
  private static ObjectMapper storedReader(ObjectMapper mapper) {
    JsonFactory unlimited = JsonFactory.builder().streamReadConstraints(StreamReadConstraints.builder()
        .maxNameLength(Integer.MAX_VALUE)
        .maxStringLength(Integer.MAX_VALUE)
        .maxNumberLength(Integer.MAX_VALUE)
        .maxNestingDepth(Integer.MAX_VALUE) // CanonicalJson's own check keeps MAX_DEPTH
        .build()).build();
    return new ObjectMapper(unlimited).setNodeFactory(mapper.getNodeFactory());
  }

  /**
   * A bounded cache for core's own bookkeeping (parsed values, task views; not the records this instance committed,
   * which {@link RecentRecords} keeps by recency). Its
   * maintenance (eviction, reordering) runs on the calling thread, amortized over the calls, instead of being handed
   * to {@code ForkJoinPool.commonPool()} after writes: a handoff wakes a pool thread for every few writes, and on a
   * busy or virtualized machine that wake-up (a futex system call and a context switch) cost more than the work
   * (13.8 % of the wall time of {@code ClaimScaleBenchmark}'s claim + complete + create in memory, in a wall-clock
   * profile).
   *
   * @param maximumSize the most entries
   * @return the cache
   */
  static <K, V> Cache<K, V> cache(long maximumSize) {
    return Caffeine.newBuilder().maximumSize(maximumSize).executor(Runnable::run).build();
  }

  Storage storage() {
    return storage;
  }

  /**
   * @return whether the storage keeps index entries: then core finds tasks and claims through {@link TaskIndexes};
   *     otherwise it reads whole collections and writes carry no entries
   */
  boolean indexed() {
    return indexed;
  }

  ObjectMapper mapper() {
    return mapper;
  }

  CoreSettings settings() {
    return settings;
  }

  /** @return this instance's holder identity, the actor of the events it records */
  String holder() {
    return settings.holder();
  }

  Workflow workflow() {
    return settings.workflow();
  }

  /**
   * Canonical form of a value about to be stored.
   *
   * @param value the tree a read of {@code json} gives (a new tree, never the caller's)
   * @param json the canonical text
   * @param hash the content hash of that text
   */
  record Encoded(ObjectNode value, String json, String hash) {}

  /**
   * Checks and canonicalizes a value: a {@link JsonNode}, a {@code String} of JSON text, or anything the mapper
   * converts; it must be a JSON object nesting at most {@link Nesting#MAX_DEPTH} levels.
   *
   * @throws InvalidValueException if it is not a JSON object, nests too deep or cannot be canonicalized
   * @throws ValueTooLargeException if its canonical form exceeds the limit
   */
  Encoded encode(Object value, String what) {
    ObjectNode object = object(value, what);
    byte[] bytes = canonicalFitting(object, what);
    // the value as a read of the stored text gives it (1.0 as 1, members in order), not as the caller spelled it: a
    // write's answer and a read of the same ETag are equal, and a remembered record answers as its parse would
    return new Encoded((ObjectNode) CanonicalJson.canonicalTree(object, storedReader.getNodeFactory()),
        new String(bytes, StandardCharsets.UTF_8), CanonicalJson.hashCanonical(bytes));
  }

  /** An event's details: their canonical text, and the tree that text parses to. */
  record Details(String json, ObjectNode tree) {}

  /**
   * Checks and canonicalizes a value as {@link #encode} does, for an event's details: not hashed (details are stored
   * as their text and never named by a hash), and with the tree a read of the stored text gives, built without
   * writing and parsing that text, so that an append can answer with its events as a read would.
   *
   * @throws InvalidValueException if it is not a JSON object, nests too deep or cannot be canonicalized
   * @throws ValueTooLargeException if its canonical form exceeds the limit
   */
  Details details(Object value, String what) {
    ObjectNode object = object(value, what);
    byte[] bytes = canonicalFitting(object, what);
    return new Details(new String(bytes, StandardCharsets.UTF_8),
        (ObjectNode) CanonicalJson.canonicalTree(object, storedReader.getNodeFactory()));
  }

  /** The value as a JSON object tree, checked for nesting (before the mapper and after it). */
  private ObjectNode object(Object value, String what) {
    // before the mapper, whose recursion a cyclic or very deep value would overflow (and a value sharing its
    // containers take for ever); a value to convert may lose elements in the mapper, so it gets some slack here
    Nesting.check(value, what, settings.maxValueBytes(), value instanceof JsonNode ? 1 : Nesting.CONVERTED_SLACK);
    JsonNode node;
    if (value instanceof JsonNode n) {
      node = n;
    } else if (value instanceof String s) {
      node = parseText(s, what);
    } else {
      try {
        node = mapper.valueToTree(value);
      } catch (IllegalArgumentException e) {
        throw new InvalidValueException(what + " cannot be converted to JSON: " + e.getMessage(), e);
      } catch (StackOverflowError e) {
        // a bean graph that refers to itself: the walk above only follows maps, collections and arrays
        throw new InvalidValueException(what + " cannot be converted to JSON: it nests too deep or contains itself");
      }
      Nesting.check(node, what, settings.maxValueBytes(), 1);
    }
    return CanonicalJson.requireObject(node, what);
  }

  /** The canonical UTF-8 bytes of an object, refused if they exceed the size limit. */
  private byte[] canonicalFitting(ObjectNode object, String what) {
    byte[] bytes = CanonicalJson.canonicalBytes(object);
    if (bytes.length > settings.maxValueBytes()) {
      throw new ValueTooLargeException(what, bytes.length, settings.maxValueBytes());
    }
    return bytes;
  }

  /** A {@code String} value is JSON text, which must hold a JSON object. */
  private JsonNode parseText(String text, String what) {
    JsonNode node;
    try {
      node = CanonicalJson.parse(mapper, text);
    } catch (InvalidValueException e) {
      throw new InvalidValueException(what + ": a String value is read as the JSON text of a JSON object, and this "
          + "one is not JSON: " + e.getMessage(), e);
    }
    Nesting.check(node, what, settings.maxValueBytes(), 1);
    return node;
  }

  /**
   * What identifies a stored value: its revision and the hash of its canonical form.
   *
   * @param revision the record's revision
   * @param hash the hash of its canonical value
   */
  record Version(long revision, String hash) {
    static Version of(StoredRecord r) {
      return new Version(r.revision(), r.hash());
    }
  }

  /** Parses a stored record's value, caching by revision and hash. The result must not be mutated: copy it. */
  ObjectNode parse(StoredRecord record) {
    return parsed.get(Version.of(record), v -> parseJson(record.json(), record.key().toString()));
  }

  ObjectNode parseJson(String json, String where) {
    try {
      return CanonicalJson.parseObject(storedReader, json);
    } catch (InvalidValueException e) {
      throw new StorageException("stored value of " + where + " is damaged: " + e.getMessage(), e);
    }
  }

  /**
   * @param current the record as it is
   * @param condition the precondition that did not hold, for the message
   * @return the exception reporting it, carrying the record as a document
   */
  PreconditionFailedException preconditionFailed(StoredRecord current, String condition) {
    RecordKey k = current.key();
    return new PreconditionFailedException(k.collection(), k.id(), condition,
        new Document(k.collection(), k.id(), parse(current), etag(current), current.revision()));
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

  /** One of Collab's own events, acted by this instance's holder. */
  NewEvent event(EventType type, String target, ObjectNode details) {
    return event(type.wireName(), holder(), target, details);
  }

  /** One of Collab's own events. */
  NewEvent event(EventType type, String actor, String target, ObjectNode details) {
    return event(type.wireName(), actor, target, details);
  }

  /** An event of any type, its details already checked as a value. */
  NewEvent event(String type, String actor, String target, ObjectNode details) {
    byte[] bytes = CanonicalJson.canonicalBytes(details);
    if (bytes.length > settings.maxValueBytes()) {
      throw new ValueTooLargeException("details of event " + type, bytes.length, settings.maxValueBytes());
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

  /** Every hit of an index query, read page by page from its position. */
  List<IndexHit> scanAll(IndexQuery query) {
    List<IndexHit> all = new ArrayList<>();
    IndexQuery q = query;
    while (true) {
      List<IndexHit> page = storage.scanIndex(q);
      all.addAll(page);
      if (page.size() < q.limit()) {
        return all;
      }
      q = q.after(page.get(page.size() - 1));
    }
  }

  CommitResult commit(Commit commit) {
    return storage.commit(commit);
  }

  /** @return the pacing of one read-modify-write of {@code what}, until the update timeout */
  Retry retry(String what) {
    return new Retry(what, settings.updateTimeout());
  }
}
