package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.CollabException;
import io.kyros.collab.DependencyException;
import io.kyros.collab.InvalidTransitionException;
import io.kyros.collab.InvalidValueException;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.StorageException;
import io.kyros.collab.UpdateConflictException;
import io.kyros.collab.ValueTooLargeException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become HTTP answers: RFC 9457 {@code application/problem+json}
 * bodies
 *
 * <pre>
 * {"type": "about:blank", "title": "Precondition Failed", "status": 412,
 *  "detail": "If-Match \"3-abc\" does not match the current ETag \"5-def\"",
 *  "instance": "/collab/docs/orders/42", ...extra members}
 * </pre>
 *
 * with the status chosen by the failure's kind: {@link ApiException} its own; a failed
 * precondition 412 (with {@code current}: the current state, or null when absent); not found 404;
 * invalid transitions, lost leases, stale fences, dependency problems and update conflicts 409;
 * values too large 413; invalid arguments and values 400; Jetty's refusals of a request its own status (a query
 * that is not well encoded 400); storage failures 503; anything else 500
 * (logged, its message not shown).
 *
 * <p>Stateless and thread-safe.
 */
final class Problems {
  private static final Logger LOG = LoggerFactory.getLogger(Problems.class);
  static final String MEDIA_TYPE = "application/problem+json";

  private Problems() {}

  /**
   * @param t a failure while handling a request
   * @return the API's answer to it
   */
  static ApiException of(Throwable t) {
    if (t instanceof ApiException api) {
      return api;
    }
    if (t instanceof org.eclipse.jetty.http.HttpException http && http.getCode() >= 400 && http.getCode() < 500) {
      // Jetty's refusal of what the client sent (some are IllegalStateExceptions, which would read as 409 below)
      return new ApiException(http.getCode(), org.eclipse.jetty.http.HttpStatus.getMessage(http.getCode()),
          http.getReason() == null ? t.getMessage() : http.getReason());
    }
    if (t instanceof PreconditionFailedException pf) {
      ApiException e = new ApiException(412, "Precondition Failed", pf.getMessage());
      e.with("current", pf.current().<com.fasterxml.jackson.databind.JsonNode>map(Json::documentState)
          .orElse(JsonNodeFactory.instance.nullNode()));
      pf.currentETag().ifPresent(tag -> e.header("ETag", tag.headerValue()));
      return e;
    }
    if (t instanceof NotFoundException) {
      return ApiException.notFound(t.getMessage());
    }
    if (t instanceof InvalidTransitionException || t instanceof LeaseLostException
        || t instanceof UpdateConflictException || t instanceof DependencyException
        || t instanceof ConflictException || t instanceof IllegalStateException) {
      return ApiException.conflict(t.getMessage());
    }
    if (t instanceof ValueTooLargeException) {
      return new ApiException(413, "Content Too Large", t.getMessage());
    }
    if (t instanceof InvalidValueException || t instanceof IllegalArgumentException
        || t instanceof NullPointerException) {
      return ApiException.badRequest(t.getMessage());
    }
    if (t instanceof StorageException) {
      LOG.warn("storage failure while handling a request", t);
      return new ApiException(503, "Service Unavailable", "storage failure: " + t.getMessage())
          .header("Retry-After", "1");
    }
    if (t instanceof CollabException) {
      return ApiException.conflict(t.getMessage());
    }
    LOG.error("unexpected failure while handling a request", t);
    return new ApiException(500, "Internal Server Error", "unexpected failure; see the server's log");
  }

  /**
   * Cuts a text a client sent to what a problem's detail shows of it.
   *
   * @param s the text
   * @param max the most characters kept
   * @return {@code s}, or its first {@code max} characters and "…"
   */
  static String clip(String s, int max) {
    return s.length() > max ? s.substring(0, max) + "…" : s;
  }

  /**
   * @param e the refusal
   * @param instance the request's path
   * @return its problem+json body
   */
  static ObjectNode body(ApiException e, String instance) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("type", "about:blank");
    o.put("title", e.title());
    o.put("status", e.status());
    o.put("detail", e.getMessage() == null ? e.title() : e.getMessage());
    o.put("instance", instance);
    for (Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> m : e.members().entrySet()) {
      o.set(m.getKey(), m.getValue());
    }
    return o;
  }
}
