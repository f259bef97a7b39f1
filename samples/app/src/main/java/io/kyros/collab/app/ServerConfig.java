package io.kyros.collab.app;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How {@link CollabServer} runs: where it listens, who may call it, and its limits.
 *
 * @param bind the address to listen on (default 127.0.0.1: reachable from this machine only)
 * @param port the TCP port, 0 for any free one
 * @param apiKeys the keys that may call the API ({@link ApiKeys#none()}: anybody, read and write)
 * @param allowUnconditional whether writes without If-Match/If-None-Match are accepted (else 428)
 * @param maxBodyBytes the largest request body accepted (else 413)
 * @param ratePerSecond requests per second per key (per client address without keys), 0 for no limit
 * @param rateBurst requests a key may make at once before the rate applies
 * @param corsOrigin the one origin allowed cross-origin requests, or null (the default: CORS off)
 * @param keepAlive how often an idle SSE stream gets a keep-alive comment
 * @param retry the reconnection delay an SSE stream advises ({@code retry:})
 * @param maxWait the longest long poll ({@code wait=}) a request may ask for
 * @param allowedHosts host names (lower case, without port) that requests may name in {@code Host} besides IP
 *     literals and {@code localhost} ({@link HostCheck}); empty for none. When not empty, {@code Host} is checked
 *     whatever the bind address; when empty, only on a loopback bind
 */
record ServerConfig(String bind, int port, ApiKeys apiKeys, boolean allowUnconditional, long maxBodyBytes,
    double ratePerSecond, int rateBurst, String corsOrigin, Duration keepAlive, Duration retry, Duration maxWait,
    Set<String> allowedHosts) {
  private static final Pattern HOST_NAME =
      Pattern.compile("[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*");

  ServerConfig {
    Objects.requireNonNull(bind, "bind");
    allowedHosts = Set.copyOf(Objects.requireNonNull(allowedHosts, "allowedHosts"));
    for (String host : allowedHosts) {
      if (!HOST_NAME.matcher(host).matches()) {
        throw new IllegalArgumentException("allowed host must be a lower-case host name without port: " + host);
      }
    }
    Objects.requireNonNull(apiKeys, "apiKeys");
    Objects.requireNonNull(keepAlive, "keepAlive");
    Objects.requireNonNull(retry, "retry");
    Objects.requireNonNull(maxWait, "maxWait");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be in 0..65535: " + port);
    }
    if (maxBodyBytes <= 0) {
      throw new IllegalArgumentException("maxBodyBytes must be positive: " + maxBodyBytes);
    }
    if (ratePerSecond < 0 || Double.isNaN(ratePerSecond)) {
      throw new IllegalArgumentException("ratePerSecond must not be negative: " + ratePerSecond);
    }
    if (rateBurst <= 0) {
      throw new IllegalArgumentException("rateBurst must be positive: " + rateBurst);
    }
    if (keepAlive.isNegative() || keepAlive.isZero()) {
      throw new IllegalArgumentException("keepAlive must be positive: " + keepAlive);
    }
  }

  /** @return a builder with the defaults */
  static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link ServerConfig}; each setter may be called once at most. Not thread-safe. */
  static final class Builder {
    private String bind = "127.0.0.1";
    private int port = 8080;
    private ApiKeys apiKeys = ApiKeys.none();
    private boolean allowUnconditional;
    private long maxBodyBytes = 1 << 20;
    private double ratePerSecond = 50;
    private int rateBurst = 100;
    private String corsOrigin;
    private Duration keepAlive = Duration.ofSeconds(15);
    private Duration retry = Duration.ofSeconds(2);
    private Duration maxWait = Duration.ofSeconds(60);
    private Set<String> allowedHosts = Set.of();

    Builder bind(String bind) {
      this.bind = Objects.requireNonNull(bind, "bind");
      return this;
    }

    Builder port(int port) {
      this.port = port;
      return this;
    }

    Builder apiKeys(ApiKeys keys) {
      this.apiKeys = Objects.requireNonNull(keys, "keys");
      return this;
    }

    Builder allowUnconditional(boolean allow) {
      this.allowUnconditional = allow;
      return this;
    }

    Builder maxBodyBytes(long bytes) {
      this.maxBodyBytes = bytes;
      return this;
    }

    Builder rateLimit(double perSecond, int burst) {
      this.ratePerSecond = perSecond;
      this.rateBurst = burst;
      return this;
    }

    Builder corsOrigin(String origin) {
      this.corsOrigin = origin;
      return this;
    }

    Builder keepAlive(Duration interval) {
      this.keepAlive = Objects.requireNonNull(interval, "interval");
      return this;
    }

    Builder retry(Duration retry) {
      this.retry = Objects.requireNonNull(retry, "retry");
      return this;
    }

    Builder maxWait(Duration maxWait) {
      this.maxWait = Objects.requireNonNull(maxWait, "maxWait");
      return this;
    }

    /**
     * @param hosts host names requests may name in {@code Host} (compared case-insensitively; a trailing dot is
     *     ignored); blank entries are skipped
     * @throws IllegalArgumentException if one is not a host name (a port, a path, a space...)
     */
    Builder allowedHosts(Collection<String> hosts) {
      Set<String> names = new LinkedHashSet<>();
      for (String h : Objects.requireNonNull(hosts, "hosts")) {
        String name = HostCheck.name(h.strip());
        if (!name.isEmpty()) {
          if (!HOST_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("--allowed-hosts takes host names without port, comma-separated: '"
                + h.strip() + "' is not one");
          }
          names.add(name);
        }
      }
      this.allowedHosts = Set.copyOf(names);
      return this;
    }

    ServerConfig build() {
      return new ServerConfig(bind, port, apiKeys, allowUnconditional, maxBodyBytes, ratePerSecond, rateBurst,
          corsOrigin, keepAlive, retry, maxWait, allowedHosts);
    }
  }
}
