package io.kyros.collab;

import java.util.List;
import java.util.Objects;

/**
 * Every document of one collection, in id order, with the collection's ETag. The collection ETag
 * changes whenever a member is created, replaced or deleted, so it can drive conditional reads of the
 * whole collection.
 *
 * <p>Immutable and thread-safe.
 *
 * @param collection the collection
 * @param documents the members, ordered by id
 * @param etag the collection's strong ETag
 */
public record CollectionSnapshot(String collection, List<Document> documents, ETag etag) {

  /**
   * Creates a snapshot, copying the list.
   *
   * @param collection the collection
   * @param documents the members, ordered by id
   * @param etag the collection's strong ETag
   * @throws NullPointerException if any reference is null
   */
  public CollectionSnapshot {
    Objects.requireNonNull(collection, "collection");
    documents = List.copyOf(documents);
    Objects.requireNonNull(etag, "etag");
  }
}
