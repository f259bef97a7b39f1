package io.kyros.collab.app;

import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The server's one handler: the {@code Host} check against DNS rebinding ({@link HostCheck}: 421), the
 * cross-origin write check against CSRF ({@link OriginCheck}: 403), CORS (off unless an origin is configured),
 * then API keys (401 without a known key, 403 for a write with a read-only one), the rate limit per key (429
 * with Retry-After; a request refused 401 spends its address's bucket, so keys cannot be guessed faster than the
 * limit),
 * then the body ({@link RequestBody}, read without holding a thread; a {@code Content-Encoding} other than
 * identity is 415), then the route ({@link Router}; HEAD is answered by the GET route without a body;
 * 404/405 otherwise, or the console's static files for other GETs),
 * with every failure answered as problem+json by {@link Problems} (a request refused before its body was read is
 * answered once the body has arrived, so its connection is kept: {@link #refuse}). {@code /healthz}, {@code /readyz}
 * and the console's files need no key; the API and {@code /openapi.json} do when keys are configured.
 *
 * <p>Thread-safe: it holds only immutable configuration and thread-safe parts.
 */
final class ApiHandler extends Handler.Abstract {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ApiHandler.class);
  private final Router router;
  private final ServerConfig config;
  private final RateLimiter limiter;
  private final StaticFiles console;
  private final HostCheck hosts;
  private final OriginCheck origins;

  ApiHandler(Router router, ServerConfig config, RateLimiter limiter, StaticFiles console) {
    this.router = router;
    this.config = config;
    this.limiter = limiter;
    this.console = console;
    this.hosts = new HostCheck(config);
    this.origins = new OriginCheck(config);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String method = request.getMethod();
    String path = request.getHttpURI().getPath();
    Exchange plain = new Exchange(request, response, callback, java.util.Map.of(), config, null);
    try {
      hosts.check(request);
      origins.check(request);
      if (config.corsOrigin() != null) {
        String origin = request.getHeaders().get(HttpHeader.ORIGIN);
        if (config.corsOrigin().equals(origin)) {
          response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
          response.getHeaders().put(HttpHeader.VARY, "Origin");
          response.getHeaders().put(HttpHeader.ACCESS_CONTROL_EXPOSE_HEADERS, "ETag, Retry-After, Location");
          if ("OPTIONS".equals(method)) {
            response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, PUT, PATCH, DELETE");
            response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS,
                "Content-Type, If-Match, If-None-Match, Authorization, X-API-Key, Last-Event-ID");
            response.setStatus(204);
            response.write(true, null, callback);
            return true;
          }
        }
      }
      Optional<Router.Match> match = router.find(method, path);
      if (match.isEmpty()) {
        if (("GET".equals(method) || "HEAD".equals(method)) && console.serve(request, response, callback)) {
          return true;
        }
        throw ApiException.notFound("no route for " + method + " " + path);
      }
      Route route = match.get().route();
      ApiKeys.Key key = null;
      String address = "addr:" + Request.getRemoteAddr(request);
      if (needsKey(path)) {
        try {
          key = authenticate(request, route);
        } catch (ApiException e) {
          if (e.status() == 401) {
            throttle(address); // guessing keys spends the address's bucket
          }
          throw e;
        }
      }
      throttle(key != null ? "key:" + key.name() : address);
      Exchange x = new Exchange(request, response, callback, match.get().params(), config, key);
      if ("GET".equals(method) || "HEAD".equals(method)) {
        dispatch(route, x);
      } else {
        checkContentEncoding(request);
        // the body first, without holding a thread while it arrives; then the route, on the thread that read its end
        RequestBody.read(request, config.maxBodyBytes(), body -> {
          x.body(body);
          dispatch(route, x);
        }, x::problem);
      }
    } catch (Throwable t) {
      refuse(request, plain, Problems.of(t));
    }
    return true;
  }

  /**
   * Answers a request refused before its body was read (no route, no or a read-only key, the rate limit), once the
   * body has arrived and been dropped (up to the body limit; past it, or when it cannot be read, at once). Answered
   * while the client still sends its body, the request leaves content unread, so Jetty closes the connection after
   * the response; body bytes arriving after the close make the server's TCP reset it, and a reset can discard the
   * response before the client reads it: {@code SecurityTest} saw a POST refused 403 fail with "HTTP/1.1 header parser
   * received no bytes" in CI.
   */
  private void refuse(Request request, Exchange plain, ApiException refused) {
    String method = request.getMethod();
    if ("GET".equals(method) || "HEAD".equals(method) || "OPTIONS".equals(method)) {
      plain.problem(refused);
      return;
    }
    try {
      RequestBody.read(request, config.maxBodyBytes(), dropped -> plain.problem(refused),
          unread -> plain.problem(refused));
    } catch (RuntimeException e) {
      if (!plain.answered()) {
        plain.problem(refused);
      }
    }
  }

  /**
   * The body is taken as sent: a compressed one would be read as garbage (a gzip body failed as "not valid UTF-8"),
   * and one labelled compressed but sent plain would be accepted against its label.
   *
   * @throws ApiException 415 with {@code Accept-Encoding: identity} for a {@code Content-Encoding} other than identity
   */
  private static void checkContentEncoding(Request request) {
    for (String coding : request.getHeaders().getCSV(HttpHeader.CONTENT_ENCODING, false)) {
      if (!coding.equalsIgnoreCase("identity")) {
        throw new ApiException(415, "Unsupported Media Type", "Content-Encoding '" + Problems.clip(coding, 40)
            + "' is not supported: send the request body uncompressed (identity)")
            .header("Accept-Encoding", "identity");
      }
    }
  }

  /** Takes a token for a caller. @throws ApiException 429 with Retry-After when its bucket is empty */
  private void throttle(String caller) {
    long wait = limiter.acquire(caller);
    if (wait > 0) {
      throw new ApiException(429, "Too Many Requests", "rate limit of " + config.ratePerSecond()
          + " requests per second exceeded; retry in " + wait + " s").header("Retry-After", Long.toString(wait));
    }
  }

  private static void dispatch(Route route, Exchange x) {
    try {
      route.handler().handle(x);
    } catch (Throwable t) {
      if (x.answered()) {
        LOG.warn("{} {} failed after its response started", route.method(), x.path(), t);
        return;
      }
      x.problem(Problems.of(t));
      return;
    }
    if (!x.answered()) {
      LOG.error("route {} {} did not answer", route.method(), route.path());
      x.problem(new ApiException(500, "Internal Server Error", "the route did not answer; see the server's log"));
    }
  }

  private boolean needsKey(String path) {
    return config.apiKeys().enabled() && !path.equals("/healthz") && !path.equals("/readyz");
  }

  private ApiKeys.Key authenticate(Request request, Route route) {
    String presented = presentedKey(request, route);
    if (presented == null) {
      throw new ApiException(401, "Unauthorized",
          "an API key is required: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
          .header("WWW-Authenticate", "Bearer realm=\"collab\"");
    }
    ApiKeys.Key key = config.apiKeys().find(presented).orElseThrow(() -> new ApiException(401, "Unauthorized",
        "unknown API key").header("WWW-Authenticate", "Bearer realm=\"collab\", error=\"invalid_token\""));
    if (route.write() && key.access() != ApiKeys.Access.READ_WRITE) {
      throw new ApiException(403, "Forbidden", "the API key '" + key.name() + "' is read-only; "
          + route.method() + " " + route.path() + " needs a read-write key");
    }
    return key;
  }

  private static String presentedKey(Request request, Route route) {
    String auth = single(request, HttpHeader.AUTHORIZATION.asString());
    String header = single(request, "X-API-Key"); // both checked first: either on two lines is refused
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return auth.substring(7).strip();
    }
    if (header != null) {
      return header.strip();
    }
    if ("GET".equals(route.method())) {
      return Exchange.queryOf(request).getValue("api_key");
    }
    return null;
  }

  /**
   * @return the header's one line, or null if absent
   * @throws ApiException 400 if it was sent on several lines: which credential is meant would be a guess
   */
  private static String single(Request request, String name) {
    java.util.List<String> lines = request.getHeaders().getValuesList(name);
    if (lines.size() > 1) {
      throw ApiException.badRequest(name + " given " + lines.size() + " times; send one");
    }
    return lines.isEmpty() ? null : lines.get(0);
  }
}
