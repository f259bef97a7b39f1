package io.kyros.collab;

/**
 * An HTTP entity tag as defined by RFC 9110 §8.8.3: an opaque validator, optionally marked weak.
 *
 * <p>{@link #tag()} holds the opaque-tag content <em>without</em> the surrounding double quotes;
 * every character must be an {@code etagc} ({@code %x21 / %x23-7E / obs-text %x80-FF}), so double
 * quotes, spaces, control characters and characters above U+00FF are rejected. {@link #toString()}
 * renders the header form ({@code "abc"} or {@code W/"abc"}) so that an HTTP layer can write it
 * directly; {@link #parse(String)} reads it back.
 *
 * <p>{@link #equals(Object)} compares tag and weakness exactly; it is neither of the RFC 9110
 * §8.8.3.2 comparison functions, which are {@link #strongMatch(ETag)} and {@link #weakMatch(ETag)}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param tag the opaque-tag content without quotes; may be empty
 * @param weak whether the tag carries the weak indicator {@code W/}
 */
public record ETag(String tag, boolean weak) {

  /**
   * Validates the tag content.
   *
   * @param tag the opaque-tag content without quotes; may be empty
   * @param weak whether the tag carries the weak indicator {@code W/}
   * @throws IllegalArgumentException if {@code tag} is null or contains a character that is not an
   *     {@code etagc}
   */
  public ETag {
    if (tag == null) {
      throw new IllegalArgumentException("etag must not be null");
    }
    for (int i = 0; i < tag.length(); i++) {
      char c = tag.charAt(i);
      if (c == '"') {
        throw new IllegalArgumentException("etag must not contain '\"': " + printable(tag));
      }
      if (!isEtagc(c)) {
        throw new IllegalArgumentException(
            "etag must not contain " + describe(c) + " at index " + i + ": " + printable(tag));
      }
    }
  }

  /**
   * Creates a strong entity tag.
   *
   * @param tag the opaque-tag content without quotes; may be empty
   * @return the strong entity tag {@code "tag"}
   * @throws IllegalArgumentException if {@code tag} is null or contains a character that is not an
   *     {@code etagc}
   */
  public static ETag strong(String tag) {
    return new ETag(tag, false);
  }

  /**
   * Creates a weak entity tag.
   *
   * @param tag the opaque-tag content without quotes; may be empty
   * @return the weak entity tag {@code W/"tag"}
   * @throws IllegalArgumentException if {@code tag} is null or contains a character that is not an
   *     {@code etagc}
   */
  public static ETag weak(String tag) {
    return new ETag(tag, true);
  }

  /**
   * Parses exactly one entity tag in header form, such as {@code "abc"} or {@code W/"abc"}.
   * Whitespace (SP, HTAB) around the entity tag is ignored. The weak indicator is case-sensitive.
   * The value {@code *} of If-Match / If-None-Match is not an entity tag; parse such header values
   * with {@link ETagList#parse(String)}.
   *
   * @param header the entity tag in header form
   * @return the parsed entity tag
   * @throws IllegalArgumentException if {@code header} is null, empty, {@code *}, or not exactly
   *     one well-formed entity tag; the message names the broken condition and the input
   */
  public static ETag parse(String header) {
    if (header == null) {
      throw new IllegalArgumentException("entity tag must not be null");
    }
    int start = skipOws(header, 0, header.length());
    int end = trimOwsEnd(header, start, header.length());
    if (start == end) {
      throw new IllegalArgumentException(
          "entity tag must not be empty: '" + printable(header) + "'");
    }
    if (end - start == 1 && header.charAt(start) == '*') {
      throw new IllegalArgumentException(
          "'*' is not an entity tag; parse If-Match / If-None-Match values with ETagList.parse: "
              + printable(header));
    }
    SyntaxError error =
        (index, problem) ->
            new IllegalArgumentException(
                problem + (index == start ? "" : " at index " + index) + ": " + printable(header));
    int tagEnd = scan(header, start, end, error);
    int after = skipOws(header, tagEnd, end);
    if (after != end) {
      throw error.at(after, "unexpected characters after entity tag (lists need ETagList.parse)");
    }
    return fromBounds(header, start, tagEnd);
  }

  /**
   * Returns the header form of this entity tag, {@code "tag"} or {@code W/"tag"}.
   *
   * @return the header form
   */
  public String headerValue() {
    return weak ? "W/\"" + tag + '"' : '"' + tag + '"';
  }

  /**
   * Returns the header form of this entity tag, {@code "tag"} or {@code W/"tag"}, the same as
   * {@link #headerValue()}.
   *
   * @return the header form
   */
  @Override
  public String toString() {
    return headerValue();
  }

  /**
   * Strong comparison (RFC 9110 §8.8.3.2): both entity tags are strong and their opaque tags are
   * equal character by character.
   *
   * @param other the entity tag to compare with; may be null
   * @return whether the two entity tags match strongly; false if {@code other} is null
   */
  public boolean strongMatch(ETag other) {
    return other != null && !weak && !other.weak && tag.equals(other.tag);
  }

  /**
   * Weak comparison (RFC 9110 §8.8.3.2): the opaque tags are equal character by character,
   * regardless of either entity tag being weak.
   *
   * @param other the entity tag to compare with; may be null
   * @return whether the two entity tags match weakly; false if {@code other} is null
   */
  public boolean weakMatch(ETag other) {
    return other != null && tag.equals(other.tag);
  }

  /**
   * Returns the weak form of this entity tag.
   *
   * @return this instance if it is already weak, otherwise a weak entity tag with the same opaque
   *     tag
   */
  public ETag asWeak() {
    return weak ? this : new ETag(tag, true);
  }

  // ---- shared syntax helpers (also used by ETagList) ----

  /** Creates the exception for a syntax problem found at an index of the input. */
  @FunctionalInterface
  interface SyntaxError {
    IllegalArgumentException at(int index, String problem);
  }

  /**
   * Scans one entity tag starting at {@code start} (which must not be whitespace) and returns the
   * index just past its closing quote. Does not look beyond {@code limit}.
   */
  static int scan(String input, int start, int limit, SyntaxError error) {
    int i = start;
    if (input.startsWith("W/", i) && i + 2 <= limit) {
      i += 2;
    } else if (input.startsWith("w/", i) && i + 2 <= limit) {
      throw error.at(i, "entity tag weak indicator must be an uppercase 'W/'");
    }
    if (i >= limit || input.charAt(i) != '"') {
      throw error.at(start, "entity tag must be quoted");
    }
    for (i++; i < limit; i++) {
      char c = input.charAt(i);
      if (c == '"') {
        return i + 1;
      }
      if (!isEtagc(c)) {
        throw error.at(i, "entity tag must not contain " + describe(c));
      }
    }
    throw error.at(limit, "entity tag is missing its closing quote");
  }

  /** Builds the entity tag spanning {@code [start, end)}, which {@link #scan} has accepted. */
  static ETag fromBounds(String input, int start, int end) {
    boolean weak = input.charAt(start) == 'W';
    return new ETag(input.substring(start + (weak ? 3 : 1), end - 1), weak);
  }

  /** Returns the first index at or after {@code from} that is not SP or HTAB. */
  static int skipOws(String s, int from, int limit) {
    int i = from;
    while (i < limit && isOws(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /** Returns the end index after dropping trailing SP / HTAB, not going below {@code from}. */
  static int trimOwsEnd(String s, int from, int limit) {
    int end = limit;
    while (end > from && isOws(s.charAt(end - 1))) {
      end--;
    }
    return end;
  }

  static boolean isOws(char c) {
    return c == ' ' || c == '\t';
  }

  /** etagc = %x21 / %x23-7E / obs-text, obs-text = %x80-FF. */
  static boolean isEtagc(char c) {
    return c == 0x21 || (c >= 0x23 && c <= 0x7E) || (c >= 0x80 && c <= 0xFF);
  }

  /** Names a character that is not an etagc. */
  static String describe(char c) {
    String code = String.format("U+%04X", (int) c);
    if (c == '"') {
      return "'\"'";
    }
    if (c == ' ') {
      return "space (" + code + ")";
    }
    if (c < 0x20 || c == 0x7F) {
      return "control character " + code;
    }
    return "character " + code + " (only U+0021-U+007E and obs-text U+0080-U+00FF are allowed)";
  }

  /** The most characters of a header an exception message shows. */
  private static final int SHOWN = 200;

  /**
   * Renders input for an exception message: C0 and C1 control characters and the Unicode line and paragraph
   * separators escaped (no log injection), at most {@value #SHOWN} characters of it.
   */
  static String printable(String s) {
    if (s.length() > SHOWN) {
      return printable(s.substring(0, SHOWN)) + "... (" + s.length() + " characters)";
    }
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == '\u2028' || c == '\u2029') {
        if (out == null) {
          out = new StringBuilder(s.length() + 16).append(s, 0, i);
        }
        out.append(String.format("\\u%04X", (int) c));
      } else if (out != null) {
        out.append(c);
      }
    }
    return out == null ? s : out.toString();
  }
}
