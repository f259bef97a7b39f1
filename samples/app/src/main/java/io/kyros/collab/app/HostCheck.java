package io.kyros.collab.app;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.Request;

/**
 * DNS rebinding protection: a page of another site whose host name the attacker points at 127.0.0.1 reaches a server
 * listening on loopback with that name in {@code Host}, as its own origin, so the browser lets it read and write
 * everything. On a loopback bind (the default, 127.0.0.1) a request must therefore name in {@code Host} an IP
 * literal, {@code localhost}, or one of {@link ServerConfig#allowedHosts()}; anything else is 421 Misdirected
 * Request. When {@code --allowed-hosts} is given the same rule holds on any bind. An IP literal cannot be rebound (it
 * names the address itself), and {@code localhost} is resolved by the machine, not by the attacker's DNS.
 *
 * <p>Immutable and thread-safe.
 */
final class HostCheck {
  private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  private static final Pattern IPV4 = Pattern.compile(OCTET + "(\\." + OCTET + "){3}");
  private static final Pattern IPV6 = Pattern.compile("\\[?[0-9a-f.]*:[0-9a-f:.]*(%[0-9a-z._~-]+)?\\]?");
  private static final int SHOWN = 100;

  private final boolean enforced;
  private final Set<String> allowed;

  HostCheck(ServerConfig config) {
    this.allowed = config.allowedHosts();
    this.enforced = !allowed.isEmpty() || isLoopback(config.bind());
  }

  /** @return whether requests' {@code Host} is checked */
  boolean enforced() {
    return enforced;
  }

  /**
   * @param request a request
   * @throws ApiException 421 if it names a host this server does not answer for
   */
  void check(Request request) {
    if (!enforced) {
      return;
    }
    String host = request.getHttpURI().getHost();
    if (host == null || host.isEmpty()) {
      return; // HTTP/1.0 without Host: browsers always send one
    }
    if (allows(host)) {
      return;
    }
    String shown = Problems.clip(host, SHOWN);
    throw new ApiException(421, "Misdirected Request", "Host '" + shown + "' is not allowed: "
        + (allowed.isEmpty()
            ? "this server listens on a loopback address and answers only a Host that is an IP address or localhost"
            : "this server answers only a Host that is an IP address, localhost or one of --allowed-hosts "
                + String.join(",", new TreeSet<>(allowed)))
        + " (DNS rebinding protection); to answer this name, add it to --allowed-hosts");
  }

  /**
   * @param host a request's host, without port (an IPv6 literal in brackets)
   * @return whether requests may name it
   */
  boolean allows(String host) {
    String name = name(host);
    return name.equals("localhost") || allowed.contains(name) || IPV4.matcher(name).matches()
        || IPV6.matcher(name).matches();
  }

  /**
   * @param host a host name or address as a request or {@code --allowed-hosts} names it
   * @return it as hosts are compared: in lower case, without a trailing dot
   */
  static String name(String host) {
    String name = host.toLowerCase(Locale.ROOT);
    return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
  }

  /** @return whether the address to listen on is a loopback one (a name is resolved once, here) */
  static boolean isLoopback(String bind) {
    try {
      return InetAddress.getByName(bind).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false; // the server cannot listen there anyway: starting it fails
    }
  }
}
