package io.kyros.collab.app;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code collab serve}: the HTTP API, the SSE tail and the web console on one Jetty server
 * ({@link CollabServer}), until the process is stopped (SIGINT/SIGTERM stop it gracefully).
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serve the HTTP API, the SSE tail and the web console.")
final class ServeCommand implements Callable<Integer> {
  @Mixin
  StoreOptions store;

  @Option(names = "--port", defaultValue = "8080", description = "TCP port, 0 for any free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--api-keys", paramLabel = "FILE",
      description = "API keys file (see docs/app.md); without it every request may read and write.")
  Path apiKeys;

  @Option(names = "--allow-unconditional", description = "Accept writes without If-Match/If-None-Match (else 428).")
  boolean allowUnconditional;

  @Option(names = "--max-body-bytes", defaultValue = "1048576", description = "Largest request body (default: ${DEFAULT-VALUE}).")
  long maxBodyBytes;

  @Option(names = "--rate-limit", defaultValue = "50", paramLabel = "PER_SECOND",
      description = "Requests per second per API key (or per client address without keys), 0 for none (default: ${DEFAULT-VALUE}).")
  double rateLimit;

  @Option(names = "--rate-burst", defaultValue = "100", description = "Requests a key may make at once before the rate applies (default: ${DEFAULT-VALUE}).")
  int rateBurst;

  @Option(names = "--cors-origin", paramLabel = "ORIGIN", description = "Allow cross-origin requests from this origin (default: none).")
  String corsOrigin;

  @Option(names = "--allowed-hosts", split = ",", paramLabel = "HOST[,HOST...]",
      description = "Host names requests may name in Host besides IP addresses and localhost (DNS rebinding "
          + "protection: checked on a loopback bind, and on any bind once this is given).")
  List<String> allowedHosts;

  @Option(names = "--keep-alive", defaultValue = "PT15S", description = "SSE keep-alive comment interval, ISO-8601 (default: ${DEFAULT-VALUE}).")
  Duration keepAlive;

  @Override
  public Integer call() throws Exception {
    ServerConfig config = ServerConfig.builder()
        .bind(bind)
        .port(port)
        .apiKeys(apiKeys == null ? ApiKeys.none() : ApiKeys.load(apiKeys))
        .allowUnconditional(allowUnconditional)
        .maxBodyBytes(maxBodyBytes)
        .rateLimit(rateLimit, rateBurst)
        .corsOrigin(corsOrigin)
        .allowedHosts(allowedHosts == null ? List.of() : allowedHosts)
        .keepAlive(keepAlive)
        .build();
    OpenStore open = store.open();
    CollabServer server = new CollabServer(open, config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      open.close();
      stopped.countDown();
    }, "collab-shutdown"));
    server.start();
    System.err.println("collab: serving " + open.spec() + " on " + server.uri());
    stopped.await();
    return ExitCodes.OK;
  }
}
