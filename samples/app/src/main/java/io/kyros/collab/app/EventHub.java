package io.kyros.collab.app;

import io.kyros.collab.Collab;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Feeds every SSE stream and long poll of one server from a single subscription to the event log.
 *
 * <p>Thread-safe.
 */
final class EventHub implements AutoCloseable {
  private final Collab collab;
  private final Scheduler scheduler;
  private final ServerConfig config;

  EventHub(Collab collab, Scheduler scheduler, ServerConfig config) {
    this.collab = collab;
    this.scheduler = scheduler;
    this.config = config;
  }

  void start() {}

  @Override
  public void close() {}
}
