package io.kyros.collab;

import java.util.Objects;

/**
 * The rule for lease resource names, checked by {@link Leases#checkResourceName}. A resource name is
 * any string that
 *
 * <ul>
 *   <li>is not blank: at least one character is neither whitespace ({@link Character#isWhitespace}) nor
 *       a space separator ({@link Character#isSpaceChar}, which covers the no-break spaces);</li>
 *   <li>is at most {@value #MAX_UTF8_BYTES} bytes in UTF-8;</li>
 *   <li>holds no control character (Unicode category Cc: U+0000 to U+001F and U+007F to U+009F, which
 *       includes tab, newline and NUL) and no lone surrogate (a {@code char} of a surrogate pair
 *       without its partner: not Unicode text, it has no UTF-8 form);</li>
 *   <li>does not start with {@code tasks/}, the prefix of task claims' resources.</li>
 * </ul>
 *
 * <p>Names are compared exactly, {@code char} by {@code char}: nothing is trimmed, case-folded or
 * normalized, so {@code "job"} and {@code "job "}, or an {@code é} composed and decomposed, are different
 * resources. How a name becomes a record key is {@link RecordKeys#lease}'s concern. Stateless.
 */
final class ResourceNames {
  /** The longest resource name, in UTF-8 bytes. */
  static final int MAX_UTF8_BYTES = 1024;

  private ResourceNames() {}

  /**
   * @param resource a resource name
   * @return the name, if it follows the rule
   * @throws NullPointerException if it is null
   * @throws IllegalArgumentException naming the broken part of the rule otherwise
   */
  static String check(String resource) {
    Objects.requireNonNull(resource, "resource");
    boolean blank = true;
    int bytes = 0;
    for (int i = 0; i < resource.length(); i++) {
      char c = resource.charAt(i);
      int codePoint = c;
      if (Character.isHighSurrogate(c) && i + 1 < resource.length() && Character.isLowSurrogate(resource.charAt(i + 1))) {
        codePoint = Character.toCodePoint(c, resource.charAt(++i));
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException("resource must not contain a lone surrogate: U+"
            + String.format("%04X", (int) c) + " at index " + i);
      }
      if (Character.getType(codePoint) == Character.CONTROL) {
        throw new IllegalArgumentException("resource must not contain control characters (Unicode Cc): U+"
            + String.format("%04X", codePoint) + " at index " + i);
      }
      blank &= Character.isWhitespace(codePoint) || Character.isSpaceChar(codePoint);
      bytes += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
    }
    if (blank) {
      throw new IllegalArgumentException("resource must not be blank: \"" + resource + "\"");
    }
    if (bytes > MAX_UTF8_BYTES) {
      throw new IllegalArgumentException("resource must be at most " + MAX_UTF8_BYTES + " bytes in UTF-8, got " + bytes);
    }
    if (RecordKeys.isClaim(resource)) {
      throw new IllegalArgumentException("resource must not start with " + RecordKeys.TASK_LEASE_PREFIX
          + " (reserved for task claims): \"" + resource + "\"");
    }
    return resource;
  }
}
