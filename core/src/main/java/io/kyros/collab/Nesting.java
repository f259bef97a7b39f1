package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.Map;

/**
 * The one nesting limit of stored values (documents, task and lease records, event details): at most
 * {@value #MAX_DEPTH} levels of objects and arrays, the top-level object counting as one. It is checked before
 * anything is written and safely below what every backend's JSON reader accepts (Jackson reads at most 1,000
 * levels by default, and a backend may wrap a value in an envelope), so whatever is accepted reads back.
 *
 * <p>The check walks iteratively, so a self-referencing {@code Map} or {@code List}, or one nested 200,000
 * levels deep, is refused as an {@link InvalidValueException} instead of overflowing the stack; and it stops after as
 * many elements as the size limit has bytes, so a value that shares its containers (far larger as JSON than in
 * memory) is refused as a {@link ValueTooLargeException} at once. Stateless.
 */
final class Nesting {
  /** The deepest nesting accepted. */
  static final int MAX_DEPTH = 500;
  /**
   * Elements per byte of the size limit a value the mapper converts may have before it is converted: the mapper may
   * leave some out (nulls, empty values), so the exact count, one per byte, applies to the converted tree only.
   */
  static final long CONVERTED_SLACK = 16;

  private Nesting() {}

  private record Level(Object value, int depth) {}

  /**
   * Checks a value as given by a caller: {@link JsonNode}s, {@link Map}s, {@link Collection}s and object arrays
   * are walked (other objects are left to the mapper and checked once converted).
   *
   * @param value the value
   * @param what what it is, for the message ({@code "document c/x"})
   * @param maxBytes the size limit of its canonical JSON, in which each element takes at least a byte
   * @param elementsPerByte how many elements per byte of it the value may have: 1 for a {@link JsonNode}; for a value
   *     the mapper converts, which may drop elements (a mapper leaving out nulls), {@link #CONVERTED_SLACK}, the
   *     converted tree being checked again with 1
   * @throws InvalidValueException if it nests deeper than {@link #MAX_DEPTH} levels (a value that contains
   *     itself nests infinitely deep)
   * @throws ValueTooLargeException if it has more elements than that
   */
  static void check(Object value, String what, long maxBytes, long elementsPerByte) {
    long maxElements = Math.multiplyHigh(maxBytes, elementsPerByte) == 0 ? maxBytes * elementsPerByte : Long.MAX_VALUE;
    Deque<Level> todo = new ArrayDeque<>();
    todo.push(new Level(value, 0));
    long elements = 0;
    while (!todo.isEmpty()) {
      Level l = todo.pop();
      if (++elements > maxElements) {
        // each element takes at least a byte of canonical JSON: a value sharing its containers (an array holding
        // the one before it twice, 40 times over) has far more than it holds in memory, and is refused here instead
        // of being walked, then written, path by path
        throw ValueTooLargeException.ofElements(what, elements, maxBytes);
      }
      Iterable<?> children = children(l.value());
      if (children == null) {
        continue;
      }
      int depth = l.depth() + 1;
      if (depth > MAX_DEPTH) {
        throw new InvalidValueException(what + " nests deeper than " + MAX_DEPTH
            + " levels of objects and arrays (or contains itself)");
      }
      for (Object child : children) {
        todo.push(new Level(child, depth));
      }
    }
  }

  /** The children of a container, or null if {@code value} is not one this check walks. */
  private static Iterable<?> children(Object value) {
    if (value instanceof JsonNode n) {
      return n.isContainerNode() ? n : null;
    }
    if (value instanceof Map<?, ?> m) {
      return m.values();
    }
    if (value instanceof Collection<?> c) {
      return c;
    }
    if (value instanceof Object[] a) {
      return Arrays.asList(a);
    }
    return null;
  }
}
