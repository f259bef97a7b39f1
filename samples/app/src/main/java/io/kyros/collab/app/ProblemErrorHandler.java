package io.kyros.collab.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's error handler ({@link org.eclipse.jetty.server.Server#setErrorHandler}): the answers Jetty writes
 * itself, never reaching {@link ApiHandler}, are problem+json like the API's. Jetty calls it through {@link
 * Response#writeError} for requests it refuses before or instead of the handler (an ambiguous or otherwise bad URI
 * path, 400; a request line over the header buffer, 414; header fields over it, 431; a malformed request, 400) and
 * for a failure that escaped a handler before the response was committed (500). Jetty's own {@link ErrorHandler}
 * writes HTML, and nothing at all for methods other than GET, POST and HEAD.
 *
 * <p>The detail names the refused condition in Jetty's words (a fixed reason such as "Ambiguous URI path separator"),
 * cut to {@value #DETAIL_MAX} characters and escaped as JSON; the request's path, as sent (percent-encoded), is the
 * {@code instance} only when it was parsed, is short and holds only the characters of a path. With {@code
 * X-Content-Type-Options: nosniff}, no browser takes the answer for markup. A 500's cause is logged, not shown.
 *
 * <p>Stateless and thread-safe.
 */
final class ProblemErrorHandler implements Request.Handler {
  private static final Logger LOG = LoggerFactory.getLogger(ProblemErrorHandler.class);
  static final int DETAIL_MAX = 200;
  private static final int INSTANCE_MAX = 200;
  /** The targets Jetty gives a request it could not parse far enough to have one (HttpConnection.badMessage). */
  private static final Set<String> JETTY_PLACEHOLDERS = Set.of("/badMessage", "/badURI");
  private static final Pattern PATH = Pattern.compile("[A-Za-z0-9\\-._~!$&'()*+,;=:@/%]*");

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    int status = response.getStatus();
    String message = request.getAttribute(ErrorHandler.ERROR_MESSAGE) instanceof String m ? m : null;
    Throwable cause = request.getAttribute(ErrorHandler.ERROR_EXCEPTION) instanceof Throwable t ? t : null;
    if (cause instanceof HttpException http) {
      status = http.getCode();
      if (message == null) {
        message = http.getReason();
      }
    }
    if (status < 400 || status > 599) {
      status = 500;
    }
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.getHeaders().put("X-Content-Type-Options", "nosniff");
    if (HttpStatus.hasNoBody(status)) {
      callback.succeeded();
      return true;
    }
    String title = HttpStatus.getMessage(status);
    String detail = detail(status, message, request);
    if (status >= 500) {
      LOG.warn("{} answered {} by the server itself: {}", request.getMethod(), status, message, cause);
    }
    ObjectNode body = Problems.body(new ApiException(status, title, detail), "");
    String instance = instance(request);
    if (instance == null) {
      body.remove("instance");
    } else {
      body.put("instance", instance);
    }
    byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problems.MEDIA_TYPE + "; charset=utf-8");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    response.write(true, "HEAD".equals(request.getMethod()) ? null : ByteBuffer.wrap(bytes), callback);
    return true;
  }

  private static String detail(int status, String message, Request request) {
    String reason = message == null || message.isBlank() || message.equals(HttpStatus.getMessage(status))
        ? null : Problems.clip(message, DETAIL_MAX);
    int limit = request.getConnectionMetaData().getHttpConfiguration().getRequestHeaderSize();
    return switch (status) {
      case 414 -> "the request line (method, path and query) is longer than the server accepts (" + limit
          + " bytes)" + (reason == null ? "" : ": " + reason);
      case 431 -> "the request's header fields are larger than the server accepts (" + limit + " bytes)"
          + (reason == null ? "" : ": " + reason);
      case 400 -> "the server cannot read this request: " + (reason == null ? "malformed request" : reason);
      case 500 -> "unexpected failure; see the server's log";
      default -> reason == null ? HttpStatus.getMessage(status) : reason;
    };
  }

  /**
   * @return the request's path as sent (percent-encoded) when it was parsed (not a placeholder Jetty made up for a
   *     request line it could not read), is short and holds only the characters a path may hold, else null
   */
  private static String instance(Request request) {
    try {
      String path = request.getHttpURI() == null ? null : request.getHttpURI().getPath();
      return path == null || path.isEmpty() || path.length() > INSTANCE_MAX || !PATH.matcher(path).matches()
          || JETTY_PLACEHOLDERS.contains(path) ? null : path;
    } catch (RuntimeException e) {
      return null;
    }
  }
}
