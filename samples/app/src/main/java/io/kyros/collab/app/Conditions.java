package io.kyros.collab.app;

import io.kyros.collab.ETag;
import io.kyros.collab.ETagList;
import io.kyros.collab.Preconditions;

/**
 * The request preconditions of writes (RFC 9110 §13; RFC 6585 §3): a write must say what it
 * expects with {@code If-Match} (or, to create, {@code If-None-Match: *}), else 428 Precondition
 * Required, unless the server runs with {@code --allow-unconditional}. Malformed headers are 400.
 *
 * <p>Stateless and thread-safe.
 */
final class Conditions {
  private Conditions() {}

  /**
   * @param x the request
   * @return its If-Match / If-None-Match preconditions (none only when the server allows it)
   * @throws ApiException 428 without one, 400 if malformed
   */
  static Preconditions forWrite(Exchange x) {
    Preconditions p;
    try {
      p = Preconditions.fromHeaders(x.header("If-Match"), x.header("If-None-Match"));
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
    if (p.isEmpty() && !x.config().allowUnconditional()) {
      throw required();
    }
    return p;
  }

  /**
   * The If-Match of a task write, whose core API takes one expected ETag: {@code *}, or a list of
   * entity tags of which the write expects the one strongly equal to the task's current ETag (see
   * {@link #matching}).
   *
   * @param x the request
   * @return the If-Match list, {@link ETagList#ANY} for {@code *}, or null when absent and allowed
   * @throws ApiException 428 without If-Match (unless allowed), 400 if malformed
   */
  static ETagList ifMatch(Exchange x) {
    String h = x.header("If-Match");
    if (h == null) {
      if (!x.config().allowUnconditional()) {
        throw required();
      }
      return null;
    }
    return parse(h, "If-Match");
  }

  /**
   * The tag of an If-Match list that a write taking one expected ETag should expect (RFC 9110
   * §13.1.1: If-Match holds if any listed tag strongly matches the current one; a weak tag never
   * does). Handing core the listed tag equal to the current ETag keeps the write atomic: its
   * commit still fails with a precondition if the resource changed after {@code current} was read.
   *
   * @param ifMatch a list of entity tags (not {@code *})
   * @param current the resource's current ETag
   * @return the first listed tag strongly matching {@code current}, or null if none does
   */
  static ETag matching(ETagList ifMatch, ETag current) {
    return ifMatch.tags().stream().filter(t -> t.strongMatch(current)).findFirst().orElse(null);
  }

  /**
   * @param x a read
   * @return its If-None-Match list, or null if absent
   */
  static ETagList ifNoneMatch(Exchange x) {
    String h = x.header("If-None-Match");
    return h == null ? null : parse(h, "If-None-Match");
  }

  private static ETagList parse(String header, String name) {
    try {
      return ETagList.parse(header, name);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
  }

  /**
   * @param x a read
   * @param current the current ETag
   * @return true if the request's If-None-Match matches it (weak comparison): answer 304
   */
  static boolean notModified(Exchange x, ETag current) {
    ETagList inm = ifNoneMatch(x);
    if (inm == null) {
      return false;
    }
    return inm.isAny() || inm.tags().stream().anyMatch(t -> t.weakMatch(current));
  }

  private static ApiException required() {
    return new ApiException(428, "Precondition Required",
        "this write needs If-Match with the ETag you last read (or If-None-Match: * to create); "
            + "the server was not started with --allow-unconditional");
  }
}
