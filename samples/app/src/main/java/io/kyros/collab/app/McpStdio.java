package io.kyros.collab.app;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.Reader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stdio of {@code collab mcp} between the process and the SDK's stdio transport, which ends the
 * session for good on the first line it cannot take (a blank line, a line that is not JSON, a batch,
 * an object that is not a JSON-RPC message, a line over its size limit) and never reads stdin again,
 * so the process would no longer exit when the client closes stdin.
 *
 * <p>Here one thread reads the process's stdin line by line (a line ends at {@code \n}, {@code \r}
 * or {@code \r\n}, as the SDK reads) and hands the SDK ({@link #sdkIn()}) only the lines it takes.
 * A blank line is skipped. A line that is not JSON is answered with a JSON-RPC error -32700 (parse
 * error), one that is JSON but not a JSON-RPC 2.0 message, or longer than {@link #MAX_LINE_CHARS}
 * characters, with -32600 (invalid request); the error's id is the request's when the line is a
 * request with a valid id, else null. The server goes on serving.
 *
 * <p><b>Flow.</b> The lines taken wait in a queue of at most {@code maxQueuedBytes} (a longer line
 * alone), so a client writing faster than the server reads is held back by the pipe, not by this
 * process's memory. The SDK buffers whatever it reads without bound and runs the requests at once, so
 * the SDK's input hands on the next line only while fewer than {@code maxInFlight} of the requests it
 * was given are unanswered (a request is a line with a method and an id; it is answered when the SDK
 * writes a response with that id). A client's response to a request of the server's queues behind the
 * same bound: the tools of {@code collab mcp} send the client no requests.
 *
 * <p><b>End.</b> The SDK's transport stops writing for good once its input ends, so a request
 * answered after that would never be answered. When stdin ends (or fails), the SDK's input therefore
 * ends only once every request it was given has been answered and every line queued passed on, or
 * once {@code endGrace} has passed since stdin ended, whichever is first: what is left then, unanswered
 * or not passed on, is logged and never answered. {@link #awaitEnd()} returns at the same moment.
 *
 * <p>Those errors and the SDK's messages share stdout: the SDK writes through {@link #sdkOut()},
 * which passes on only whole lines, and every line, the SDK's or an error, goes to stdout under one
 * lock, so messages never interleave.
 *
 * <p>Thread-safe.
 */
final class McpStdio {
  /** The longest line taken, in characters (UTF-16 units, as the SDK counts): the SDK's own default limit. */
  static final int MAX_LINE_CHARS = 16 * 1024 * 1024;
  static final int PARSE_ERROR = -32700;
  static final int INVALID_REQUEST = -32600;
  /** How many requests the SDK may have unanswered before it is given the next line (see the class comment). */
  static final int MAX_IN_FLIGHT = 64;
  /** The most bytes of lines waiting for the SDK, a longer line alone. */
  static final int MAX_QUEUED_BYTES = 64 * 1024 * 1024;
  /** How long the requests in flight when stdin ends may take to be answered. */
  static final Duration END_GRACE = Duration.ofSeconds(5);
  private static final Logger LOG = LoggerFactory.getLogger(McpStdio.class);
  private static final int MAX_DETAIL = 200;

  private final McpJsonMapper sdkMapper = new JacksonMcpJsonMapper(new ObjectMapper());
  private final InputStream stdin;
  private final OutputStream stdout;
  private final int maxLineChars;
  private final int maxInFlight;
  private final long maxQueuedBytes;
  private final long endGraceNanos;
  private final InputStream sdkIn = new Feed();
  private final OutputStream sdkOut = new WholeLines();
  private final Object writeLock = new Object();
  /** Guards everything below; waited on by the reader (queue full), the SDK's input and {@link #awaitEnd()}. */
  private final Object flow = new Object();
  private final ArrayDeque<Line> queue = new ArrayDeque<>();
  private long queuedBytes;
  /** Unanswered requests given to the SDK, by id ({@link #idKey}), with how many share the id. */
  private final Map<String, Integer> inFlight = new HashMap<>();
  private int inFlightCount;
  private boolean stdinEnded;
  private long endDeadline;
  /** Whether the SDK was given {@code notifications/initialized}: it holds every other request until then. */
  private boolean initialized;
  /** Whether writing to stdout failed: nothing can be answered any more, so nothing is held back. */
  private boolean broken;

  /**
   * @param stdin the process's stdin
   * @param stdout the process's stdout (for the protocol only)
   * @param maxLineChars the longest line passed to the SDK, at most what the SDK's transport takes
   * @throws IllegalArgumentException if {@code maxLineChars} is not positive
   */
  McpStdio(InputStream stdin, OutputStream stdout, int maxLineChars) {
    this(stdin, stdout, maxLineChars, MAX_IN_FLIGHT, MAX_QUEUED_BYTES, END_GRACE);
  }

  /**
   * @param stdin the process's stdin
   * @param stdout the process's stdout (for the protocol only)
   * @param maxLineChars the longest line passed to the SDK, at most what the SDK's transport takes
   * @param maxInFlight how many requests the SDK may have unanswered before it is given the next line
   * @param maxQueuedBytes the most bytes of lines waiting for the SDK (a longer line waits alone)
   * @param endGrace how long the requests in flight when stdin ends may take to be answered
   * @throws IllegalArgumentException if a bound is not positive, or {@code endGrace} is negative
   */
  McpStdio(InputStream stdin, OutputStream stdout, int maxLineChars, int maxInFlight, long maxQueuedBytes,
      Duration endGrace) {
    if (maxLineChars < 1) {
      throw new IllegalArgumentException("maxLineChars must be positive: " + maxLineChars);
    }
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be positive: " + maxInFlight);
    }
    if (maxQueuedBytes < 1) {
      throw new IllegalArgumentException("maxQueuedBytes must be positive: " + maxQueuedBytes);
    }
    if (endGrace.isNegative()) {
      throw new IllegalArgumentException("endGrace must not be negative: " + endGrace);
    }
    this.stdin = stdin;
    this.stdout = stdout;
    this.maxLineChars = maxLineChars;
    this.maxInFlight = maxInFlight;
    this.maxQueuedBytes = maxQueuedBytes;
    this.endGraceNanos = endGrace.toNanos();
  }

  /** @return what the SDK's transport reads: the lines it takes, each ended by {@code \n} */
  InputStream sdkIn() {
    return sdkIn;
  }

  /** @return what the SDK's transport writes to */
  OutputStream sdkOut() {
    return sdkOut;
  }

  /**
   * Starts reading stdin (on a daemon thread).
   *
   * @return the thread reading stdin
   */
  Thread start() {
    Thread reader = new Thread(this::readStdin, "collab-mcp-stdin");
    reader.setDaemon(true);
    reader.start();
    return reader;
  }

  /**
   * Waits until stdin has ended (the client closed it) or failed; the SDK may still be answering.
   *
   * @throws InterruptedException if interrupted while waiting
   */
  void awaitStdinEnd() throws InterruptedException {
    synchronized (flow) {
      while (!stdinEnded) {
        flow.wait();
      }
    }
  }

  /**
   * Waits until stdin has ended (the client closed it) or failed, and then until the requests given to the SDK
   * are answered and the lines queued passed on, or the end's grace is over (the class comment's "End").
   *
   * @throws InterruptedException if interrupted while waiting
   */
  void awaitEnd() throws InterruptedException {
    awaitStdinEnd();
    synchronized (flow) {
      awaitDrained();
    }
  }

  /** @return the lines waiting to be passed to the SDK */
  int queuedLines() {
    synchronized (flow) {
      return queue.size();
    }
  }

  /** @return the requests given to the SDK and not answered yet */
  int inFlight() {
    synchronized (flow) {
      return inFlightCount;
    }
  }

  /**
   * With {@link #flow} held, after stdin ended: waits until nothing is left to pass on or answer, or the grace is over.
   *
   * @return whether nothing is left
   */
  private boolean awaitDrained() throws InterruptedException {
    while (!broken && (!queue.isEmpty() || inFlightCount > 0)) {
      long left = endDeadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      flow.wait(Math.max(1, left / 1_000_000));
    }
    return true;
  }

  private void readStdin() {
    try (Reader in = new InputStreamReader(stdin, StandardCharsets.UTF_8)) {
      char[] buf = new char[8192];
      StringBuilder line = new StringBuilder();
      boolean tooLong = false;
      boolean afterCr = false;
      for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
        for (int i = 0; i < n; i++) {
          char c = buf[i];
          if (c == '\n' && afterCr) {
            afterCr = false; // the \n of \r\n
            continue;
          }
          afterCr = c == '\r';
          if (c == '\n' || c == '\r') {
            take(line, tooLong);
            line = line.capacity() > 1 << 16 ? new StringBuilder() : line;
            line.setLength(0);
            tooLong = false;
          } else if (!tooLong && line.length() >= maxLineChars) {
            tooLong = true;
            line = new StringBuilder();
          } else if (!tooLong) {
            line.append(c);
          }
        }
      }
      if (tooLong || line.length() > 0) {
        take(line, tooLong);
      }
    } catch (IOException e) {
      LOG.warn("stdin failed, stopping: {}", e.toString());
    } catch (RuntimeException e) {
      LOG.error("reading stdin failed, stopping", e);
    } finally {
      synchronized (flow) {
        stdinEnded = true;
        endDeadline = System.nanoTime() + endGraceNanos;
        flow.notifyAll();
      }
    }
  }

  /** Passes one line to the SDK, skips it if blank, or answers the error it is. */
  private void take(CharSequence line, boolean tooLong) {
    if (tooLong) {
      refuse(null, INVALID_REQUEST, "Invalid Request: the line is longer than " + maxLineChars + " characters");
      return;
    }
    String text = line.toString();
    if (text.isBlank()) {
      return;
    }
    JsonNode node;
    try {
      node = Json.MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      refuse(null, PARSE_ERROR, "Parse error: the line is not JSON: " + clip(String.valueOf(e.getOriginalMessage())));
      return;
    }
    JsonNode id = requestId(node);
    String problem = problem(node);
    if (problem == null) {
      try {
        McpSchema.deserializeJsonRpcMessage(sdkMapper, text); // exactly what the SDK's transport will do with it
      } catch (Exception e) {
        problem = "not a message the server can read: " + clip(String.valueOf(e.getMessage()));
      }
    }
    if (problem != null) {
      refuse(id, INVALID_REQUEST, "Invalid Request: " + problem);
      return;
    }
    byte[] bytes = (text + "\n").getBytes(StandardCharsets.UTF_8);
    String request = id == null ? null : idKey(id); // requestId: only a request's id
    synchronized (flow) {
      if (broken) {
        return; // stdout failed: the line could never be answered
      }
      while (queuedBytes > 0 && queuedBytes + bytes.length > maxQueuedBytes && !broken) {
        try {
          flow.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while the SDK's queue was full", e);
        }
      }
      if (broken) {
        return;
      }
      // with an id it is a request the SDK refuses (-32601), which initializes nothing
      boolean initializes = node.path("method").asText().equals("notifications/initialized") && !node.has("id");
      queue.add(new Line(bytes, request, initializes));
      queuedBytes += bytes.length;
      flow.notifyAll();
    }
  }

  /** A line taken, the key of its id if it is a request, and whether it is {@code notifications/initialized}. */
  private record Line(byte[] bytes, String request, boolean initializes) {}

  /**
   * @param id a valid JSON-RPC id (a string or a number)
   * @return the key a request's id and its response's id share, however the SDK writes the number
   */
  private static String idKey(JsonNode id) {
    return id.isTextual() ? textKey(id.textValue()) : numberKey(id.decimalValue());
  }

  /** The key of a string id: requests' and responses' ids are matched by these two only. */
  private static String textKey(String id) {
    return "s" + id;
  }

  /** The key of a number id, however it is written ({@code 10}, {@code 10.0}, {@code 1e1}). */
  private static String numberKey(BigDecimal id) {
    return "n" + id.stripTrailingZeros().toPlainString();
  }

  /** Called with each whole line the SDK wrote, after it went to stdout: counts a response as answered. */
  private void written(byte[] b, int from, int to) {
    String answered = responseKey(b, from, to);
    if (answered == null) {
      return;
    }
    synchronized (flow) {
      Integer n = inFlight.get(answered);
      if (n == null) {
        return; // a response to a request this class did not count (none is expected)
      }
      if (n == 1) {
        inFlight.remove(answered);
      } else {
        inFlight.put(answered, n - 1);
      }
      inFlightCount--;
      flow.notifyAll();
    }
  }

  /** @return the id key of the JSON-RPC response in these bytes, or null if they are no response */
  private static String responseKey(byte[] b, int from, int to) {
    String key = null;
    boolean outcome = false;
    try (JsonParser p = Json.MAPPER.getFactory().createParser(b, from, to - from)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("method")) {
          return null; // a request or notification of the server's
        } else if (field.equals("id") && value == JsonToken.VALUE_STRING) {
          key = textKey(p.getText());
        } else if (field.equals("id") && value.isNumeric()) {
          key = numberKey(p.getDecimalValue());
        } else if (field.equals("result") || field.equals("error")) {
          outcome = true;
        }
        p.skipChildren();
      }
    } catch (IOException e) {
      LOG.debug("a line the SDK wrote is not JSON: {}", e.toString());
      return null;
    }
    return outcome ? key : null;
  }

  /** @return why this JSON is not a JSON-RPC 2.0 message, or null if it is one */
  private static String problem(JsonNode node) {
    if (!node.isObject()) {
      return node.isArray() ? "a batch (JSON array) is not supported; send one JSON-RPC message per line"
          : "a JSON-RPC message must be a JSON object, not " + node.getNodeType().name().toLowerCase();
    }
    if (!"2.0".equals(node.path("jsonrpc").textValue())) {
      return "\"jsonrpc\" must be \"2.0\"";
    }
    JsonNode id = node.get("id");
    if (id != null && !validId(id)) {
      return "\"id\" must be a string or a number";
    }
    JsonNode method = node.get("method");
    if (method != null) {
      return method.isTextual() ? null : "\"method\" must be a string";
    }
    if (id != null && (node.has("result") || node.has("error"))) {
      return null;
    }
    return "the object has no \"method\" (a request or a notification) and is not a response (\"id\" with "
        + "\"result\" or \"error\")";
  }

  /** @return the id to answer a refused line with: a request's valid id, else null */
  private static JsonNode requestId(JsonNode node) {
    JsonNode id = node.isObject() && node.has("method") ? node.get("id") : null;
    return id != null && validId(id) ? id : null;
  }

  /**
   * A JSON-RPC id is a string or a number, never null: one of another kind is refused and answered with id null. (The
   * SDK takes only string and integer ids: a fractional one is refused by its check in {@link #take}, and answered
   * with that id, so the client can match the error to its request.)
   */
  private static boolean validId(JsonNode id) {
    return id.isTextual() || id.isNumber();
  }


  private void refuse(JsonNode id, int code, String message) {
    LOG.warn("refused a line on stdin ({}): {}", code, message);
    ObjectNode error = Json.object().put("jsonrpc", "2.0");
    if (id == null) {
      error.putNull("id");
    } else {
      error.set("id", id);
    }
    error.putObject("error").put("code", code).put("message", message);
    try {
      writeLine((Json.write(error) + "\n").getBytes(StandardCharsets.UTF_8), 0, -1);
    } catch (IOException e) {
      LOG.warn("cannot write the error to stdout: {}", e.toString());
    }
  }

  /** Writes one whole line (bytes {@code from} up to {@code to}, or {@code b}'s end if -1) to stdout and flushes it. */
  private void writeLine(byte[] b, int from, int to) throws IOException {
    synchronized (writeLock) {
      stdout.write(b, from, (to < 0 ? b.length : to) - from);
      stdout.flush();
    }
  }

  private static String clip(String s) {
    String one = s.replaceAll("\\s+", " ").strip();
    return one.length() > MAX_DETAIL ? one.substring(0, MAX_DETAIL) + "..." : one;
  }

  /**
   * The SDK's input: the lines {@link #take} queued, each once fewer than {@code maxInFlight} requests are
   * unanswered, then the end (see the class comment). Read by the SDK's one reading thread.
   */
  private final class Feed extends InputStream {
    private static final byte[] NONE = new byte[0];
    private byte[] current = NONE;
    private int pos;
    private boolean ended;

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (ended) {
        return -1;
      }
      if (pos == current.length) {
        try {
          current = next();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for stdin");
        }
        pos = 0;
        if (current == null) {
          ended = true;
          current = NONE;
          return -1;
        }
      }
      int n = Math.min(len, current.length - pos);
      System.arraycopy(current, pos, b, off, n);
      pos += n;
      return n;
    }

    /** @return the next line to pass on, or null at the end */
    private byte[] next() throws InterruptedException {
      synchronized (flow) {
        while (true) {
          boolean over = broken || stdinEnded && System.nanoTime() - endDeadline >= 0;
          // until initialized the SDK answers nothing but initialize, so a bound then could hold back initialized
          if (!queue.isEmpty() && (inFlightCount < maxInFlight || !initialized) && !over) {
            Line line = queue.remove();
            queuedBytes -= line.bytes().length;
            if (line.request() != null) {
              inFlight.merge(line.request(), 1, Integer::sum);
              inFlightCount++;
            }
            initialized |= line.initializes();
            flow.notifyAll();
            return line.bytes();
          }
          if (broken || stdinEnded && (over || queue.isEmpty())) {
            if (!awaitDrained()) {
              LOG.warn("stdin ended; after {} ms, {} request(s) are still unanswered and {} line(s) not passed on: "
                  + "they will not be answered", endGraceNanos / 1_000_000, inFlightCount, queue.size());
            }
            return null;
          }
          if (stdinEnded && !broken) {
            flow.wait(Math.max(1, (endDeadline - System.nanoTime()) / 1_000_000));
          } else {
            flow.wait();
          }
        }
      }
    }

    @Override
    public int available() {
      return current.length - pos;
    }
  }

  /**
   * The SDK's output: bytes are held until a line is whole, then the line goes to stdout at once
   * ({@link #writeLine}), so an error written meanwhile never lands inside one of the SDK's messages.
   */
  private final class WholeLines extends OutputStream {
    private ByteArrayOutputStream pending = new ByteArrayOutputStream();

    @Override
    public synchronized void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      int start = off;
      for (int i = off; i < off + len; i++) {
        if (b[i] == '\n') {
          if (pending.size() == 0) {
            writeOrBreak(b, start, i + 1);
          } else {
            pending.write(b, start, i + 1 - start);
            byte[] whole = pending.toByteArray();
            pending = whole.length > 1 << 20 ? new ByteArrayOutputStream() : pending; // let a large buffer go
            pending.reset();
            writeOrBreak(whole, 0, whole.length);
          }
          start = i + 1;
        }
      }
      pending.write(b, start, off + len - start);
    }

    /** Writes one of the SDK's lines and counts its answer; if stdout fails, nothing is held back any more. */
    private void writeOrBreak(byte[] b, int from, int to) throws IOException {
      try {
        writeLine(b, from, to);
      } catch (IOException | RuntimeException e) {
        synchronized (flow) {
          if (!broken) {
            LOG.warn("writing to stdout failed; no request can be answered any more: {}", e.toString());
          }
          broken = true;
          queue.clear();
          queuedBytes = 0;
          flow.notifyAll();
        }
        throw e;
      }
      written(b, from, to);
    }

    @Override
    public void flush() {
      // a line goes out, flushed, as soon as it is whole; a part of one waits for its end
    }

    @Override
    public void close() throws IOException {
      synchronized (writeLock) {
        stdout.close();
      }
    }
  }
}
