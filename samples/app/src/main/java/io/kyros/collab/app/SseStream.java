package io.kyros.collab.app;

import io.kyros.collab.Event;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Predicate;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code text/event-stream} response (the HTML Living Standard's server-sent events):
 *
 * <pre>
 * retry: 2000                                  (once, first: the reconnection delay)
 *
 * id: 42                                       (the event id: a reconnect sends it as Last-Event-ID)
 * data: {"id":42,"ts":"…","event":"task_created","actor":"…","target":"tasks/t-1","details":{…}}
 *
 * : keep-alive                                 (a comment, every keep-alive interval while idle)
 * </pre>
 *
 * There is no {@code event:} line, so browsers' {@code EventSource.onmessage} gets every event; the
 * type is the JSON's {@code event} member. Writes are Jetty's asynchronous writes: the stream holds
 * no thread between them. A failed write (the client went away) ends the stream.
 *
 * <p>Thread-safe through {@link EventClient}'s protocol: one write in flight at a time.
 */
final class SseStream extends EventClient {
  private static final Logger LOG = LoggerFactory.getLogger(SseStream.class);

  private final Response response;
  private final Callback callback;

  SseStream(EventHub hub, Predicate<Event> filter, long after, Response response, Callback callback) {
    super(hub, filter, after);
    this.response = response;
    this.callback = callback;
  }

  /** Sends the headers and the retry hint, then registers with the hub. */
  void open() {
    response.setStatus(200);
    headers(response);
    String hello = "retry: " + hub.config().retry().toMillis() + "\n\n";
    response.write(false, ByteBuffer.wrap(hello.getBytes(StandardCharsets.UTF_8)), Callback.from(
        () -> hub.register(this), this::failed));
  }

  /**
   * Answers a HEAD of a stream's route: the stream's status and headers, without opening a stream.
   *
   * @param x the HEAD request, already checked as its GET would be
   */
  static void head(Exchange x) {
    x.detach();
    Response response = x.response();
    response.setStatus(200);
    headers(response);
    // the headers go out before the end, so Jetty does not add a Content-Length: 0 a stream's GET never has
    response.write(false, null, Callback.from(() -> response.write(true, null, x.callback()), x.callback()::failed));
  }

  private static void headers(Response response) {
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    response.getHeaders().put("X-Accel-Buffering", "no");
  }

  @Override
  void deliver(List<Event> events) {
    StringBuilder sb = new StringBuilder(events.size() * 256);
    for (Event e : events) {
      sb.append("id: ").append(e.id()).append('\n');
      sb.append("data: ").append(Json.write(Json.event(e))).append("\n\n");
    }
    write(sb.toString());
  }

  @Override
  void ping() {
    write(": keep-alive\n\n");
  }

  private void write(String text) {
    response.write(false, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)),
        Callback.from(this::written, this::failed));
  }

  @Override
  void failed(Throwable error) {
    if (markClosed()) {
      LOG.debug("SSE stream ended: {}", error.toString());
      callback.failed(error);
    }
  }

  @Override
  void close() {
    if (markClosed()) {
      response.write(true, null, callback);
    }
  }
}
