package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;

/**
 * Cuts a text that goes into a stored value (a task's {@code lastError}, an event's error detail) to a budget of
 * canonical JSON bytes, so that the commit recording it fits the size limit: whole characters only (a character of two
 * UTF-16 units is kept or dropped whole), and marked as cut. The count is an upper bound of the text's bytes inside a
 * JSON string: UTF-8, and 6 bytes for a control character (its longest escape), 2 for a quote or backslash.
 *
 * <p>Stateless and thread-safe.
 */
final class TextCut {
  /** Ends a cut text. */
  static final String MARK = " … (cut to fit the size limit)";
  private static final long MARK_BYTES = bytes(MARK);

  private TextCut() {}

  /**
   * @param text the text
   * @param budget the most bytes it may take inside a JSON string
   * @return the text if it fits; else its longest prefix of whole characters that fits with {@link #MARK} after it,
   *     then the mark; the empty string if not even the mark fits
   */
  static String toBytes(String text, long budget) {
    if (bytes(text) <= budget) {
      return text;
    }
    long room = budget - MARK_BYTES;
    if (room < 0) {
      return "";
    }
    long used = 0;
    int i = 0;
    while (i < text.length()) {
      int width = Character.isHighSurrogate(text.charAt(i)) && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1)) ? 2 : 1;
      long b = width == 2 ? 4 : bytes(text.charAt(i));
      if (used + b > room) {
        break;
      }
      used += b;
      i += width;
    }
    return text.substring(0, i) + MARK;
  }

  /**
   * Encodes {@code json} with its member {@code field} set to {@code text}, or to as much of it as leaves {@code spare}
   * bytes free below the size limit (cut, and marked as cut), or to null if not even the mark fits: recording a text of
   * unbounded length (a failure's reason) must not make the commit that records it fail.
   *
   * @param core the core, for its encoding and size limit
   * @param json the value, changed in place
   * @param field the member to set
   * @param text the text
   * @param spare the bytes to leave free below the size limit
   * @param what what the value is, for a message
   * @return the value encoded
   * @throws ValueTooLargeException if the value is too large even with the member null
   */
  static Core.Encoded encodeFitting(Core core, ObjectNode json, String field, String text, long spare, String what) {
    long room = core.settings().maxValueBytes() - spare;
    json.put(field, text);
    try {
      Core.Encoded whole = core.encode(json, what);
      if (utf8(whole.json()) <= room) {
        return whole;
      }
    } catch (ValueTooLargeException tooLarge) {
      // cut below
    }
    json.putNull(field);
    Core.Encoded without = core.encode(json, what);
    // the text in quotes takes the place of null's 4 bytes
    String kept = toBytes(text, room - utf8(without.json()) + 2);
    if (kept.isEmpty()) {
      return without;
    }
    json.put(field, kept);
    return core.encode(json, what);
  }

  private static long utf8(String json) {
    return json.getBytes(StandardCharsets.UTF_8).length;
  }

  /** @return an upper bound of the text's bytes inside a JSON string */
  static long bytes(String text) {
    long n = 0;
    for (int i = 0; i < text.length(); i++) {
      n += bytes(text.charAt(i));
    }
    return n;
  }

  private static long bytes(char c) {
    if (c < 0x20) {
      return 6;
    }
    if (c == '"' || c == '\\') {
      return 2;
    }
    if (c < 0x80) {
      return 1;
    }
    if (c < 0x800 || Character.isSurrogate(c)) {
      return 2; // a surrogate: half of a 4-byte character (a lone one is refused by the store anyway)
    }
    return 3;
  }
}
