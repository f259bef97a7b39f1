package io.kyros.collab.jdbc;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The storage's threads waiting for a connection from the {@link javax.sql.DataSource}, and since when: the
 * PostgreSQL listener gives its pooled connection back when one of them has waited long, so that a pool with no
 * connection to spare (a pool of one) is not starved by the listener.
 *
 * <p>Thread-safe.
 */
final class ConnectionDemand {
  private final AtomicLong tickets = new AtomicLong();
  /** The start (System.nanoTime) of each wait in progress, by ticket. */
  private final Map<Long, Long> waiting = new ConcurrentHashMap<>();

  /**
   * A thread starts waiting for a connection.
   *
   * @return the ticket to pass to {@link #ended}
   */
  long started() {
    long ticket = tickets.incrementAndGet();
    waiting.put(ticket, System.nanoTime());
    return ticket;
  }

  /**
   * The wait of {@link #started} ended, with or without a connection.
   *
   * @param ticket its ticket
   */
  void ended(long ticket) {
    waiting.remove(ticket);
  }

  /**
   * @param nanos a duration
   * @return true if a thread has been waiting for a connection for longer than that
   */
  boolean waitingLongerThan(long nanos) {
    long now = System.nanoTime();
    for (long since : waiting.values()) {
      if (now - since > nanos) {
        return true;
      }
    }
    return false;
  }
}
