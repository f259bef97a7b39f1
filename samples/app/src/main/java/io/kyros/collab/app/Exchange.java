package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.ETag;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * One HTTP request being answered: its path parameters, query, headers and body (read before the
 * route runs by {@link RequestBody}, at most {@link ServerConfig#maxBodyBytes()} bytes, else 413), and the ways to answer it. A route
 * either answers before it returns ({@link #json}, {@link #text}, {@link #notModified}...) or
 * {@linkplain #detach() detaches} and completes the response later itself (SSE, long polls). A HEAD
 * request is answered the same way without the body ({@link #head()}).
 *
 * <p>Not thread-safe: one thread handles a request until it answers or detaches; after detaching,
 * the route's own code owns {@link #response()} and {@link #callback()}.
 */
final class Exchange {
  private final Request request;
  private final Response response;
  private final Callback callback;
  private final Map<String, String> params;
  private final ServerConfig config;
  private final ApiKeys.Key key;
  private Fields query;
  private boolean answered;
  private byte[] body;

  Exchange(Request request, Response response, Callback callback, Map<String, String> params, ServerConfig config,
      ApiKeys.Key key) {
    this.request = request;
    this.response = response;
    this.callback = callback;
    this.params = params;
    this.config = config;
    this.key = key;
  }

  Request request() {
    return request;
  }

  Response response() {
    return response;
  }

  Callback callback() {
    return callback;
  }

  ServerConfig config() {
    return config;
  }

  /** @return the API key the request presented, or null when the server has none */
  ApiKeys.Key key() {
    return key;
  }

  String path() {
    return request.getHttpURI().getPath();
  }

  /**
   * @return whether this is a HEAD request, answered by its GET route with the same status and headers (ETag,
   *     Content-Type, Content-Length) and no body; routes that would stream (SSE) or wait (long polls) answer at once
   */
  boolean head() {
    return "HEAD".equals(request.getMethod());
  }

  /**
   * @param name a path parameter of the route's template
   * @return its decoded value
   */
  String param(String name) {
    return Objects.requireNonNull(params.get(name), () -> "no path parameter " + name);
  }

  /**
   * @param name a query parameter that takes one value
   * @return its value, or null
   * @throws ApiException 400 if the request gives it more than once ({@code ?limit=1&limit=5000} would otherwise
   *     mean whichever the server happened to read)
   */
  String query(String name) {
    java.util.List<String> values = queryValues(name);
    if (values.size() > 1) {
      throw ApiException.badRequest("query parameter " + name + " given " + values.size() + " times; give it once");
    }
    return values.isEmpty() ? null : values.get(0);
  }

  private java.util.List<String> queryValues(String name) {
    if (query == null) {
      query = queryOf(request);
    }
    java.util.List<String> values = query.getValues(name);
    return values == null ? java.util.List.of() : values;
  }

  /**
   * @param request a request
   * @return its query parameters, decoded as UTF-8
   * @throws ApiException 400 if the query is not well encoded (a malformed escape, bytes that are not UTF-8)
   */
  static Fields queryOf(Request request) {
    try {
      return Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    } catch (RuntimeException e) {
      if (e instanceof org.eclipse.jetty.http.HttpException bad && bad.getCode() == 400) {
        throw ApiException.badRequest("the query is not well encoded (percent-escaped UTF-8): "
            + (bad.getReason() == null ? e.getMessage() : bad.getReason()));
      }
      throw e;
    }
  }

  /**
   * @param name a query parameter that may repeat or hold a comma-separated list
   * @return its values, empty if absent (or given empty, as the task routes' lists)
   * @throws ApiException 400 if a list names an empty name ({@code type=a,}, {@code type=,,}): dropping it would turn
   *     a filter into none
   */
  java.util.List<String> queryList(String name) {
    java.util.List<String> out = new java.util.ArrayList<>();
    java.util.List<String> values = queryValues(name);
    for (String v : values) {
      if (v.isEmpty()) {
        continue;
      }
      for (String part : v.split(",", -1)) {
        if (part.isBlank()) {
          throw ApiException.badRequest("query parameter " + name + " holds an empty name in its list: '"
              + Problems.clip(v, 200) + "'");
        }
        out.add(part.strip());
      }
    }
    return out;
  }

  /**
   * @param name a query parameter
   * @param min the smallest value accepted
   * @param max the largest value accepted
   * @param dflt its value when absent
   * @return the parameter as a long
   * @throws ApiException 400 if it is not a whole number in range, is empty ({@code ?after=}, as a client's unset
   *     variable sends it: neither the default nor 0 is what that client meant) or is given twice
   */
  long queryLong(String name, long min, long max, long dflt) {
    String v = query(name);
    if (v == null) {
      return dflt;
    }
    if (v.isEmpty()) {
      throw ApiException.badRequest(name + " must be a whole number, not empty (leave " + name + " out for its default)");
    }
    long n;
    try {
      n = Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw ApiException.badRequest(name + " must be a whole number: " + v);
    }
    if (n < min || n > max) {
      throw ApiException.badRequest(name + " must be in " + min + ".." + max + ": " + v);
    }
    return n;
  }

  /**
   * @param name a request header
   * @return its value, or null; a header sent on several lines is their values joined by {@code ", "}, which for the
   *     list headers ({@code If-Match}, {@code If-None-Match}) is the list they make together (RFC 9110, section 5.3)
   *     and for {@code Last-Event-ID} a value its parser refuses, instead of the first line read alone (the routes
   *     read these here; the security checks and static files read theirs from the request)
   */
  String header(String name) {
    java.util.List<String> lines = request.getHeaders().getValuesList(name);
    return lines.isEmpty() ? null : lines.size() == 1 ? lines.get(0) : String.join(", ", lines);
  }

  /** Hands the exchange the body {@link RequestBody} read before the route runs. */
  void body(byte[] bytes) {
    this.body = bytes;
  }

  /**
   * @return the body as UTF-8 text, empty if none (GET and HEAD requests' bodies are not read)
   * @throws ApiException 400 if the bytes are not UTF-8 (they are never replaced silently)
   */
  String body() {
    if (body == null) {
      return "";
    }
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body)).toString();
    } catch (CharacterCodingException e) {
      throw ApiException.badRequest("the request body is not valid UTF-8: " + e);
    }
  }

  /** @return the body parsed as a JSON object (400 if it is not one) */
  ObjectNode jsonBody() {
    return Json.parseObject(body());
  }

  /** @return the body as a JSON object, or an empty one if there is no body */
  ObjectNode optionalJsonBody() {
    String b = body();
    return b.isBlank() ? Json.object() : Json.parseObject(b);
  }

  void json(int status, JsonNode body) {
    json(status, body, null);
  }

  void json(int status, JsonNode body, ETag etag) {
    if (etag != null) {
      response.getHeaders().put(HttpHeader.ETAG, etag.headerValue());
    }
    send(status, "application/json", Json.write(body));
  }

  void text(int status, String contentType, String body) {
    send(status, contentType, body);
  }

  void problem(ApiException e) {
    for (Map.Entry<String, String> h : e.headers().entrySet()) {
      response.getHeaders().put(h.getKey(), h.getValue());
    }
    send(e.status(), Problems.MEDIA_TYPE, Json.write(Problems.body(e, path())));
  }

  void notModified(ETag etag) {
    response.getHeaders().put(HttpHeader.ETAG, etag.headerValue());
    answered = true;
    response.setStatus(304);
    response.write(true, null, callback);
  }

  /** Answers with a status and no body (204, or 304 without an ETag). */
  void empty(int status) {
    if (answered) {
      throw new IllegalStateException("the request was already answered: " + path());
    }
    answered = true;
    response.setStatus(status);
    response.write(true, null, callback);
  }

  void header(HttpField field) {
    response.getHeaders().put(field);
  }

  private void send(int status, String contentType, String body) {
    if (answered) {
      throw new IllegalStateException("the request was already answered: " + path());
    }
    answered = true;
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType + "; charset=utf-8");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    response.write(true, head() ? null : ByteBuffer.wrap(bytes), callback);
  }

  /** Tells the dispatcher the route completes the response later, itself. */
  void detach() {
    answered = true;
  }

  boolean answered() {
    return answered;
  }
}
