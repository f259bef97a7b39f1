package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.ETag;
import io.kyros.collab.ETagList;
import io.kyros.collab.Preconditions;

/**
 * The request preconditions of writes (RFC 9110 §13; RFC 6585 §3): a write must say what it
 * expects with {@code If-Match} (or, to create, {@code If-None-Match: *}), else 428 Precondition
 * Required, unless the server runs with {@code --allow-unconditional}. {@code If-None-Match} with
 * entity tags alone does not count: any made-up tag would satisfy it, so it would make every write
 * unconditional. Malformed headers are 400. Writes that do not require a precondition (an agent's
 * availability, a batch's cancel) honour an If-Match they are sent ({@link #optionalIfMatch}).
 *
 * <p>Stateless and thread-safe.
 */
final class Conditions {
  private Conditions() {}

  /**
   * @param x the request
   * @return its If-Match / If-None-Match preconditions (neither If-Match nor {@code If-None-Match: *} only
   *     when the server allows it)
   * @throws ApiException 428 without If-Match or {@code If-None-Match: *}, 400 if malformed
   */
  static Preconditions forWrite(Exchange x) {
    String ifMatch = x.header("If-Match");
    String ifNoneMatch = x.header("If-None-Match");
    Preconditions p = new Preconditions(ifMatch == null ? null : parse(ifMatch, "If-Match"),
        ifNoneMatch == null ? null : parse(ifNoneMatch, "If-None-Match"));
    boolean guarded = p.ifMatch() != null || p.ifNoneMatch() != null && p.ifNoneMatch().isAny();
    if (!guarded && !x.config().allowUnconditional()) {
      throw p.ifNoneMatch() == null ? required() : new ApiException(428, "Precondition Required",
          "If-None-Match: " + p.ifNoneMatch() + " does not make this write conditional (any tag the resource does "
              + "not have satisfies it): send If-Match with the ETag you last read, or If-None-Match: * to create; "
              + "the server was not started with --allow-unconditional");
    }
    return p;
  }

  /**
   * The If-Match of a write that does not require a precondition: absent is fine, present it must hold (the write
   * passes it to core, which checks it in its commit).
   *
   * @param x the request
   * @return its If-Match as preconditions, or none when absent
   * @throws ApiException 400 if malformed
   */
  static Preconditions optionalIfMatch(Exchange x) {
    String h = x.header("If-Match");
    return h == null ? Preconditions.none() : Preconditions.ifMatch(parse(h, "If-Match"));
  }

  /**
   * The 412 of such a write whose If-Match did not hold, with the resource as it is now.
   *
   * @param what the resource, such as "agent w1"
   * @param asked the request's preconditions ({@link #optionalIfMatch})
   * @param current the resource's current ETag
   * @param representation the resource as the API shows it
   * @return the exception to throw
   */
  static ApiException ifMatchFailed(String what, Preconditions asked, ETag current, ObjectNode representation) {
    return new ApiException(412, "Precondition Failed", "precondition failed for " + what + ": If-Match "
        + asked.ifMatch() + " does not match, current ETag " + current.headerValue())
        .with("current", representation).header("ETag", current.headerValue());
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
      String m = e.getMessage();
      throw ApiException.badRequest(m != null && m.contains(name) ? m : "malformed " + name + ": " + m);
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
