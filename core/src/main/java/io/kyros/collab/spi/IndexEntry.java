package io.kyros.collab.spi;

import java.util.Objects;

/**
 * One secondary-index entry carried by a {@link Write}: the written record appears in the index
 * named {@link #index()} of its collection, at position {@link #key()}. Core computes the entries
 * (which tasks are ready, in which order, which claims expire when); a backend only stores them with
 * the record, atomically with the write, and answers {@link Storage#scanIndex} from them.
 *
 * <p>Both parts are printable ASCII (0x21 to 0x7E), so {@link String#compareTo} orders keys exactly
 * as a binary (byte-wise) collation does: a backend must order keys byte-wise, never by a locale.
 * <ul>
 *   <li>{@code index}: 1 to {@value #MAX_INDEX_LENGTH} characters;</li>
 *   <li>{@code key}: 1 to {@value #MAX_KEY_LENGTH} characters.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe.
 *
 * @param index the index name, unique among one write's entries
 * @param key the record's position in that index; ties are broken by record id
 */
public record IndexEntry(String index, String key) {
  /** The longest index name. */
  public static final int MAX_INDEX_LENGTH = 200;
  /** The longest key. */
  public static final int MAX_KEY_LENGTH = 200;

  /**
   * Creates an entry.
   *
   * @param index the index name
   * @param key the position
   * @throws NullPointerException if either is null
   * @throws IllegalArgumentException if either is empty, too long or not printable ASCII
   */
  public IndexEntry {
    requirePrintable("index", Objects.requireNonNull(index, "index"), MAX_INDEX_LENGTH);
    requirePrintable("key", Objects.requireNonNull(key, "key"), MAX_KEY_LENGTH);
  }

  static void requirePrintable(String what, String value, int max) {
    if (value.isEmpty() || value.length() > max) {
      throw new IllegalArgumentException(what + " must have 1 to " + max + " characters, got " + value.length());
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x21 || c > 0x7E) {
        throw new IllegalArgumentException(what + " must be printable ASCII (0x21-0x7E), got 0x"
            + Integer.toHexString(c) + " at " + i + " in " + value);
      }
    }
  }
}
