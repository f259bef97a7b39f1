package io.kyros.collab;

import java.util.Objects;

/**
 * A typed document: its value mapped through the {@link Collab}'s {@code ObjectMapper}, with its
 * ETag and revision.
 *
 * <p>Immutable if {@code T} is; thread-safe as far as {@code T} is.
 *
 * @param <T> the value type
 * @param collection the collection
 * @param id the id
 * @param value the mapped value
 * @param etag the strong entity tag
 * @param revision the store-wide revision
 */
public record Versioned<T>(String collection, String id, T value, ETag etag, long revision) {

  /**
   * Creates a typed document.
   *
   * @param collection the collection
   * @param id the id
   * @param value the mapped value
   * @param etag the strong entity tag
   * @param revision the store-wide revision
   * @throws NullPointerException if any reference is null
   */
  public Versioned {
    Objects.requireNonNull(collection, "collection");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(etag, "etag");
  }
}
