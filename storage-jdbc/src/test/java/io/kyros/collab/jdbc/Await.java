package io.kyros.collab.jdbc;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waiting for progress with a deadline, never for time to pass. */
final class Await {
  private Await() {}

  /**
   * Checks the condition every few milliseconds until it holds.
   *
   * @param what what is awaited, for the failure message
   * @param condition the state
   * @throws AssertionError after 60 seconds
   */
  static void until(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting for " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
  }
}
