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
   * The one ETag a task write expects: {@code If-Match: "tag"} (a single strong tag), or null for
   * {@code If-Match: *} or, when allowed, no header.
   *
   * @param x the request
   * @return the expected ETag, or null for any
   * @throws ApiException 428 without If-Match (unless allowed), 400 for a list or a malformed tag
   */
  static ETag ifMatch(Exchange x) {
    String h = x.header("If-Match");
    if (h == null) {
      if (!x.config().allowUnconditional()) {
        throw required();
      }
      return null;
    }
    try {
      ETagList list = ETagList.parse(h, "If-Match");
      if (list.isAny()) {
        return null;
      }
      if (list.tags().size() != 1) {
        throw ApiException.badRequest("If-Match must name exactly one entity tag here: " + h);
      }
      return list.tags().get(0);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
  }

  /**
   * @param x a read
   * @return its If-None-Match list, or null if absent
   */
  static ETagList ifNoneMatch(Exchange x) {
    String h = x.header("If-None-Match");
    if (h == null) {
      return null;
    }
    try {
      return ETagList.parse(h, "If-None-Match");
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
