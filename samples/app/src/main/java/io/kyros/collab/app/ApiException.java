package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.CollabException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A request the HTTP API refuses with a given status, answered as an RFC 9457 problem
 * ({@link Problems}): the status, a short title, a detail naming the broken condition, and extra
 * members (the current state on a 412, the current holder on a 409) and headers (Retry-After).
 *
 * <p>Immutable after construction (the {@code with} methods are used only while building it) and
 * thread-safe once thrown.
 */
final class ApiException extends CollabException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String title;
  private final transient Map<String, JsonNode> members = new LinkedHashMap<>();
  private final transient Map<String, String> headers = new LinkedHashMap<>();

  ApiException(int status, String title, String detail) {
    super(detail);
    this.status = status;
    this.title = Objects.requireNonNull(title, "title");
  }

  static ApiException badRequest(String detail) {
    return new ApiException(400, "Bad Request", detail);
  }

  static ApiException notFound(String detail) {
    return new ApiException(404, "Not Found", detail);
  }

  static ApiException conflict(String detail) {
    return new ApiException(409, "Conflict", detail);
  }

  ApiException with(String member, JsonNode value) {
    members.put(member, value);
    return this;
  }

  ApiException header(String name, String value) {
    headers.put(name, value);
    return this;
  }

  int status() {
    return status;
  }

  String title() {
    return title;
  }

  Map<String, JsonNode> members() {
    return members;
  }

  Map<String, String> headers() {
    return headers;
  }
}
