package io.kyros.collab;

/**
 * Receives events pushed by {@link EventLog#subscribe(long, EventFilter, EventListener)}, one at a
 * time, in id order, on the subscription's own thread.
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
   * Called once if the subscription stops because {@link #onEvent} threw.
   *
   * @param error what was thrown
   */
  default void onError(Throwable error) {}
}
