package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 exchange over a plain socket, for requests {@code java.net.http} will not send: a made-up
 * {@code Host}, a request line or header field over the server's limits, a path Jetty refuses. The request is sent
 * with {@code Connection: close}, and the answer read to the end of the stream.
 */
final class RawHttp {
  private RawHttp() {}

  /**
   * An answer.
   *
   * @param status its status code
   * @param headers its header fields, names in lower case (the last of a repeated one)
   * @param body its body as UTF-8
   */
  record Answer(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    /** Checks a problem+json answer and returns its body. */
    JsonNode problem(int expected, String detailContains) {
      assertThat(status).as(body).isEqualTo(expected);
      assertThat(header("Content-Type")).as(body).startsWith("application/problem+json");
      JsonNode p;
      try {
        p = Json.MAPPER.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
      assertThat(p.path("status").asInt()).isEqualTo(expected);
      assertThat(p.path("type").asText()).isEqualTo("about:blank");
      assertThat(p.path("title").asText()).isNotBlank();
      assertThat(p.path("detail").asText()).contains(detailContains);
      return p;
    }
  }

  /**
   * @param server the server's address
   * @param requestLine for example {@code GET /healthz HTTP/1.1}
   * @param body the body (Content-Length is added), or null
   * @param headers header lines ({@code Name: value}); give {@code Host} here, else {@code Host: localhost} is sent
   */
  static Answer send(URI server, String requestLine, String body, String... headers) {
    StringBuilder head = new StringBuilder(requestLine).append("\r\n");
    boolean host = false;
    for (String h : headers) {
      head.append(h).append("\r\n");
      host |= h.regionMatches(true, 0, "Host:", 0, 5);
    }
    if (!host) {
      head.append("Host: localhost\r\n");
    }
    byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    if (body != null) {
      head.append("Content-Length: ").append(content.length).append("\r\n");
    }
    head.append("Connection: close\r\n\r\n");
    try (Socket socket = new Socket(server.getHost(), server.getPort())) {
      socket.setSoTimeout(60_000);
      OutputStream out = socket.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.UTF_8));
      out.write(content);
      out.flush();
      return parse(socket.getInputStream(), requestLine.startsWith("HEAD "));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Answer parse(InputStream in, boolean head) throws IOException {
    String status = line(in);
    if (status == null || !status.startsWith("HTTP/1.1 ")) {
      throw new IOException("no HTTP/1.1 status line: " + status);
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (String l = line(in); l != null && !l.isEmpty(); l = line(in)) {
      int colon = l.indexOf(':');
      headers.put(l.substring(0, colon).strip().toLowerCase(Locale.ROOT), l.substring(colon + 1).strip());
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    String length = headers.get("content-length");
    if (!head && length != null) {
      body.write(in.readNBytes(Integer.parseInt(length)));
    } else if (!head) {
      body.write(in.readAllBytes());
    }
    return new Answer(Integer.parseInt(status.substring(9, 12)), headers, body.toString(StandardCharsets.UTF_8));
  }

  /**
   * Reads a status line and the header lines after it from a raw connection.
   *
   * @param in the connection's input
   * @param headers receives the headers, names in lower case
   * @return the status code, or -1 if the connection was closed first
   */
  static int readHead(InputStream in, java.util.Map<String, String> headers) throws IOException {
    String status = line(in);
    if (status == null) {
      return -1;
    }
    for (String l = line(in); l != null && !l.isEmpty(); l = line(in)) {
      int colon = l.indexOf(':');
      headers.put(l.substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT), l.substring(colon + 1).strip());
    }
    return Integer.parseInt(status.substring(9, 12));
  }

  /** @return a line read from a raw connection, without its CR LF; null at the end of the stream */
  static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1 && c != '\n') {
      if (c != '\r') {
        line.write(c);
      }
    }
    return c == -1 && line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
  }
}
