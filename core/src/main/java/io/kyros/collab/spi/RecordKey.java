package io.kyros.collab.spi;

import java.util.Objects;

/**
 * The address of one stored record: a collection and an id within it.
 *
 * <p>User documents live in collections whose names match
 * {@code [A-Za-z0-9][A-Za-z0-9._-]{0,127}}; core keeps its own records (tasks, leases) in
 * collections whose names start with {@code _}, which user names cannot. Core validates names before
 * a key reaches a backend, so a backend may rely on both parts being non-empty, at most 128
 * characters, and made of {@code [A-Za-z0-9._-]} plus a leading {@code _} for system collections.
 *
 * <p>Immutable and thread-safe.
 *
 * @param collection the collection name
 * @param id the record id within the collection
 */
public record RecordKey(String collection, String id) implements Comparable<RecordKey> {

  /**
   * Creates a key.
   *
   * @param collection the collection name
   * @param id the record id within the collection
   * @throws NullPointerException if either part is null
   */
  public RecordKey {
    Objects.requireNonNull(collection, "collection");
    Objects.requireNonNull(id, "id");
  }

  @Override
  public int compareTo(RecordKey other) {
    int c = collection.compareTo(other.collection);
    return c != 0 ? c : id.compareTo(other.id);
  }

  @Override
  public String toString() {
    return collection + "/" + id;
  }
}
