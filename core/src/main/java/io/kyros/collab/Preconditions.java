package io.kyros.collab;

/**
 * The entity-tag preconditions of a request, If-Match and If-None-Match (RFC 9110 §13.1.1,
 * §13.1.2), and their evaluation in the order of RFC 9110 §13.2.2. A null component means the
 * header field is absent. If-Unmodified-Since and If-Modified-Since are not supported, and the
 * caller decides whether preconditions apply to a method at all (RFC 9110 §13.2.1).
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param ifMatch the If-Match value, or null if the header is absent
 * @param ifNoneMatch the If-None-Match value, or null if the header is absent
 */
public record Preconditions(ETagList ifMatch, ETagList ifNoneMatch) {

  private static final Preconditions NONE = new Preconditions(null, null);
  private static final Preconditions IF_ABSENT = new Preconditions(null, ETagList.ANY);

  /**
   * The result of evaluating preconditions.
   *
   * <p>Constants are immutable and thread-safe.
   */
  public enum Outcome {
    /** All present conditions hold (or none is present): perform the method. */
    PROCEED,
    /** If-None-Match failed on a GET or HEAD: respond 304 Not Modified. */
    NOT_MODIFIED,
    /** If-Match failed, or If-None-Match failed on another method: respond 412. */
    PRECONDITION_FAILED
  }

  /**
   * Returns preconditions with neither header present.
   *
   * @return the empty preconditions, which always {@link Outcome#PROCEED}
   */
  public static Preconditions none() {
    return NONE;
  }

  /**
   * Returns an If-Match precondition for a single entity tag, as for an optimistic-concurrency
   * update ("only if it is still this version"). Only a strong entity tag can ever match.
   *
   * @param tag the entity tag the current representation must strongly match
   * @return the preconditions {@code If-Match: tag}
   * @throws IllegalArgumentException if {@code tag} is null
   */
  public static Preconditions ifMatch(ETag tag) {
    if (tag == null) {
      throw new IllegalArgumentException("If-Match entity tag must not be null");
    }
    return new Preconditions(ETagList.of(tag), null);
  }

  /**
   * Returns an If-Match precondition.
   *
   * @param tags the If-Match value
   * @return the preconditions {@code If-Match: tags}
   * @throws IllegalArgumentException if {@code tags} is null
   */
  public static Preconditions ifMatch(ETagList tags) {
    if (tags == null) {
      throw new IllegalArgumentException("If-Match value must not be null");
    }
    return new Preconditions(tags, null);
  }

  /**
   * Returns an If-None-Match precondition.
   *
   * @param tags the If-None-Match value
   * @return the preconditions {@code If-None-Match: tags}
   * @throws IllegalArgumentException if {@code tags} is null
   */
  public static Preconditions ifNoneMatch(ETagList tags) {
    if (tags == null) {
      throw new IllegalArgumentException("If-None-Match value must not be null");
    }
    return new Preconditions(null, tags);
  }

  /**
   * Returns {@code If-None-Match: *}: proceed only if the resource does not exist yet, as for a
   * create that must not overwrite.
   *
   * @return the preconditions {@code If-None-Match: *}
   */
  public static Preconditions ifAbsent() {
    return IF_ABSENT;
  }

  /**
   * Parses the If-Match and If-None-Match header field values of a request.
   *
   * @param ifMatchHeader the If-Match value, or null if the header is absent
   * @param ifNoneMatchHeader the If-None-Match value, or null if the header is absent
   * @return the parsed preconditions
   * @throws IllegalArgumentException if a present header is empty, blank or malformed (see {@link
   *     ETagList#parse(String, String)})
   */
  public static Preconditions fromHeaders(String ifMatchHeader, String ifNoneMatchHeader) {
    ETagList ifMatch = ifMatchHeader == null ? null : ETagList.parse(ifMatchHeader, "If-Match");
    ETagList ifNoneMatch =
        ifNoneMatchHeader == null ? null : ETagList.parse(ifNoneMatchHeader, "If-None-Match");
    return ifMatch == null && ifNoneMatch == null ? NONE : new Preconditions(ifMatch, ifNoneMatch);
  }

  /**
   * The preconditions as the headers that state them, for messages: {@code If-Match: "3-ab"}, {@code If-None-Match: *},
   * both joined by {@code ", "}, or {@code no precondition}.
   *
   * @return the header form
   */
  @Override
  public String toString() {
    if (isEmpty()) {
      return "no precondition";
    }
    String match = ifMatch == null ? null : "If-Match: " + ifMatch;
    String noneMatch = ifNoneMatch == null ? null : "If-None-Match: " + ifNoneMatch;
    return match == null ? noneMatch : noneMatch == null ? match : match + ", " + noneMatch;
  }

  /**
   * Tells whether no precondition header is present.
   *
   * @return true if both If-Match and If-None-Match are absent
   */
  public boolean isEmpty() {
    return ifMatch == null && ifNoneMatch == null;
  }

  /**
   * Evaluates the preconditions against the current state of the target resource, following RFC
   * 9110 §13.2.2: If-Match first, which fails unless the resource exists and (for a list) one
   * listed entity tag strongly matches; then If-None-Match, which fails if the resource exists and
   * (for a list) one listed entity tag weakly matches.
   *
   * @param current the entity tag of the current representation, or null if the resource does not
   *     exist
   * @param safeMethod true for GET and HEAD, where a failed If-None-Match means 304 Not Modified
   * @return {@link Outcome#PRECONDITION_FAILED} if If-Match fails, or if If-None-Match fails for a
   *     method other than GET/HEAD; {@link Outcome#NOT_MODIFIED} if If-None-Match fails for
   *     GET/HEAD; {@link Outcome#PROCEED} otherwise
   */
  public Outcome evaluate(ETag current, boolean safeMethod) {
    if (ifMatch != null && !ifMatch.matchesStrong(current)) {
      return Outcome.PRECONDITION_FAILED;
    }
    if (ifNoneMatch != null && ifNoneMatch.matchesWeak(current)) {
      return safeMethod ? Outcome.NOT_MODIFIED : Outcome.PRECONDITION_FAILED;
    }
    return Outcome.PROCEED;
  }
}
