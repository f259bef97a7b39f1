package io.kyros.collab.app;

/**
 * Stored text made safe for a terminal: the one helper every text (not {@code --json}) printer of the
 * commands and the messages on stderr go through. A task title, a description, a checklist item, a
 * {@code last_error}, a holder, a label or an event's actor is whatever someone stored; printed raw, an
 * ESC ({@code \u001B[2K}, an OSC 52 that writes the clipboard) or a CR reaches the terminal and can
 * rewrite the screen or forge rows. Here every control character is shown as a visible escape:
 * {@code \n}, {@code \r}, {@code \t}, and {@code \}{@code uXXXX} for the others (upper-case hex, as JSON writes them) (C0, DEL, C1), and for
 * the characters that reorder text on screen (the bidirectional overrides, embeddings, isolates and marks)
 * and the Unicode line and paragraph separators. {@code --json} output stays exact: JSON escapes control
 * characters itself.
 *
 * <p>Stateless and thread-safe.
 */
final class TerminalText {
  /** The most characters of an answer that is not the API's (an error page) a message quotes. */
  static final int QUOTE_MAX = 200;

  private TerminalText() {}

  /**
   * @param s stored text for one line of output; null prints as {@code null}
   * @return it with every control and reordering character as a visible escape, newlines included
   */
  static String safe(String s) {
    return escape(s, false);
  }

  /**
   * @param s text whose lines are its own (the Markdown log, a message of several lines)
   * @return it with every control and reordering character as a visible escape, but {@code \n}
   */
  static String safeLines(String s) {
    return escape(s, true);
  }

  /**
   * @param s text that is not the API's, such as an error page's body
   * @return its first {@link #QUOTE_MAX} characters, {@link #safe} (with {@code …} when cut)
   */
  static String quote(String s) {
    String t = s == null ? "" : s.strip();
    return safe(t.length() > QUOTE_MAX ? t.substring(0, QUOTE_MAX) + "…" : t);
  }

  private static String escape(String s, boolean keepNewlines) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean unsafe = needsEscape(c) && !(keepNewlines && c == '\n');
      if (unsafe && b == null) {
        b = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (b == null) {
        continue;
      }
      if (!unsafe) {
        b.append(c);
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c == '\r') {
        b.append("\\r");
      } else if (c == '\t') {
        b.append("\\t");
      } else {
        b.append(String.format("\\u%04X", (int) c));
      }
    }
    return b == null ? s : b.toString();
  }

  private static boolean needsEscape(char c) {
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) // C0, DEL, C1 (0x9b is an 8-bit CSI)
        || c == 0x061c || c == 0x200e || c == 0x200f // Arabic letter mark, LRM, RLM
        || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) // embeddings, overrides, isolates
        || c == 0x2028 || c == 0x2029; // line and paragraph separators
  }
}
