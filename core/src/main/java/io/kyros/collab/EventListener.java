package io.kyros.collab;

/**
 * Receives events pushed by {@link EventLog#subscribe(long, EventFilter, EventListener)}, one at a
 * time, in id order, on the subscription's own thread.
 *
 * <p>Implementations need not be thread-safe for the subscription's sake: it calls them from one
 * thread, never concurrently. Closing the subscription or the {@link Collab} calls neither method.
 */
@FunctionalInterface
public interface EventListener {

  /**
   * Handles one event. Throwing closes the subscription after calling {@link #onError}; the
   * subscription's {@link Subscription#position()} stays at the last event handled without error.
   *
   * @param event the event
   */
  void onEvent(Event event);

  /**
   * Called at most once, on the subscription's thread, when the subscription stops because of an
   * error: {@link #onEvent} threw, or the log holds an event that cannot be read (a damaged stored
   * event, reported as a {@link StorageException}), or, should it happen, the subscription itself
   * fails unexpectedly. The subscription is closed when this is called; its
   * {@link Subscription#position()} stays at the last event handled without error. Transient storage
   * failures are not reported here: the subscription retries them.
   *
   * @param error what was thrown, or the {@link StorageException} for an unreadable event
   */
  default void onError(Throwable error) {}
}
