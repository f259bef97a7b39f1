package io.kyros.collab.app;

import com.fasterxml.jackson.core.JsonProcessingException;
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
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
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
 * request with a valid id, else null. The server goes on serving. When stdin ends (or fails) the
 * SDK's input ends too and {@link #awaitEnd()} returns.
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
  private static final Logger LOG = LoggerFactory.getLogger(McpStdio.class);
  private static final byte[] END = new byte[0];
  private static final int MAX_DETAIL = 200;

  private final McpJsonMapper sdkMapper = new JacksonMcpJsonMapper(new ObjectMapper());
  private final InputStream stdin;
  private final OutputStream stdout;
  private final int maxLineChars;
  private final Object writeLock = new Object();
  private final BlockingQueue<byte[]> toSdk = new LinkedBlockingQueue<>();
  private final CountDownLatch ended = new CountDownLatch(1);
  private final InputStream sdkIn = new Feed();
  private final OutputStream sdkOut = new WholeLines();

  /**
   * @param stdin the process's stdin
   * @param stdout the process's stdout (for the protocol only)
   * @param maxLineChars the longest line passed to the SDK, at most what the SDK's transport takes
   */
  McpStdio(InputStream stdin, OutputStream stdout, int maxLineChars) {
    if (maxLineChars < 1) {
      throw new IllegalArgumentException("maxLineChars must be positive: " + maxLineChars);
    }
    this.stdin = stdin;
    this.stdout = stdout;
    this.maxLineChars = maxLineChars;
  }

  /** @return what the SDK's transport reads: the lines it takes, each ended by {@code \n} */
  InputStream sdkIn() {
    return sdkIn;
  }

  /** @return what the SDK's transport writes to */
  OutputStream sdkOut() {
    return sdkOut;
  }

  /** Starts reading stdin (on a daemon thread). */
  void start() {
    Thread reader = new Thread(this::readStdin, "collab-mcp-stdin");
    reader.setDaemon(true);
    reader.start();
  }

  /** Waits until stdin has ended (the client closed it) or failed. */
  void awaitEnd() throws InterruptedException {
    ended.await();
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
      toSdk.add(END);
      ended.countDown();
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
    toSdk.add((text + "\n").getBytes(StandardCharsets.UTF_8));
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

  /** The SDK's input: the lines {@link #take} passed on, then the end. Read by the SDK's one reading thread. */
  private final class Feed extends InputStream {
    private byte[] current = new byte[0];
    private int pos;

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
      if (current == END) {
        return -1;
      }
      if (pos == current.length) {
        try {
          current = toSdk.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for stdin");
        }
        pos = 0;
        if (current == END) {
          return -1;
        }
      }
      int n = Math.min(len, current.length - pos);
      System.arraycopy(current, pos, b, off, n);
      pos += n;
      return n;
    }

    @Override
    public int available() {
      return current == END ? 0 : current.length - pos;
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
            writeLine(b, start, i + 1);
          } else {
            pending.write(b, start, i + 1 - start);
            byte[] whole = pending.toByteArray();
            pending = whole.length > 1 << 20 ? new ByteArrayOutputStream() : pending; // let a large buffer go
            pending.reset();
            writeLine(whole, 0, -1);
          }
          start = i + 1;
        }
      }
      pending.write(b, start, off + len - start);
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
