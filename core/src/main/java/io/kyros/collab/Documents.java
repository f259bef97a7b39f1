package io.kyros.collab;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The ETag document store: JSON objects addressed by {@code (collection, id)}, each with a strong
 * ETag {@code "<revision>-<hash>"}, written under RFC 9110 preconditions. Every write records a
 * {@code document_created}, {@code document_replaced} or {@code document_deleted} event in the same
 * atomic commit.
 *
 * <p>Values are JSON objects nesting at most 500 levels of objects and arrays, checked before anything is
 * written so that every backend reads back whatever it accepted; a {@code String} value is JSON text.
 *
 * <p>A view returned by {@link #guardedBy(Lease)} commits writes only while that lease is current.
 *
 * <p>Thread-safe.
 */
public final class Documents {
  private final Core core;
  private final LeaseCommits leases;
  private final Lease guard;

  Documents(Core core, LeaseCommits leases, Lease guard) {
    this.core = core;
    this.leases = leases;
    this.guard = guard;
  }

  /**
   * Returns a view of this store whose writes commit only while {@code lease} is current, checked in
   * the same atomic commit as the write; the events record the lease's fence.
   *
   * @param lease the guarding lease
   * @return the guarded view
   * @throws NullPointerException if lease is null
   */
  public Documents guardedBy(Lease lease) {
    return new Documents(core, leases, Objects.requireNonNull(lease, "lease"));
  }

  /**
   * Reads a document.
   *
   * @param collection the collection name
   * @param id the document id
   * @return the document, or empty if it does not exist
   * @throws IllegalArgumentException if a name is invalid
   */
  public Optional<Document> get(String collection, String id) {
    return read(key(collection, id)).map(r -> toDocument(r));
  }

  /**
   * Reads a document under RFC 9110 preconditions, for conditional GET: a matching If-None-Match
   * gives {@link GetResult.Status#NOT_MODIFIED}, a failed If-Match
   * {@link GetResult.Status#PRECONDITION_FAILED}.
   *
   * @param collection the collection name
   * @param id the document id
   * @param preconditions the request's If-Match / If-None-Match
   * @return the outcome, with the current ETag
   * @throws IllegalArgumentException if a name is invalid
   * @throws NullPointerException if preconditions is null
   */
  public GetResult get(String collection, String id, Preconditions preconditions) {
    Objects.requireNonNull(preconditions, "preconditions");
    Optional<Document> doc = get(collection, id);
    ETag current = doc.map(Document::etag).orElse(null);
    switch (preconditions.evaluate(current, true)) {
      case NOT_MODIFIED:
        return new GetResult(GetResult.Status.NOT_MODIFIED, null, current);
      case PRECONDITION_FAILED:
        return new GetResult(GetResult.Status.PRECONDITION_FAILED, doc.orElse(null), current);
      default:
        return doc.map(d -> new GetResult(GetResult.Status.OK, d, current))
            .orElseGet(() -> new GetResult(GetResult.Status.NOT_FOUND, null, null));
    }
  }

  /**
   * Reads a document mapped to a type through the {@link Collab}'s {@code ObjectMapper}.
   *
   * @param <T> the value type
   * @param collection the collection name
   * @param id the document id
   * @param type the class to map to
   * @return the typed document, or empty if it does not exist
   * @throws InvalidValueException if the stored JSON does not map to {@code type}
   */
  public <T> Optional<Versioned<T>> get(String collection, String id, Class<T> type) {
    Objects.requireNonNull(type, "type");
    return get(collection, id).map(d -> typed(d, type));
  }

  /**
   * Creates a document that must not exist yet (If-None-Match: *).
   *
   * @param collection the collection name
   * @param id the document id
   * @param value a JSON object: a {@code JsonNode}, a {@code String} holding the JSON text of an object, or any
   *     object the mapper turns into one; nesting at most 500 levels of objects and arrays
   * @return the created document
   * @throws PreconditionFailedException if it already exists, carrying the existing document
   * @throws InvalidValueException if the value is not a JSON object (a {@code String} that is not the JSON text
   *     of one included), nests deeper than 500 levels or contains itself, or cannot be canonicalized
   * @throws ValueTooLargeException if the value exceeds the size limit
   * @throws LeaseLostException on a guarded view whose lease is no longer current
   */
  public Document create(String collection, String id, Object value) {
    return put(collection, id, value, Preconditions.ifAbsent());
  }

  /**
   * Replaces a document whose ETag strongly matches {@code ifMatch}; {@code ETag} values come from a
   * previous read or write.
   *
   * @param collection the collection name
   * @param id the document id
   * @param value the new JSON object
   * @param ifMatch the ETag the current document must have
   * @return the written document
   * @throws PreconditionFailedException if the document is absent or has another ETag
   * @throws InvalidValueException if the value is invalid
   * @throws LeaseLostException on a guarded view whose lease is no longer current
   */
  public Document replace(String collection, String id, Object value, ETag ifMatch) {
    return put(collection, id, value, Preconditions.ifMatch(Objects.requireNonNull(ifMatch, "ifMatch")));
  }

  /**
   * Writes a document under arbitrary preconditions, as an HTTP PUT would: no preconditions means an
   * unconditional upsert.
   *
   * @param collection the collection name
   * @param id the document id
   * @param value the new JSON object
   * @param preconditions If-Match / If-None-Match
   * @return the written document
   * @throws PreconditionFailedException if a precondition fails, carrying the current state
   * @throws InvalidValueException if the value is invalid
   * @throws LeaseLostException on a guarded view whose lease is no longer current
   */
  public Document put(String collection, String id, Object value, Preconditions preconditions) {
    RecordKey key = key(collection, id);
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(preconditions, "preconditions");
    Core.Encoded encoded = core.encode(value, "document " + key);
    Retry backoff = core.retry("document " + key);
    while (true) {
      Optional<StoredRecord> current = read(key);
      check(key, preconditions, current);
      Optional<Document> written = tryWrite(key, current, encoded);
      if (written.isPresent()) {
        return written.get();
      }
      backoff.pause();
    }
  }

  /**
   * Deletes a document whose ETag strongly matches {@code ifMatch}.
   *
   * @param collection the collection name
   * @param id the document id
   * @param ifMatch the ETag the current document must have
   * @throws PreconditionFailedException if the document is absent or has another ETag
   * @throws LeaseLostException on a guarded view whose lease is no longer current
   */
  public void delete(String collection, String id, ETag ifMatch) {
    delete(collection, id, Preconditions.ifMatch(Objects.requireNonNull(ifMatch, "ifMatch")));
  }

  /**
   * Deletes a document under arbitrary preconditions.
   *
   * @param collection the collection name
   * @param id the document id
   * @param preconditions If-Match / If-None-Match
   * @return true if a document was deleted, false if there was none (and no precondition failed)
   * @throws PreconditionFailedException if a precondition fails
   * @throws LeaseLostException on a guarded view whose lease is no longer current
   */
  public boolean delete(String collection, String id, Preconditions preconditions) {
    RecordKey key = key(collection, id);
    Objects.requireNonNull(preconditions, "preconditions");
    Retry backoff = core.retry("document " + key);
    while (true) {
      Optional<StoredRecord> current = read(key);
      check(key, preconditions, current);
      if (current.isEmpty()) {
        return false;
      }
      if (tryWrite(key, current, null).isPresent()) {
        return true;
      }
      backoff.pause();
    }
  }

  /**
   * Read-modify-write with optimistic concurrency: reads the document (an empty object if absent),
   * applies {@code fn} to a copy, and writes the result if nobody wrote in between; otherwise re-reads
   * and retries with full-jitter exponential backoff until the {@link Collab.Builder#updateTimeout}
   * deadline. If {@code fn} returns a value equal to the current one, nothing is written.
   *
   * @param collection the collection name
   * @param id the document id
   * @param fn computes the new value from a private copy of the current one; may be called several
   *     times, so it must not have side effects
   * @return the document after the update
   * @throws UpdateConflictException if the deadline passes
   * @throws InvalidValueException if {@code fn} returns an invalid value
   * @throws LeaseLostException on a guarded view whose lease is no longer current
   */
  public Document update(String collection, String id, UnaryOperator<ObjectNode> fn) {
    return update(collection, id, (ETag) null, fn);
  }

  /**
   * Like {@link #update(String, String, UnaryOperator)}, but the current document must match the
   * caller's ETag; a stale caller ETag is never retried: it fails at once.
   *
   * @param collection the collection name
   * @param id the document id
   * @param ifMatch the ETag the caller last saw, or null for none
   * @param fn computes the new value
   * @return the document after the update
   * @throws PreconditionFailedException if {@code ifMatch} does not match the current document
   * @throws UpdateConflictException if the deadline passes
   */
  public Document update(String collection, String id, ETag ifMatch, UnaryOperator<ObjectNode> fn) {
    Objects.requireNonNull(fn, "fn");
    return updateNode(key(collection, id), ifMatch, current -> fn.apply(current == null ? core.object() : current));
  }

  /**
   * Typed read-modify-write: like {@link #update(String, String, UnaryOperator)} with the value mapped
   * through the {@code ObjectMapper}; {@code fn} receives null when the document does not exist.
   *
   * @param <T> the value type
   * @param collection the collection name
   * @param id the document id
   * @param type the value class
   * @param fn computes the new value, never returning null
   * @return the typed document after the update
   * @throws UpdateConflictException if the deadline passes
   * @throws InvalidValueException if the stored value does not map to {@code type} or fn returns null
   */
  public <T> Versioned<T> update(String collection, String id, Class<T> type, UnaryOperator<T> fn) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(fn, "fn");
    RecordKey key = key(collection, id);
    Document doc = updateNode(key, null, current -> {
      T after = fn.apply(current == null ? null : convert(current, type, key.toString()));
      if (after == null) {
        throw new InvalidValueException("update function for document " + key + " returned null");
      }
      return core.encode(after, "document " + key).value();
    });
    return typed(doc, type);
  }

  private Document updateNode(RecordKey key, ETag ifMatch, UnaryOperator<ObjectNode> fn) {
    Retry backoff = core.retry("document " + key);
    while (true) {
      Optional<StoredRecord> current = read(key);
      if (ifMatch != null) {
        check(key, Preconditions.ifMatch(ifMatch), current);
      }
      ObjectNode output = fn.apply(current.map(r -> core.parse(r).deepCopy()).orElse(null));
      if (output == null) {
        throw new InvalidValueException("update function for document " + key + " returned null");
      }
      Core.Encoded encoded = core.encode(output, "document " + key);
      if (current.isPresent() && current.get().json().equals(encoded.json())) {
        checkGuard();
        return toDocument(current.get());
      }
      Optional<Document> written = tryWrite(key, current, encoded);
      if (written.isPresent()) {
        return written.get();
      }
      if (ifMatch != null) {
        // The caller's ETag went stale between our read and our commit: report it, never retry it.
        check(key, Preconditions.ifMatch(ifMatch), read(key));
      }
      backoff.pause();
    }
  }

  /**
   * Lists a collection with its collection ETag, which changes whenever a member is created,
   * replaced or deleted: {@code "<highest member revision>-<hash of (id, ETag) pairs>"}. The storage
   * is read in pages of 512 documents; a listing of a larger collection that races with writers is
   * not a snapshot, and its ETag then describes exactly the members returned, so a conditional
   * request made with it fails once the collection has moved on.
   *
   * @param collection the collection name
   * @return every document, ordered by id
   * @throws IllegalArgumentException if the name is invalid
   */
  public CollectionSnapshot list(String collection) {
    Names.requireName("collection", collection);
    List<Document> docs = new ArrayList<>();
    MessageDigest digest = CanonicalJson.sha256();
    long maxRevision = 0;
    for (StoredRecord r : core.scan(collection)) {
      docs.add(toDocument(r));
      maxRevision = Math.max(maxRevision, r.revision());
      digest.update((r.key().id() + "\n" + r.revision() + "-" + r.hash() + "\n").getBytes(StandardCharsets.UTF_8));
    }
    byte[] hash = java.util.Arrays.copyOf(digest.digest(), 16);
    ETag etag = ETag.strong(maxRevision + "-" + Base64.getUrlEncoder().withoutPadding().encodeToString(hash));
    return new CollectionSnapshot(collection, docs, etag);
  }

  // ---------------------------------------------------------------------------------------------

  private static RecordKey key(String collection, String id) {
    return new RecordKey(Names.requireName("collection", collection), Names.requireName("id", id));
  }

  private Optional<StoredRecord> read(RecordKey key) {
    return core.storage().read(key);
  }

  private void check(RecordKey key, Preconditions preconditions, Optional<StoredRecord> current) {
    ETag etag = current.map(Core::etag).orElse(null);
    if (preconditions.evaluate(etag, false) != Preconditions.Outcome.PROCEED) {
      throw new PreconditionFailedException(key.collection(), key.id(), preconditions.toString(),
          current.map(this::toDocument).orElse(null));
    }
  }

  /**
   * Commits a put ({@code encoded != null}) or a delete against the state that was read, with its
   * event; empty if the state changed in between.
   */
  private Optional<Document> tryWrite(RecordKey key, Optional<StoredRecord> current, Core.Encoded encoded) {
    List<Expectation> expectations = new ArrayList<>(2);
    expectations.add(new Expectation(key, current.map(StoredRecord::revision).orElse(Expectation.ABSENT)));
    if (guard != null) {
      expectations.add(leases.guardExpectation(guard));
    }
    EventType type = encoded == null ? EventType.DOCUMENT_DELETED
        : current.isPresent() ? EventType.DOCUMENT_REPLACED : EventType.DOCUMENT_CREATED;
    Write write = encoded == null ? Write.delete(key) : Write.put(key, encoded.json(), encoded.hash());
    CommitResult result = core.commit(Commit.namingRevisions(expectations, List.of(write), revisions -> {
      ObjectNode details = core.object().put("collection", key.collection()).put("id", key.id());
      current.ifPresent(r -> details.put("previousEtag", Core.etag(r).toString()));
      if (encoded != null) {
        details.put("etag", Core.etag(revisions.get(0), encoded.hash()).toString());
      }
      details.put("revision", revisions.get(0));
      if (guard != null) {
        details.put("fence", guard.fence()).put("leaseId", guard.leaseId());
      }
      return List.of(core.event(type, RecordKeys.documentTarget(key), details));
    }));
    if (result instanceof CommitResult.Committed c) {
      long revision = c.revisions().get(0);
      return Optional.of(encoded == null ? toDocument(current.get())
          : new Document(key.collection(), key.id(), encoded.value(), Core.etag(revision, encoded.hash()), revision));
    }
    checkGuard(); // if the guard itself moved on, report LeaseLostException rather than retrying
    return Optional.empty();
  }

  private void checkGuard() {
    if (guard != null) {
      leases.guardExpectation(guard);
    }
  }

  private Document toDocument(StoredRecord r) {
    return new Document(r.key().collection(), r.key().id(), core.parse(r), Core.etag(r), r.revision());
  }

  private <T> Versioned<T> typed(Document d, Class<T> type) {
    return new Versioned<>(d.collection(), d.id(), convert(d.value(), type, d.collection() + "/" + d.id()), d.etag(),
        d.revision());
  }

  private <T> T convert(ObjectNode value, Class<T> type, String what) {
    try {
      return core.mapper().treeToValue(value, type);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw new InvalidValueException("document " + what + " does not map to " + type.getName() + ": "
          + e.getMessage(), e);
    }
  }
}
