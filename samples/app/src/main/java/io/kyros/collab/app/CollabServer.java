package io.kyros.collab.app;

import java.net.URI;
import java.util.Objects;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server of {@code collab serve}: Jetty 12 (core handlers, no servlets) with a bounded
 * thread pool, one {@link ApiHandler} for the API, the console's files and health checks, and one
 * {@link EventHub} that feeds every SSE stream and long poll from a single subscription to the
 * event log, so an open stream holds no thread. The answers Jetty writes itself (a URI or header it refuses) come
 * from {@link ProblemErrorHandler}, problem+json like the API's.
 *
 * <p>Thread-safe. {@link #close()} stops the server and the hub; the store stays open (its owner
 * closes it).
 */
final class CollabServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CollabServer.class);
  /** The most threads the server uses for requests, however many clients are connected. */
  static final int MAX_THREADS = 32;

  private final Server server;
  private final ServerConnector connector;
  private final EventHub hub;
  private final Router router;
  private final StaticFiles console = new StaticFiles("console");

  CollabServer(OpenStore store, ServerConfig config) {
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(config, "config");
    QueuedThreadPool threads = new QueuedThreadPool(MAX_THREADS, 4);
    threads.setName("collab-http");
    this.server = new Server(threads);
    ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("collab-http-scheduler", true);
    server.addBean(scheduler);
    this.connector = new ServerConnector(server, 1, 1);
    connector.setHost(config.bind());
    connector.setPort(config.port());
    // an idle SSE stream gets a keep-alive comment every keepAlive, well within the idle timeout
    connector.setIdleTimeout(Math.max(30_000, config.keepAlive().toMillis() * 3));
    server.addConnector(connector);
    this.hub = new EventHub(store.collab(), scheduler, config);
    // a bean started after the scheduler (its keep-alives run there) and before the connector opens (Jetty starts
    // connectors last): a stream accepted before the hub had its position would wait for the next event or keep-alive
    // to catch up, and a hub that cannot start leaves no port open
    server.addBean(new AbstractLifeCycle() {
      @Override
      protected void doStart() {
        hub.start();
      }

      @Override
      public String toString() {
        return "collab event hub";
      }
    });
    this.router = new Router(ApiRoutes.all(store, config, hub));
    RateLimiter limiter = new RateLimiter(config.ratePerSecond(), config.rateBurst(), System::nanoTime);
    server.setHandler(new ApiHandler(router, config, limiter, console));
    server.setErrorHandler(new ProblemErrorHandler()); // what Jetty answers itself (400, 414, 431) is problem+json too
    server.setStopTimeout(2_000);
  }

  /**
   * Starts listening.
   *
   * @throws Exception if the port cannot be bound or Jetty fails to start
   */
  void start() throws Exception {
    try {
      server.start();
    } catch (Exception | Error e) {
      close(); // what started (the scheduler, the hub's subscription) stops
      throw e;
    }
    LOG.info("collab serving on {}", uri());
  }

  /** @return the address clients use, for example {@code http://127.0.0.1:8080} */
  URI uri() {
    String host = connector.getHost() == null ? "127.0.0.1" : connector.getHost();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create("http://" + host + ":" + connector.getLocalPort());
  }

  /** @return the routes the server answers */
  Router router() {
    return router;
  }

  /** @return the console's files */
  StaticFiles console() {
    return console;
  }

  /** @return the hub of SSE streams and long polls */
  EventHub hub() {
    return hub;
  }

  @Override
  public void close() {
    hub.close();
    try {
      server.stop();
    } catch (Exception e) {
      LOG.warn("stopping the HTTP server failed", e);
    }
  }
}
