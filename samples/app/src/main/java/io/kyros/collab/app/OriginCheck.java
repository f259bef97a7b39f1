package io.kyros.collab.app;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Set;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Request;

/**
 * CSRF protection: a page of another site can make a browser send a "simple" cross-origin request (a form post, a
 * {@code fetch} with a {@code text/plain} body) without a CORS preflight, and CORS only decides whether the page may
 * read the answer, not whether the write happens. So a request with an unsafe method (anything but GET, HEAD and
 * OPTIONS) is refused 403 when
 *
 * <ul>
 *   <li>it carries {@code Origin} and that is neither this server's own origin (its host and port are the request's
 *       {@code Host}) nor the configured {@code --cors-origin}; {@code Origin: null} (sandboxed pages, some
 *       redirects) is foreign; or</li>
 *   <li>the browser marks it {@code Sec-Fetch-Site: cross-site} and its {@code Origin} is not the configured
 *       {@code --cors-origin}.</li>
 * </ul>
 *
 * Clients that are not browsers (curl, scripts, the CLI) send neither header and are not affected; the console is
 * served by this server, so its writes come from its own origin.
 *
 * <p>Immutable and thread-safe.
 */
final class OriginCheck {
  private static final Set<String> SAFE = Set.of("GET", "HEAD", "OPTIONS");
  private static final int SHOWN = 100;

  private final String corsOrigin;

  OriginCheck(ServerConfig config) {
    this.corsOrigin = config.corsOrigin();
  }

  /**
   * @param request a request
   * @throws ApiException 403 if it is a write a page of another site sent
   */
  void check(Request request) {
    if (SAFE.contains(request.getMethod())) {
      return;
    }
    java.util.List<String> origins = request.getHeaders().getValuesList(HttpHeader.ORIGIN.asString());
    if (origins.size() > 1) { // a browser sends one (RFC 6454, section 7.3): judging by either would be a guess
      throw new ApiException(403, "Forbidden", "write refused: Origin given " + origins.size()
          + " times (CSRF protection)");
    }
    String origin = origins.isEmpty() ? null : origins.get(0);
    if (corsOrigin != null && corsOrigin.equals(origin)) {
      return;
    }
    HttpURI uri = request.getHttpURI();
    if (origin != null && !sameOrigin(origin, uri.getHost(), uri.getPort())) {
      throw new ApiException(403, "Forbidden", "cross-origin write refused: Origin '" + shown(origin)
          + "' is neither this server's own origin (host " + shown(authority(uri)) + ") nor "
          + (corsOrigin == null ? "an origin allowed with --cors-origin (none is)" : "the --cors-origin " + corsOrigin)
          + " (CSRF protection)");
    }
    String site = request.getHeaders().get("Sec-Fetch-Site");
    if (site != null && site.strip().equalsIgnoreCase("cross-site")) {
      throw new ApiException(403, "Forbidden", "cross-site write refused: the browser sent it with Sec-Fetch-Site: "
          + "cross-site, and its Origin (" + (origin == null ? "none" : "'" + shown(origin) + "'") + ") is not "
          + (corsOrigin == null ? "an origin allowed with --cors-origin (none is)" : "the --cors-origin " + corsOrigin)
          + " (CSRF protection)");
    }
  }

  /**
   * @param origin an {@code Origin} header
   * @param host the request's host (from {@code Host}), or null
   * @param port the request's port (from {@code Host}), or a negative number or 0 when it names none
   * @return whether the origin is the scheme, host and port the request was sent to (a port absent on either side
   *     is the origin scheme's default one)
   */
  static boolean sameOrigin(String origin, String host, int port) {
    if (host == null || host.isEmpty()) {
      return false;
    }
    URI u;
    try {
      u = new URI(origin.strip());
    } catch (URISyntaxException e) {
      return false; // "null" and anything else that is not scheme://host[:port]
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null || u.getRawUserInfo() != null
        || u.getRawPath() != null && !u.getRawPath().isEmpty() || u.getRawQuery() != null
        || u.getRawFragment() != null) {
      return false;
    }
    int defaultPort = scheme.equals("https") ? 443 : 80;
    int originPort = u.getPort() < 0 ? defaultPort : u.getPort();
    int requestPort = port <= 0 ? defaultPort : port;
    return originPort == requestPort && bare(u.getHost()).equals(bare(host));
  }

  /** @return a host without IPv6 brackets, as hosts are compared ({@link HostCheck#name}) */
  private static String bare(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    return HostCheck.name(h);
  }

  private static String authority(HttpURI uri) {
    return uri.getHost() == null ? "unknown" : uri.getPort() > 0 ? uri.getHost() + ":" + uri.getPort() : uri.getHost();
  }

  private static String shown(String s) {
    return Problems.clip(s, SHOWN);
  }
}
