package io.kyros.collab;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The value of an If-Match or If-None-Match header field (RFC 9110 §13.1.1, §13.1.2): either
 * {@code *} ({@link #ANY}) or a non-empty list of {@link ETag entity tags}.
 *
 * <p>{@link #matchesStrong(ETag)} implements If-Match evaluation (strong comparison) and {@link
 * #matchesWeak(ETag)} the matching half of If-None-Match evaluation (weak comparison). {@link
 * #toString()} renders the header form, {@code *} or {@code "a", W/"b"}.
 *
 * <p>Equality is by value: two lists are equal when both are {@link #ANY} or when they hold equal
 * entity tags in the same order.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ETagList {

  /** The value {@code *}: matches any current representation, but not an absent resource. */
  public static final ETagList ANY = new ETagList(true, List.of());

  private final boolean any;
  private final List<ETag> tags;

  private ETagList(boolean any, List<ETag> tags) {
    this.any = any;
    this.tags = tags;
  }

  /**
   * Creates a list of the given entity tags, in order. Duplicates are kept.
   *
   * @param tags the entity tags; at least one, none null
   * @return the list
   * @throws IllegalArgumentException if {@code tags} is null or empty or contains null
   */
  public static ETagList of(ETag... tags) {
    if (tags == null) {
      throw new IllegalArgumentException("entity-tag list must not be null");
    }
    return new ETagList(false, checkedCopy(tags.clone()));
  }

  /**
   * Creates a list of the given entity tags, in iteration order. Duplicates are kept.
   *
   * @param tags the entity tags; at least one, none null
   * @return the list
   * @throws IllegalArgumentException if {@code tags} is null or empty or contains null
   */
  public static ETagList of(Collection<ETag> tags) {
    if (tags == null) {
      throw new IllegalArgumentException("entity-tag list must not be null");
    }
    return new ETagList(false, checkedCopy(tags.toArray(new ETag[0])));
  }

  /** Validates a private copy of the caller's tags and returns it as an immutable list. */
  private static List<ETag> checkedCopy(ETag[] tags) {
    if (tags.length == 0) {
      throw new IllegalArgumentException("entity-tag list must not be empty; use ANY for '*'");
    }
    for (int i = 0; i < tags.length; i++) {
      if (tags[i] == null) {
        throw new IllegalArgumentException(
            "entity-tag list must not contain null (index " + i + ")");
      }
    }
    return List.of(tags);
  }

  /**
   * Parses an If-Match header value; same as {@link #parse(String, String)} with header name
   * {@code If-Match}, which only affects the wording of the empty-header message.
   *
   * @param header the header field value
   * @return {@link #ANY} for {@code *}, otherwise the listed entity tags in order
   * @throws IllegalArgumentException if {@code header} is null, empty or blank, or not a valid
   *     {@code "*" / #entity-tag} value; the message names the broken condition, the index and the
   *     input
   * @see #parse(String, String)
   */
  public static ETagList parse(String header) {
    return parse(header, "If-Match");
  }

  /**
   * Parses an If-Match or If-None-Match header value: {@code *} alone, or a comma-separated list of
   * entity tags (RFC 9110 §5.6.1). Whitespace (SP, HTAB) around elements and commas is ignored,
   * and empty list elements are accepted, as in {@code "a", , "b"}; at least one entity tag is
   * required.
   * Error messages give 0-based indexes into {@code header}.
   *
   * @param header the header field value
   * @param headerName the header name used in the empty-header message, such as {@code
   *     If-None-Match}
   * @return {@link #ANY} for {@code *}, otherwise the listed entity tags in order
   * @throws IllegalArgumentException if {@code header} is null, empty or blank, or not a valid
   *     {@code "*" / #entity-tag} value; the message names the broken condition, the index and the
   *     input
   */
  public static ETagList parse(String header, String headerName) {
    String name = headerName == null ? "If-Match" : headerName;
    if (header == null) {
      throw new IllegalArgumentException(name + " header must not be null");
    }
    int n = header.length();
    int start = ETag.skipOws(header, 0, n);
    if (start == n) {
      throw new IllegalArgumentException(name + " header must not be empty");
    }
    ETag.SyntaxError error =
        (index, problem) ->
            new IllegalArgumentException(
                "invalid entity-tag list at index "
                    + index
                    + " ("
                    + problem
                    + "): "
                    + ETag.printable(header));
    if (header.charAt(start) == '*') {
      int after = ETag.skipOws(header, start + 1, n);
      if (after != n) {
        throw error.at(after, "'*' must be the only value");
      }
      return ANY;
    }
    List<ETag> tags = new ArrayList<>();
    int i = start;
    while (true) {
      i = ETag.skipOws(header, i, n);
      if (i == n) {
        break;
      }
      char c = header.charAt(i);
      if (c == ',') { // empty list element
        i++;
        continue;
      }
      if (c == '*') {
        throw error.at(i, "'*' must be the only value, not a list element");
      }
      int end = ETag.scan(header, i, n, error);
      tags.add(ETag.fromBounds(header, i, end));
      i = ETag.skipOws(header, end, n);
      if (i == n) {
        break;
      }
      if (header.charAt(i) != ',') {
        throw error.at(i, "expected ',' or end of header after entity tag");
      }
      i++;
    }
    if (tags.isEmpty()) {
      throw new IllegalArgumentException(
          name + " header must contain '*' or at least one entity tag: " + ETag.printable(header));
    }
    return new ETagList(false, List.copyOf(tags));
  }

  /**
   * Tells whether this is {@code *}.
   *
   * @return true for {@link #ANY}
   */
  public boolean isAny() {
    return any;
  }

  /**
   * Returns the listed entity tags in order.
   *
   * @return an unmodifiable list; empty for {@link #ANY}
   */
  public List<ETag> tags() {
    return tags;
  }

  /**
   * If-Match semantics (RFC 9110 §13.1.1): whether the condition is true for the current
   * representation. {@code *} is true when the resource exists; a list is true when any listed
   * entity tag matches {@code current} by strong comparison.
   *
   * @param current the entity tag of the current representation, or null if the resource does not
   *     exist
   * @return whether the condition holds; always false if {@code current} is null
   */
  public boolean matchesStrong(ETag current) {
    if (current == null) {
      return false;
    }
    if (any) {
      return true;
    }
    for (ETag tag : tags) {
      if (tag.strongMatch(current)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The matching test of If-None-Match (RFC 9110 §13.1.2): {@code *} matches when the resource
   * exists; a list matches when any listed entity tag matches {@code current} by weak comparison.
   * The If-None-Match condition is true when this returns false.
   *
   * @param current the entity tag of the current representation, or null if the resource does not
   *     exist
   * @return whether any entity tag matches; always false if {@code current} is null
   */
  public boolean matchesWeak(ETag current) {
    if (current == null) {
      return false;
    }
    if (any) {
      return true;
    }
    for (ETag tag : tags) {
      if (tag.weakMatch(current)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Compares by value: both {@link #ANY}, or equal entity tags in the same order.
   *
   * @param o the object to compare with
   * @return whether {@code o} is an equal entity-tag list
   */
  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    return o instanceof ETagList other && any == other.any && tags.equals(other.tags);
  }

  /**
   * Returns a hash code consistent with {@link #equals(Object)}.
   *
   * @return the hash code
   */
  @Override
  public int hashCode() {
    return any ? 42 : tags.hashCode();
  }

  /**
   * Returns the header form, {@code *} or the entity tags separated by {@code ", "}.
   *
   * @return the header form, which {@link #parse(String)} reads back to an equal list
   */
  @Override
  public String toString() {
    if (any) {
      return "*";
    }
    StringBuilder out = new StringBuilder();
    for (ETag tag : tags) {
      if (out.length() > 0) {
        out.append(", ");
      }
      out.append(tag.headerValue());
    }
    return out.toString();
  }
}
