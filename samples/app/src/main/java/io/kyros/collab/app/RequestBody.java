package io.kyros.collab.app;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

/**
 * Reads a request's whole body before its route runs, holding no thread while the body is on its
 * way: when no bytes are there yet it asks Jetty for a callback ({@link Request#demand}) and
 * returns, so uploads that stall mid-body cannot take the server's bounded pool. A body longer than
 * the limit (declared by Content-Length or found while reading a chunked one) is 413, answered once the
 * body has been read and dropped when it is at most {@link #DRAINED_AT_MOST} bytes over (so that the
 * connection's close cannot reset the answer away), at once otherwise; a body that
 * stops arriving until the connection's idle timeout is 408; another read failure 400.
 *
 * <p>Not thread-safe: one reader per request, called back by Jetty one demand at a time.
 */
final class RequestBody implements Runnable {
  private final Request request;
  private final long max;
  private final Consumer<byte[]> done;
  private final Consumer<ApiException> failed;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  /** The most bytes beyond the limit a refused body is read for (and dropped) before its 413. */
  static final long DRAINED_AT_MOST = 1 << 20;
  /** Whether the body is refused (larger than the limit); its bytes are then read and dropped. */
  private boolean tooLarge;
  /** The body's bytes read so far, kept or dropped. */
  private long read;

  private RequestBody(Request request, long max, Consumer<byte[]> done, Consumer<ApiException> failed) {
    this.request = request;
    this.max = max;
    this.done = done;
    this.failed = failed;
  }

  /**
   * Starts reading; exactly one of the two callbacks runs, on this thread or on a pool thread once
   * the rest of the body has arrived.
   *
   * @param request the request
   * @param max the most bytes accepted
   * @param done receives the body (empty if there is none)
   * @param failed receives the refusal (413, 408 or 400)
   */
  static void read(Request request, long max, Consumer<byte[]> done, Consumer<ApiException> failed) {
    RequestBody body = new RequestBody(request, max, done, failed);
    if (request.getLength() > max) {
      if (request.getLength() - max > DRAINED_AT_MOST || expectsContinue(request)) {
        // too much to read for nothing (the connection is closed after the 413), or a client waiting to be asked for
        // the body (RFC 9110, section 10.1.1): refused before it is sent
        failed.accept(tooLarge(max));
        return;
      }
      body.tooLarge = true;
    }
    body.run();
  }

  @Override
  public void run() {
    while (true) {
      Content.Chunk chunk = request.read();
      if (chunk == null) {
        request.demand(this); // runs this again, on a pool thread, when more has arrived
        return;
      }
      if (Content.Chunk.isFailure(chunk)) {
        Throwable cause = chunk.getFailure();
        failed.accept(tooLarge ? tooLarge(max) : cause instanceof TimeoutException
            ? new ApiException(408, "Request Timeout", "the request body stopped arriving: " + cause.getMessage())
            : ApiException.badRequest("cannot read the request body: " + cause));
        return;
      }
      ByteBuffer buf = chunk.getByteBuffer();
      int n = buf.remaining();
      read += n;
      if (tooLarge || read > max) {
        // refused: read the rest and drop it, so that the 413 reaches the client (answered with the body's bytes
        // still unread, the connection's close could reset it before the client read the answer)
        tooLarge = true;
        out.reset();
        boolean last = chunk.isLast();
        chunk.release();
        if (last || read - max > DRAINED_AT_MOST) {
          failed.accept(tooLarge(max));
          return;
        }
        continue;
      }
      byte[] bytes = new byte[n];
      buf.get(bytes);
      out.write(bytes, 0, n);
      boolean last = chunk.isLast();
      chunk.release();
      if (last) {
        done.accept(out.toByteArray());
        return;
      }
    }
  }

  private static boolean expectsContinue(Request request) {
    String expect = request.getHeaders().get(org.eclipse.jetty.http.HttpHeader.EXPECT);
    return expect != null && expect.toLowerCase(java.util.Locale.ROOT).contains("100-continue");
  }

  private static ApiException tooLarge(long max) {
    return new ApiException(413, "Content Too Large", "the request body is larger than " + max + " bytes");
  }
}
