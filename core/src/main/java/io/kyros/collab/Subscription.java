package io.kyros.collab;

/**
 * A running push subscription to the event log. Resume after a restart by subscribing again after
 * {@link #position()}.
 *
 * <p>Thread-safe: every method may be called from any thread, including the listener's own.
 */
public interface Subscription extends AutoCloseable {

  /** @return the id of the last event delivered (or skipped by the filter); the resume token */
  long position();

  /** @return true once closed, by the caller, by a listener error, or by closing the {@link Collab} */
  boolean isClosed();

  /**
   * Stops delivery. Idempotent, and returns without waiting: an event being delivered finishes
   * first (its listener call is not interrupted) and no delivery begins after it. Returning without waiting, it
   * cannot wait for a delivery that began just before it on the subscription's thread: that listener call may start
   * just after this returns (to wait for the listener, have it signal). A subscription waiting for new events stops
   * promptly.
   */
  @Override
  void close();
}
