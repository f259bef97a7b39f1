package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * A document as read or written: its value, strong ETag ({@code "<revision>-<hash>"}) and the
 * store-wide revision of the write that produced it.
 *
 * <p>Immutable and thread-safe: {@link #value()} returns a fresh copy each call.
 *
 * @param collection the collection
 * @param id the id within the collection
 * @param value the JSON object (a copy is kept and returned)
 * @param etag the strong entity tag
 * @param revision the store-wide revision, &gt; 0
 */
public record Document(String collection, String id, ObjectNode value, ETag etag, long revision) {

  /**
   * Creates a document, copying the value.
   *
   * @param collection the collection
   * @param id the id within the collection
   * @param value the JSON object (a copy is kept and returned)
   * @param etag the strong entity tag
   * @param revision the store-wide revision, &gt; 0
   * @throws NullPointerException if any reference is null
   */
  public Document {
    Objects.requireNonNull(collection, "collection");
    Objects.requireNonNull(id, "id");
    value = Objects.requireNonNull(value, "value").deepCopy();
    Objects.requireNonNull(etag, "etag");
  }

  /** @return a copy of the JSON object; changing it changes nothing stored */
  @Override
  public ObjectNode value() {
    return value.deepCopy();
  }
}
