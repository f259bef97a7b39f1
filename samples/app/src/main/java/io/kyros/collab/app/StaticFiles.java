package io.kyros.collab.app;

import io.kyros.collab.ETag;
import io.kyros.collab.ETagList;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The web console's files, served from the jar's {@code console/} resources ({@code
 * src/main/resources/console/}): {@code /} is {@code console/index.html}, {@code /x/y.js} is
 * {@code console/x/y.js}. Each file is read once and kept, with a strong ETag of its content, so
 * {@code If-None-Match} answers 304. Paths with {@code ..}, backslashes or empty segments are not
 * served.
 *
 * <p>Thread-safe: the cache is a concurrent map of immutable entries, holding only files that exist.
 */
final class StaticFiles {
  private static final Map<String, String> TYPES = Map.of(
      "html", "text/html; charset=utf-8",
      "js", "text/javascript; charset=utf-8",
      "mjs", "text/javascript; charset=utf-8",
      "css", "text/css; charset=utf-8",
      "json", "application/json",
      "svg", "image/svg+xml",
      "png", "image/png",
      "ico", "image/x-icon",
      "txt", "text/plain; charset=utf-8");

  private record Entry(byte[] bytes, String type, String etag) {}

  private final String root;
  private final ConcurrentHashMap<String, Entry> cache = new ConcurrentHashMap<>();

  StaticFiles(String root) {
    this.root = root;
  }

  /**
   * Answers a GET or HEAD for a console file.
   *
   * @return true if it was answered, false if there is no such file
   */
  boolean serve(Request request, Response response, Callback callback) {
    String path = request.getHttpURI().getPath();
    String name = path.equals("/") ? "index.html" : path.substring(1);
    if (name.contains("..") || name.contains("\\") || name.contains("//") || name.endsWith("/")) {
      return false;
    }
    Entry e = cache.get(name);
    if (e == null) {
      // only files are kept: remembering misses would let made-up paths grow the map without bound
      Optional<Entry> loaded = load(name);
      if (loaded.isEmpty()) {
        return false;
      }
      e = cache.computeIfAbsent(name, n -> loaded.get());
    }
    response.getHeaders().put(HttpHeader.ETAG, e.etag);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    if (noneMatch(request.getHeaders().getValuesList(HttpHeader.IF_NONE_MATCH.asString()), e.etag)) {
      response.setStatus(304);
      response.write(true, null, callback);
      return true;
    }
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, e.type);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, e.bytes.length);
    response.write(true, "HEAD".equals(request.getMethod()) ? null : ByteBuffer.wrap(e.bytes), callback);
    return true;
  }

  /** @return whether a resource is a directory: in a jar, a directory entry; on disk, a directory */
  private static boolean isDirectory(java.net.URL url) {
    try {
      if ("file".equals(url.getProtocol())) {
        return java.nio.file.Files.isDirectory(java.nio.file.Path.of(url.toURI()));
      }
      if (url.openConnection() instanceof java.net.JarURLConnection jar) {
        // cached (the default): the JVM keeps one JarFile per jar open for its connections; uncached, each call would
        // open one that only the garbage collector closes
        return jar.getJarEntry() == null || jar.getJarEntry().isDirectory();
      }
      return false;
    } catch (IOException | java.net.URISyntaxException | IllegalArgumentException e) {
      throw new IllegalStateException("cannot tell whether console resource " + url + " is a file", e);
    }
  }

  /** @return how many files are kept in memory (at most the console's files) */
  int cached() {
    return cache.size();
  }

  private Optional<Entry> load(String name) {
    java.net.URL url = StaticFiles.class.getClassLoader().getResource(root + "/" + name);
    if (url == null || isDirectory(url)) {
      return Optional.empty(); // a directory of the console's files is no file (its stream would be a listing)
    }
    try (InputStream in = url.openStream()) {
      byte[] bytes = in.readAllBytes();
      int dot = name.lastIndexOf('.');
      String type = TYPES.getOrDefault(dot < 0 ? "" : name.substring(dot + 1), "application/octet-stream");
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
      String etag = "\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(digest).substring(0, 22) + "\"";
      return Optional.of(new Entry(bytes, type, etag));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read console file " + name, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * If-None-Match's verdict (RFC 9110, section 13.1.2), each line read as the API reads the header
   * ({@link ETagList#parse}): whether a line is {@code *} or lists the file's entity tag, compared weakly. A malformed
   * line matches nothing (the file is sent).
   *
   * @param lines the header's lines, empty if absent
   * @param etag the file's entity tag, quoted
   * @return true if the answer is 304
   */
  static boolean noneMatch(List<String> lines, String etag) {
    ETag current = ETag.parse(etag);
    for (String line : lines) {
      ETagList list;
      try {
        list = ETagList.parse(line, "If-None-Match");
      } catch (IllegalArgumentException malformed) {
        continue;
      }
      if (list.isAny() || list.matchesWeak(current)) {
        return true;
      }
    }
    return false;
  }
}
